// The container image without a container engine: the Dockerfile's runtime stage is assembled on
// disk from its COPY lines (dist/ from `npm run build`'s bundler run, proto/ and package.json
// from the build context, the dependencies from node_modules), and its ENTRYPOINT runs there.
// What this cannot check (a real `docker build`: base image, npm ci --omit=dev) is listed in
// docs/packaging.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { buildDist } from '../../scripts/build-dist.ts';
import { readBuildInfo } from '../../src/cli/build-info.ts';
import { crdsYaml } from '../../src/crd/index.ts';
import { OPERATOR_ENTRYPOINT, OPERATOR_ENV } from '../support/images.ts';
import { CsiClient } from '../support/csi.ts';
import { eventually } from '../support/k8s.ts';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..', '..');

interface Stage { name: string | undefined; lines: string[] }

async function dockerfileStages(): Promise<Stage[]> {
  const text = (await readFile(path.join(ROOT, 'Dockerfile'), 'utf8')).replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const line of text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from !== null) stages.push({ name: from[1], lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

test('the Dockerfile: three stages, build tools only before the last, a non-shell entrypoint', async () => {
  const stages = await dockerfileStages();
  assert.deepEqual(stages.map((s) => s.name), ['build', 'deps', undefined]);
  const [build, deps, runtime] = stages;
  assert.ok(build?.lines.some((l) => /^RUN npm ci\b/.test(l)) === true && build.lines.includes('RUN npm run build'), 'build: npm ci, npm run build');
  assert.ok(deps?.lines.some((l) => /^RUN npm ci\b.*--omit=dev/.test(l)) === true, 'deps: production dependencies only');
  const final = runtime?.lines ?? [];
  assert.ok(final.includes(`ENTRYPOINT ${JSON.stringify(OPERATOR_ENTRYPOINT).replaceAll(',', ', ')}`), 'exec-form ENTRYPOINT running the CLI, as the e2e image has it');
  assert.ok(final.includes(`ENV ${OPERATOR_ENV.join(' ')}`), 'the environment the e2e image has');
  assert.ok(final.every((l) => !/^RUN .*\b(npm (ci|install)|tsc|apt-get install)\b/.test(l)), 'nothing is built or installed in the runtime stage');
  assert.ok(final.some((l) => /^USER \d+/.test(l)), 'a numeric non-root default user');
  // Everything copied from the build context gets past .dockerignore.
  const ignore = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim());
  const fromContext = stages.flatMap((s) => s.lines).filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
  for (const src of fromContext) assert.ok(ignore.includes(`!${src}`) || ignore.includes(`!${src}/`), `.dockerignore lets ${src} through`);
});

/** Carries out the runtime stage's COPY lines into `root` (the image's filesystem). */
async function assembleRuntime(runtime: string[], root: string, built: string): Promise<void> {
  const workdir = /^WORKDIR\s+(\S+)$/m.exec(runtime.join('\n'))?.[1] ?? '/';
  const inImage = (p: string): string => path.join(root, path.posix.resolve(workdir, p));
  for (const line of runtime.filter((l) => l.startsWith('COPY '))) {
    const words = line.split(/\s+/).slice(1);
    const from = /^--from=(\S+)$/.exec(words[0] ?? '')?.[1];
    const [src, dest] = from === undefined ? words : words.slice(1);
    assert.ok(src !== undefined && dest !== undefined, line);
    const target = inImage(dest.endsWith('/') ? path.posix.join(dest, path.posix.basename(src)) : dest);
    await mkdir(path.dirname(target), { recursive: true });
    if (from === 'deps') await symlink(path.join(ROOT, 'node_modules'), target); // (all dependencies here, not only production ones)
    else if (from === 'build') await cp(path.join(built, path.posix.relative('/src', src)), target, { recursive: true });
    else await cp(path.join(ROOT, src), target, { recursive: true });
  }
}

test('the runtime stage assembled from the Dockerfile runs: crd, --version, the CSI protocol from proto/', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'image-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // The build stage: `npm run build` bundles src/ into dist/ (scripts/build-dist.ts) and stamps it.
  const built = path.join(dir, 'build');
  const builtAt = await buildDist(path.join(built, 'dist'));

  // The runtime stage: its WORKDIR and COPY lines.
  const runtime = (await dockerfileStages()).at(-1)?.lines ?? [];
  const root = path.join(dir, 'image');
  await assembleRuntime(runtime, root, built);
  const entry = JSON.parse(/^ENTRYPOINT\s+(\[.*\])$/m.exec(runtime.join('\n'))?.[1] ?? '[]') as string[];
  assert.equal(entry[0], 'node');
  const main = path.join(root, entry.at(-1) ?? '');
  const cli = (args: string[]): Promise<{ stdout: string }> => run(process.execPath, [...entry.slice(1, -1), main, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '' } });

  const { stdout: crds } = await cli(['crd']);
  assert.equal(crds, crdsYaml(), 'the image prints the CRDs');
  // The build time the end-of-support check counts from, stamped next to the compiled modules.
  assert.equal(readBuildInfo(pathToFileURL(path.join(path.dirname(main), 'build-info.json'))).builtAtMs, Date.parse(builtAt), 'the image carries the build stamp');
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal((await cli(['--version'])).stdout.trim(), pkg.version);
  // The CSI protocol definition is loaded at run time from proto/ next to dist/: the node plugin
  // serves NodeGetInfo on its socket (it needs no API server for that; the kubeconfig's server
  // is never called).
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n');
  const socket = path.join(dir, 'csi.sock');
  const node = spawn(process.execPath, [...entry.slice(1, -1), main, 'run', 'node'], {
    cwd: root, stdio: 'ignore',
    env: { PATH: process.env.PATH ?? '', KUBECONFIG: kubeconfig, KUBERNETES_NODE_NAME: 'image-test-node', CSI_ENDPOINT: socket, HTTP_ADDRESS: '' },
  });
  t.after(() => { node.kill('SIGKILL'); });
  const info = await eventually('NodeGetInfo through the image\'s node plugin', async () => {
    if (node.exitCode !== null) throw new Error(`the node plugin exited with ${String(node.exitCode)}`);
    if (!existsSync(socket)) return undefined;
    const client = new CsiClient(socket);
    try {
      return await client.call('Node', 'NodeGetInfo', {}, 5000);
    } finally {
      client.close();
    }
  });
  assert.equal(info.node_id, 'image-test-node');
});
