// The e2e node's container images, assembled locally (no registry, no container engine) as
// docker-archive tarballs that `ctr -n k8s.io images import` accepts (image-archive.ts):
//   - pause: Debian's static catatonit in pause mode (-P), containerd's sandbox_image;
//   - busybox: Debian's busybox-static (httpd, sh, cat, ...), the test Pods' image;
//   - the operator image, from docker/Dockerfile's runtime stage (operator-image.ts);
//   - csi-provisioner: the pinned build (ENTRYPOINT /csi-provisioner, as upstream's image);
//   - the registration stand-in (registrar.ts on the operator image's layers).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './dockerfile.ts';
import { buildArchive, buildLayer, pruneLayers, writeArchive, type Layer } from './image-archive.ts';
import { compileDist, operatorImage } from './operator-image.ts';

export { OPERATOR_ENTRYPOINT, OPERATOR_ENV } from './operator-image.ts';

const run = promisify(execFile);

export const PAUSE_IMAGE = 'localhost/listener-e2e/pause:1';
export const TEST_IMAGE = 'localhost/listener-e2e/busybox:1';
/** The registration stand-in's image (see registrar.ts); not the real sidecar's name. */
export const REGISTRAR_IMAGE = { repository: 'localhost/listener-e2e/node-driver-registrar-standin', tag: '1' };

/** busybox applets linked into the test image's /bin. */
const APPLETS = ['sh', 'cat', 'ls', 'httpd', 'sleep', 'echo', 'mkdir', 'readlink', 'wget', 'hostname', 'env', 'find', 'test', 'true'];

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

/** The project's cache (~/.cache/listener-operator, or LISTENER_OPERATOR_CACHE). */
export function cacheRoot(): string {
  return process.env.LISTENER_OPERATOR_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'listener-operator');
}

/** Where the e2e tier keeps its assembled operator images. */
export const e2eImagesDir = (): string => path.join(cacheRoot(), 'e2e-images');

/** The cache of the operator images' large layers (the base and the dependencies), shared by every build. */
export function layerCacheOf(cacheDir: string): string {
  return path.join(path.dirname(cacheDir), 'image-layers');
}

/** A digest of everything the operator images are made of: a warm cache skips the build. */
async function operatorInputsKey(binDir: string): Promise<string> {
  const h = createHash('sha256');
  const inputs = ['src', 'proto', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'docker/Dockerfile', 'scripts/build-dist.ts', 'scripts/stamp-build.ts',
    'test/support/dockerfile.ts', 'test/support/image-archive.ts', 'test/support/operator-image.ts', 'test/support/images.ts',
    'test/support/registrar.ts', 'test/support/pluginregistration.proto'];
  const { stdout } = await run('git', ['ls-files', '-s', '--', ...inputs], { cwd: ROOT });
  h.update(stdout);
  // Uncommitted edits count too.
  const { stdout: diff } = await run('git', ['diff', 'HEAD', '--', ...inputs], { cwd: ROOT, maxBuffer: 64 << 20 });
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

  log(`assembling the operator (docker/Dockerfile), csi-provisioner and registration images into ${dir}`);
  // Only the current inputs' images are kept.
  await rm(cacheDir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const work = await mkdtemp(path.join(dir, 'build-'));
  try {
    const dist = path.join(work, 'dist');
    await compileDist(dist);
    const layerCache = layerCacheOf(cacheDir);
    const operator = await operatorImage(dist, layerCache, work);
    await writeArchive(operatorName, operator.layers, operator.config, result.operator.archive);
    await buildArchive(`${provisioner.repository}:${provisioner.tag}`, [{ dirs: [['tmp', 0o1777]], files: [[path.join(binDir, 'csi-provisioner'), 'csi-provisioner']] }],
      { Entrypoint: ['/csi-provisioner'] }, result.provisioner.archive);
    const registrar = await buildLayer({
      files: [
        [path.join(ROOT, 'test', 'support', 'registrar.ts'), 'app/test/support/registrar.ts'],
        [path.join(ROOT, 'test', 'support', 'pluginregistration.proto'), 'app/test/support/pluginregistration.proto'],
        [path.join(ROOT, 'src', 'csi', 'proto', 'load.ts'), 'app/src/csi/proto/load.ts'],
      ],
    }, path.join(work, 'registrar-layer.tar'));
    await writeArchive(`${REGISTRAR_IMAGE.repository}:${REGISTRAR_IMAGE.tag}`, [...operator.layers, registrar],
      { Entrypoint: ['node', '/app/test/support/registrar.ts'], Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], WorkingDir: '/app' }, result.registrar.archive);
    await pruneLayers(layerCache, 7 * 86_400_000);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return result;
}
