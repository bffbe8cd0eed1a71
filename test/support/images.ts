// The e2e node's two container images, assembled locally from Debian packages (no registry, no
// Docker): a pause image (catatonit in pause mode, statically linked) for containerd's
// sandbox_image, and a tiny test image (busybox-static: httpd, sh, cat, ...). Each is written as
// a docker-archive tarball (manifest.json with RepoTags, one uncompressed layer) that
// `ctr -n k8s.io images import` accepts. Layers are built with fixed owners and mtimes so the
// same inputs give the same image ID.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PAUSE_IMAGE = 'localhost/listener-e2e/pause:1';
export const TEST_IMAGE = 'localhost/listener-e2e/busybox:1';

/** busybox applets linked into the test image's /bin. */
const APPLETS = ['sh', 'cat', 'ls', 'httpd', 'sleep', 'echo', 'mkdir', 'readlink', 'wget', 'hostname', 'env', 'find', 'test', 'true'];

interface ImageSpec {
  name: string;
  /** Files to copy into the root: [source on the host, path in the image]. */
  files: [string, string][];
  /** Symbolic links in the image: [path, target]. */
  links: [string, string][];
  config: Record<string, unknown>;
}

async function sha256File(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/** Writes `<outDir>/<basename>.tar` for one image; returns its path. */
async function buildArchive(spec: ImageSpec, outDir: string, basename: string): Promise<string> {
  const work = await mkdtemp(path.join(outDir, `${basename}-`));
  try {
    const root = path.join(work, 'rootfs');
    await mkdir(root);
    for (const [src, dst] of spec.files) {
      await mkdir(path.join(root, path.dirname(dst)), { recursive: true });
      await copyFile(src, path.join(root, dst));
    }
    for (const [p, target] of spec.links) {
      await mkdir(path.join(root, path.dirname(p)), { recursive: true });
      await symlink(target, path.join(root, p));
    }
    for (const d of ['tmp', 'proc', 'sys', 'dev', 'etc']) await mkdir(path.join(root, d), { recursive: true });
    const archive = path.join(work, 'archive');
    await mkdir(archive);
    const layer = path.join(archive, 'layer.tar');
    await run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', root, '-cf', layer, '.']);
    const diffId = `sha256:${await sha256File(layer)}`;
    const config = {
      architecture: 'amd64', os: 'linux', created: '1970-01-01T00:00:00Z',
      config: spec.config,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'listener-operator test/support/images.ts' }],
    };
    const configJson = JSON.stringify(config);
    const configName = `${createHash('sha256').update(configJson).digest('hex')}.json`;
    await writeFile(path.join(archive, configName), configJson);
    await writeFile(path.join(archive, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [spec.name], Layers: ['layer.tar'] }]));
    const out = path.join(outDir, `${basename}.tar`);
    await run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', archive, '-cf', out, '.']);
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const CATATONIT = '/usr/bin/catatonit';
const BUSYBOX = '/bin/busybox';

/** Builds both archives into outDir; returns their paths. */
export async function buildImages(outDir: string): Promise<{ pause: string; test: string }> {
  await mkdir(outDir, { recursive: true });
  const pause = await buildArchive({
    name: PAUSE_IMAGE,
    files: [[CATATONIT, 'pause']],
    links: [],
    // catatonit -P: the pause-container mode (sleeps until SIGTERM/SIGINT, reaps zombies).
    config: { Entrypoint: ['/pause', '-P'], Env: ['PATH=/'] },
  }, outDir, 'pause');
  const test = await buildArchive({
    name: TEST_IMAGE,
    files: [[BUSYBOX, 'bin/busybox']],
    links: APPLETS.map((a): [string, string] => [`bin/${a}`, 'busybox']),
    config: { Entrypoint: ['/bin/sh'], Env: ['PATH=/bin'], WorkingDir: '/' },
  }, outDir, 'busybox');
  return { pause, test };
}
