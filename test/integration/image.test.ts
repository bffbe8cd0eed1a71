// The container image without a container engine: docker/Dockerfile read as data, and the image
// the e2e tier and `npm run dev` assemble from it (test/support/operator-image.ts: its runtime
// stage carried out as written) unpacked and its ENTRYPOINT run.
// What this cannot check (a real `docker build`: base image, npm ci --omit=dev) is listed in
// docs/packaging.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { readBuildInfo } from '../../src/cli/build-info.ts';
import { crdsYaml } from '../../src/crd/index.ts';
import { readDockerfile, runtimeStage, type Stage } from '../support/dockerfile.ts';
import { e2eImagesDir, layerCacheOf } from '../support/images.ts';
import { assembleOperatorImage } from '../support/operator-image.ts';
import { CsiClient } from '../support/csi.ts';
import { eventually } from '../support/k8s.ts';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..', '..');

test('docker/Dockerfile: three stages, build tools only before the last, a non-shell entrypoint', async () => {
  const { stages } = await readDockerfile();
  assert.deepEqual(stages.map((s) => s.name), ['build', 'deps', undefined]);
  const lines = (s: Stage | undefined): string[] => (s?.instructions ?? []).map((i) => `${i.op} ${i.args}`);
  const [build, deps, runtime] = stages;
  assert.ok(lines(build).some((l) => /^RUN npm ci\b/.test(l)) && lines(build).includes('RUN npm run build'), 'build: npm ci, npm run build');
  assert.ok(lines(deps).some((l) => /^RUN npm ci\b.*--omit=dev/.test(l)), 'deps: production dependencies only');
  const final = lines(runtime);
  // What the image assembler (test/support/operator-image.ts) makes of it: it carries the stage out as written.
  const rt = runtimeStage(stages);
  assert.equal(rt.entrypoint[0], 'node', 'exec-form ENTRYPOINT running the CLI with node');
  assert.equal(rt.entrypoint.at(-1), '/app/dist/main.js');
  assert.deepEqual(rt.env, ['NODE_ENV=production', 'MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=65536', 'MALLOC_TRIM_THRESHOLD_=131072']);
  assert.ok(final.every((l) => !/^RUN .*\b(npm (ci|install)|tsc|apt-get install)\b/.test(l)), 'nothing is built or installed in the runtime stage');
  assert.match(rt.user ?? '', /^\d+(:\d+)?$/, 'a numeric non-root default user');
  assert.notEqual(rt.user?.split(':')[0], '0');
  // Everything copied from the build context gets past .dockerignore (at the context's root).
  const ignore = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim());
  const fromContext = stages.flatMap((s) => s.instructions).filter((i) => i.op === 'COPY' && !i.args.includes('--from=')).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  for (const src of fromContext) assert.ok(ignore.includes(`!${src}`) || ignore.includes(`!${src}/`), `.dockerignore lets ${src} through`);
  // `docker build .` without -f finds no Dockerfile at the root to build a stale copy from.
  assert.equal(existsSync(path.join(ROOT, 'Dockerfile')), false, 'docker/Dockerfile is the only build file');
});

/** Unpacks a docker-archive's layers, in order, into `root` (the container's filesystem). */
async function unpack(archive: string, root: string, work: string): Promise<{ Entrypoint: string[]; Env: string[]; WorkingDir: string; User: string }> {
  await mkdir(work, { recursive: true });
  await run('tar', ['-C', work, '-xf', archive]);
  const [manifest] = JSON.parse(await readFile(path.join(work, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
  assert.ok(manifest !== undefined);
  await mkdir(root, { recursive: true });
  for (const layer of manifest.Layers) await run('tar', ['-C', root, '-xf', path.join(work, layer)]);
  return (JSON.parse(await readFile(path.join(work, manifest.Config), 'utf8')) as { config: { Entrypoint: string[]; Env: string[]; WorkingDir: string; User: string } }).config;
}

test('the image assembled from docker/Dockerfile (as the e2e tier does) runs: crd, --version, the build stamp, the CSI protocol from proto/', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'image-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const name = 'localhost/image-test:1';
  const archive = path.join(dir, 'image.tar');
  const before = Date.now();
  await assembleOperatorImage({ name, out: archive, layerCache: layerCacheOf(e2eImagesDir()) });
  const root = path.join(dir, 'rootfs');
  const config = await unpack(archive, root, path.join(dir, 'archive'));
  const runtime = runtimeStage((await readDockerfile()).stages);
  assert.deepEqual(config.Entrypoint, runtime.entrypoint, 'the Dockerfile\'s ENTRYPOINT');
  assert.equal(config.WorkingDir, runtime.workdir);
  assert.equal(config.User, runtime.user);
  for (const e of runtime.env) assert.ok(config.Env.includes(e), `ENV ${e}`);

  // The entrypoint, run on this host with the image's files (its Node.js is this one).
  const entry = config.Entrypoint;
  assert.equal(entry[0], 'node');
  const main = path.join(root, entry.at(-1) ?? '');
  const cli = (args: string[]): Promise<{ stdout: string }> => run(path.join(root, 'usr', 'local', 'bin', 'node'), [...entry.slice(1, -1), main, ...args], { cwd: root, env: { PATH: '/usr/bin:/bin' } });
  const { stdout: crds } = await cli(['crd']);
  assert.equal(crds, crdsYaml(), 'the image prints the CRDs');
  // The build time the end-of-support check counts from, stamped next to the compiled modules.
  const builtAt = readBuildInfo(pathToFileURL(path.join(path.dirname(main), 'build-info.json'))).builtAtMs ?? 0;
  assert.ok(builtAt >= before - 1000 && builtAt <= Date.now(), 'the image carries the build stamp of this build');
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal((await cli(['--version'])).stdout.trim(), pkg.version);
  // The CSI protocol definition is loaded at run time from proto/ next to dist/: the image's node
  // plugin serves NodeGetInfo on its socket (that needs no API server: the kubeconfig's server is
  // never called).
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n');
  const socket = path.join(dir, 'csi.sock');
  const node = spawn(path.join(root, 'usr', 'local', 'bin', 'node'), [...entry.slice(1, -1), main, 'run', 'node'], {
    cwd: root, stdio: 'ignore',
    env: { PATH: '/usr/bin:/bin', KUBECONFIG: kubeconfig, KUBERNETES_NODE_NAME: 'image-test-node', CSI_ENDPOINT: socket, HTTP_ADDRESS: '' },
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
  // Only the production dependencies.
  assert.ok(!existsSync(path.join(root, 'app', 'node_modules', 'typescript')), 'no dev dependency in the image');
  assert.ok(existsSync(path.join(root, 'app', 'node_modules', '@grpc', 'grpc-js')));
  // Every script of the image the chart runs (its `helm test` hooks) is in it, and runs.
  const testsDir = path.join(ROOT, 'deploy', 'helm', 'listener-operator', 'templates', 'tests');
  const scripts = new Set<string>();
  for (const f of await readdir(testsDir)) for (const m of (await readFile(path.join(testsDir, f), 'utf8')).matchAll(/\/app\/dist\/[\w./-]+\.js/g)) scripts.add(m[0]);
  assert.ok(scripts.size > 0, 'the chart\'s test hooks run scripts of the image');
  for (const s of scripts) {
    const usage = await run(path.join(root, 'usr', 'local', 'bin', 'node'), [path.join(root, s)], { cwd: root, env: { PATH: '/usr/bin:/bin' } }).then(() => '', (e: unknown) => (e as { stderr?: string }).stderr ?? '');
    assert.match(usage, /^usage: /, `${s} runs in the image (without arguments it prints its usage)`);
  }
});
