// The e2e node's container images, assembled locally (no registry, no container engine) as
// docker-archive tarballs (manifest.json with RepoTags, uncompressed layers) that
// `ctr -n k8s.io images import` accepts. Layers are built with fixed owners and mtimes, so the
// same inputs give the same image IDs.
//   - pause: Debian's static catatonit in pause mode (-P), containerd's sandbox_image;
//   - busybox: Debian's busybox-static (httpd, sh, cat, ...), the test Pods' image;
//   - the operator image, assembled as the Dockerfile's runtime stage (Node.js with the shared
//     libraries it links, /app/dist from `npm run build` (scripts/build-dist.ts), the production
//     dependencies, package.json, proto/; ENTRYPOINT and ENV as OPERATOR_ENTRYPOINT and OPERATOR_ENV; user 1000);
//   - csi-provisioner: the pinned build (ENTRYPOINT /csi-provisioner, as upstream's image);
//   - the registration stand-in (registrar.ts on the operator image's layers).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, cp, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildDist } from '../../scripts/build-dist.ts';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..', '..');

/** The operator image's ENTRYPOINT and ENV, as in the Dockerfile (image.test.ts keeps them equal). */
export const OPERATOR_ENTRYPOINT = ['node', '--optimize-for-size', '--lite-mode', '/app/dist/main.js'];
export const OPERATOR_ENV = ['NODE_ENV=production', 'MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=65536', 'MALLOC_TRIM_THRESHOLD_=131072'];

export const PAUSE_IMAGE = 'localhost/listener-e2e/pause:1';
export const TEST_IMAGE = 'localhost/listener-e2e/busybox:1';
/** The registration stand-in's image (see registrar.ts); not the real sidecar's name. */
export const REGISTRAR_IMAGE = { repository: 'localhost/listener-e2e/node-driver-registrar-standin', tag: '1' };

/** busybox applets linked into the test image's /bin. */
const APPLETS = ['sh', 'cat', 'ls', 'httpd', 'sleep', 'echo', 'mkdir', 'readlink', 'wget', 'hostname', 'env', 'find', 'test', 'true'];

/** One image layer: files copied in (host path → image path), trees copied in, links, directories. */
interface Layer {
  files?: [string, string][];
  trees?: [string, string][];
  links?: [string, string][];
  dirs?: [string, number][];
  texts?: [string, string][];
}

async function sha256File(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

const TAR_FLAGS = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0'];

async function buildLayer(layer: Layer, work: string, out: string): Promise<string> {
  const root = await mkdtemp(path.join(work, 'rootfs-'));
  const inRoot = (p: string): string => path.join(root, p);
  for (const [p, mode] of layer.dirs ?? []) {
    await mkdir(inRoot(p), { recursive: true });
    await chmod(inRoot(p), mode);
  }
  for (const [src, dst] of layer.files ?? []) {
    await mkdir(path.dirname(inRoot(dst)), { recursive: true });
    await copyFile(src, inRoot(dst));
    await chmod(inRoot(dst), (await stat(src)).mode & 0o7777);
  }
  for (const [src, dst] of layer.trees ?? []) {
    await mkdir(path.dirname(inRoot(dst)), { recursive: true });
    await cp(src, inRoot(dst), { recursive: true, verbatimSymlinks: true });
  }
  for (const [dst, text] of layer.texts ?? []) {
    await mkdir(path.dirname(inRoot(dst)), { recursive: true });
    await writeFile(inRoot(dst), text);
  }
  for (const [p, target] of layer.links ?? []) {
    await mkdir(path.dirname(inRoot(p)), { recursive: true });
    await symlink(target, inRoot(p));
  }
  await run('tar', [...TAR_FLAGS, '-C', root, '-cf', out, '.'], { maxBuffer: 16 << 20 });
  await rm(root, { recursive: true, force: true });
  return out;
}

/** Writes `out` (a docker-archive tarball) for an image of these layers. */
async function buildArchive(name: string, layers: Layer[], config: Record<string, unknown>, out: string): Promise<string> {
  const work = await mkdtemp(`${out}-work-`);
  try {
    const archive = path.join(work, 'archive');
    await mkdir(archive);
    const layerFiles: string[] = [];
    const diffIds: string[] = [];
    for (const [i, layer] of layers.entries()) {
      const file = `layer-${i}.tar`;
      await buildLayer(layer, work, path.join(archive, file));
      layerFiles.push(file);
      diffIds.push(`sha256:${await sha256File(path.join(archive, file))}`);
    }
    const configJson = JSON.stringify({
      architecture: 'amd64', os: 'linux', created: '1970-01-01T00:00:00Z', config,
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: layers.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'listener-operator test/support/images.ts' })),
    });
    const configName = `${createHash('sha256').update(configJson).digest('hex')}.json`;
    await writeFile(path.join(archive, configName), configJson);
    await writeFile(path.join(archive, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [name], Layers: layerFiles }]));
    await run('tar', [...TAR_FLAGS, '-C', archive, '-cf', `${out}.tmp`, '.']);
    await rename(`${out}.tmp`, out);
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const CATATONIT = '/usr/bin/catatonit';
const BUSYBOX = '/bin/busybox';

/** The pause and test images, into outDir; returns their paths. */
export async function buildImages(outDir: string): Promise<{ pause: string; test: string }> {
  await mkdir(outDir, { recursive: true });
  const base: Layer = { dirs: [['tmp', 0o1777], ['proc', 0o755], ['sys', 0o755], ['dev', 0o755], ['etc', 0o755]] };
  const pause = await buildArchive(PAUSE_IMAGE, [{ ...base, files: [[CATATONIT, 'pause']] }],
    // catatonit -P: the pause-container mode (sleeps until SIGTERM/SIGINT, reaps zombies).
    { Entrypoint: ['/pause', '-P'], Env: ['PATH=/'] }, path.join(outDir, 'pause.tar'));
  const test = await buildArchive(TEST_IMAGE, [{
    ...base, files: [[BUSYBOX, 'bin/busybox']], links: APPLETS.map((a): [string, string] => [`bin/${a}`, 'busybox']),
  }], { Entrypoint: ['/bin/sh'], Env: ['PATH=/bin'], WorkingDir: '/' }, path.join(outDir, 'busybox.tar'));
  return { pause, test };
}

/** Node.js and the shared libraries it links (from `ldd`), at the same paths. */
async function nodeLayer(): Promise<Layer> {
  const node = process.execPath;
  const { stdout } = await run('ldd', [node]);
  const libs = [...stdout.matchAll(/(\/\S+\.so[^\s]*)/g)].map((m) => m[1] ?? '').filter((l) => l !== '' && existsSync(l));
  return {
    dirs: [['tmp', 0o1777], ['proc', 0o755], ['sys', 0o755], ['dev', 0o755], ['etc', 0o755]],
    files: [[node, 'usr/local/bin/node'], ...libs.map((l): [string, string] => [l, l.slice(1)])],
    texts: [['etc/passwd', 'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000:node:/home/node:/sbin/nologin\n'], ['etc/group', 'root:x:0:\nnode:x:1000:\n']],
  };
}

/** The production dependencies (npm ls --omit=dev), as [host dir, image dir] under /app. */
async function productionDependencies(): Promise<[string, string][]> {
  let stdout: string;
  try {
    ({ stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, maxBuffer: 16 << 20 }));
  } catch (e) {
    stdout = (e as { stdout?: string }).stdout ?? ''; // npm ls exits non-zero on any peer-dependency remark
  }
  const dirs = stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith(path.join(ROOT, 'node_modules') + path.sep));
  if (dirs.length === 0) throw new Error('npm ls --omit=dev listed no production dependencies');
  return dirs.map((d): [string, string] => [d, path.join('app', path.relative(ROOT, d))]);
}

/** A digest of everything the operator images are made of: a warm cache skips the build. */
async function operatorInputsKey(binDir: string): Promise<string> {
  const h = createHash('sha256');
  const { stdout } = await run('git', ['ls-files', '-s', '--', 'src', 'proto', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build-dist.ts', 'test/support/images.ts', 'test/support/registrar.ts', 'test/support/pluginregistration.proto'], { cwd: ROOT });
  h.update(stdout);
  // Uncommitted edits count too.
  const { stdout: diff } = await run('git', ['diff', 'HEAD', '--', 'src', 'proto', 'package.json', 'scripts/build-dist.ts', 'test/support/images.ts', 'test/support/registrar.ts', 'test/support/pluginregistration.proto'], { cwd: ROOT, maxBuffer: 64 << 20 });
  h.update(diff);
  for (const f of [process.execPath, path.join(binDir, 'csi-provisioner')]) {
    const s = await stat(f);
    h.update(`${f} ${s.size} ${s.mtimeMs}`);
  }
  return h.digest('hex').slice(0, 16);
}

export interface OperatorImages {
  /** The chart's default operator image name: localhost/listener-operator:<appVersion>. */
  operator: { name: string; archive: string };
  provisioner: { repository: string; tag: string; archive: string };
  registrar: { repository: string; tag: string; archive: string };
}

/**
 * The operator, csi-provisioner and registration stand-in images, cached in cacheDir by a digest
 * of their inputs.
 */
export async function buildOperatorImages(cacheDir: string, binDir: string, appVersion: string, provisionerVersion: string, log: (l: string) => void): Promise<OperatorImages> {
  const dir = path.join(cacheDir, await operatorInputsKey(binDir));
  const operatorName = `localhost/listener-operator:${appVersion}`;
  const provisioner = { repository: 'localhost/listener-e2e/csi-provisioner', tag: provisionerVersion };
  const result: OperatorImages = {
    operator: { name: operatorName, archive: path.join(dir, 'operator.tar') },
    provisioner: { ...provisioner, archive: path.join(dir, 'csi-provisioner.tar') },
    registrar: { ...REGISTRAR_IMAGE, archive: path.join(dir, 'registrar.tar') },
  };
  if ([result.operator, result.provisioner, result.registrar].every((i) => existsSync(i.archive))) return result;

  log(`assembling the operator, csi-provisioner and registration images into ${dir}`);
  // Only the current inputs' images are kept.
  await rm(cacheDir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const work = await mkdtemp(path.join(dir, 'build-'));
  try {
    const dist = path.join(work, 'dist');
    await buildDist(dist); // as `npm run build` in the Dockerfile
    const node = await nodeLayer();
    const app: Layer = {
      trees: [[dist, 'app/dist'], [path.join(ROOT, 'proto'), 'app/proto'], ...await productionDependencies()],
      files: [[path.join(ROOT, 'package.json'), 'app/package.json']],
    };
    const operatorConfig = { Entrypoint: OPERATOR_ENTRYPOINT, Cmd: ['--help'], Env: ['PATH=/usr/local/bin:/usr/bin:/bin', ...OPERATOR_ENV], WorkingDir: '/app', User: '1000:1000' };
    await buildArchive(operatorName, [node, app], operatorConfig, result.operator.archive);
    await buildArchive(`${provisioner.repository}:${provisioner.tag}`, [{ dirs: [['tmp', 0o1777]], files: [[path.join(binDir, 'csi-provisioner'), 'csi-provisioner']] }],
      { Entrypoint: ['/csi-provisioner'] }, result.provisioner.archive);
    const registrar: Layer = {
      files: [
        [path.join(ROOT, 'test', 'support', 'registrar.ts'), 'app/test/support/registrar.ts'],
        [path.join(ROOT, 'test', 'support', 'pluginregistration.proto'), 'app/test/support/pluginregistration.proto'],
        [path.join(ROOT, 'src', 'csi', 'proto', 'load.ts'), 'app/src/csi/proto/load.ts'],
      ],
    };
    await buildArchive(`${REGISTRAR_IMAGE.repository}:${REGISTRAR_IMAGE.tag}`, [node, app, registrar],
      { Entrypoint: ['node', '/app/test/support/registrar.ts'], Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], WorkingDir: '/app' }, result.registrar.archive);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return result;
}
