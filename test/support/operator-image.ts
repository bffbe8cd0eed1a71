// The operator image, assembled from docker/Dockerfile without a container engine: the runtime
// stage (dockerfile.ts) carried out as written. Its base `node:<NODE_VERSION>-slim` is stood in
// for by this machine's Node.js with the shared libraries it links (the Dockerfile's
// NODE_VERSION must be the Node.js running this: checked), each COPY becomes one layer, and
// WORKDIR, ENV, USER, ENTRYPOINT and CMD the image's configuration:
//   COPY --from=build /src/dist ...      `npm run build`'s output (the bundle + the build stamp)
//   COPY --from=deps /app/node_modules . the production dependencies (`npm ls --omit=dev`)
//   COPY <path> ...                      from the build context (the repository root)
// The base and dependency layers are cached by the digest of their inputs.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildDist } from '../../scripts/build-dist.ts';
import { DOCKERFILE, ROOT, readDockerfile, runtimeStage, runtimeStageSync, type Copy, type RuntimeStage } from './dockerfile.ts';
import { buildLayer, cachedLayer, writeArchive, type Layer, type LayerTar } from './image-archive.ts';

const run = promisify(execFile);

/** The operator image's ENTRYPOINT and ENV, as docker/Dockerfile has them. */
const RUNTIME = runtimeStageSync();
export const OPERATOR_ENTRYPOINT: readonly string[] = RUNTIME.entrypoint;
export const OPERATOR_ENV: readonly string[] = RUNTIME.env;
/** The PATH of the base image (node:*-slim sets it; the Dockerfile does not). */
const BASE_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/** Builds src/ as `npm run build` does (the bundle and its stamp, scripts/build-dist.ts), into `dist`. */
export async function compileDist(dist: string): Promise<void> {
  await buildDist(dist);
}

/** Node.js and the shared libraries it links (from `ldd`), at the same paths: the base image. */
async function baseLayer(): Promise<{ key: string; make: () => Promise<Layer> }> {
  const node = process.execPath;
  const { stdout } = await run('ldd', [node]);
  const libs = [...stdout.matchAll(/(\/\S+\.so[^\s]*)/g)].map((m) => m[1] ?? '').filter((l) => l !== '' && existsSync(l));
  const h = createHash('sha256');
  for (const f of [node, ...libs]) {
    const s = await stat(f);
    h.update(`${f} ${s.size} ${s.mtimeMs}\n`);
  }
  return {
    key: `base-${h.digest('hex').slice(0, 16)}`,
    make: () => Promise.resolve({
      dirs: [['tmp', 0o1777], ['proc', 0o755], ['sys', 0o755], ['dev', 0o755], ['etc', 0o755]],
      files: [[node, 'usr/local/bin/node'], ...libs.map((l): [string, string] => [l, l.slice(1)])],
      texts: [['etc/passwd', 'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000:node:/home/node:/sbin/nologin\n'], ['etc/group', 'root:x:0:\nnode:x:1000:\n']],
    }),
  };
}

/** The production dependencies (npm ls --omit=dev): package directories below node_modules/. */
async function productionDependencies(): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, maxBuffer: 16 << 20 }));
  } catch (e) {
    stdout = (e as { stdout?: string }).stdout ?? ''; // npm ls exits non-zero on any peer-dependency remark
  }
  const modules = path.join(ROOT, 'node_modules') + path.sep;
  const dirs = stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith(modules));
  if (dirs.length === 0) throw new Error('npm ls --omit=dev listed no production dependencies');
  return dirs;
}

function checkBase(rt: RuntimeStage, args: Map<string, string>): void {
  const version = args.get('NODE_VERSION');
  if (rt.base !== 'node:${NODE_VERSION}-slim' || version === undefined) {
    throw new Error(`${DOCKERFILE}: the runtime stage's base is ${rt.base}; the image assembler stands in for node:\${NODE_VERSION}-slim only`);
  }
  if (`v${version}` !== process.version) {
    throw new Error(`${DOCKERFILE}: NODE_VERSION is ${version}, but the Node.js that would go into the image is ${process.version} (run with the project's pinned Node.js)`);
  }
}

/** The layer of one COPY of the runtime stage. */
async function copyLayer(c: Copy, dist: string, layerCache: string, work: string): Promise<LayerTar> {
  const into = (src: string): string => (c.dest.endsWith('/') ? path.posix.join(c.dest, path.posix.basename(src)) : c.dest);
  if (c.from === 'deps' && c.src === '/app/node_modules') {
    const dirs = await productionDependencies();
    const h = createHash('sha256').update(dirs.join('\n')).update(await readFile(path.join(ROOT, 'package-lock.json')));
    return cachedLayer(layerCache, `deps-${h.digest('hex').slice(0, 16)}`, () => Promise.resolve({
      trees: dirs.map((d): [string, string] => [d, path.posix.join(c.dest, path.relative(path.join(ROOT, 'node_modules'), d))]),
    }));
  }
  const out = path.join(work, `copy-${c.line}.tar`);
  if (c.from === 'build' && c.src === '/src/dist') return buildLayer({ trees: [[dist, into(c.src)]] }, out);
  if (c.from === undefined) {
    const src = path.join(ROOT, c.src);
    const isDir = (await stat(src)).isDirectory();
    return buildLayer(isDir ? { trees: [[src, into(c.src)]] } : { files: [[src, into(c.src)]] }, out);
  }
  throw new Error(`${DOCKERFILE}:${c.line}: COPY --from=${c.from} ${c.src}: the image assembler has no local equivalent of that stage's output (test/support/operator-image.ts)`);
}

export interface OperatorImage {
  layers: LayerTar[];
  config: { Entrypoint: string[]; Cmd: string[]; Env: string[]; WorkingDir: string; User?: string };
}

/**
 * The operator image's layers and configuration from docker/Dockerfile, with `dist` as the build
 * stage's output. Layer files not in `layerCache` are written below `work`.
 */
export async function operatorImage(dist: string, layerCache: string, work: string): Promise<OperatorImage> {
  const { args, stages } = await readDockerfile();
  const rt = runtimeStage(stages);
  checkBase(rt, args);
  // `RUN rm -rf` of npm, npx, corepack and yarn: the stand-in base has none of them.
  const base = await baseLayer();
  const layers = [await cachedLayer(layerCache, base.key, base.make)];
  for (const c of rt.copies) layers.push(await copyLayer(c, dist, layerCache, work));
  return {
    layers,
    config: { Entrypoint: rt.entrypoint, Cmd: rt.cmd, Env: [...BASE_ENV, ...rt.env], WorkingDir: rt.workdir, ...(rt.user === undefined ? {} : { User: rt.user }) },
  };
}

/**
 * `docker build . -f docker/Dockerfile -t <name>` without Docker: writes the image as a
 * docker-archive at `out`. `dist`: an already compiled tree (else src/ is compiled afresh).
 */
export async function assembleOperatorImage(o: { name: string; out: string; layerCache: string; dist?: string }): Promise<OperatorImage['config']> {
  const work = await mkdtemp(`${o.out}-build-`);
  try {
    let dist = o.dist;
    if (dist === undefined) {
      dist = path.join(work, 'dist');
      await compileDist(dist);
    }
    const image = await operatorImage(dist, o.layerCache, work);
    await writeArchive(o.name, image.layers, image.config, o.out);
    return image.config;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
