// Image archives without a container engine: docker-archive tarballs (manifest.json with RepoTags,
// a config, uncompressed layer tarballs) that `ctr -n k8s.io images import` accepts. Layers are
// tarred with fixed owners and mtimes, so the same inputs give the same layer digests and image IDs.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, copyFile, cp, link, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const TAR_FLAGS = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0'];

/** One image layer: files copied in (host path → image path), trees copied in, links, directories, texts. */
export interface Layer {
  files?: [string, string][];
  trees?: [string, string][];
  links?: [string, string][];
  dirs?: [string, number][];
  texts?: [string, string][];
}

/** A layer tarball and its diff ID (the sha256 of the uncompressed tar). */
export interface LayerTar { file: string; diffId: string }

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * A temporary name beside `out`, unique to this write: two processes may build the same cached
 * file at once (the e2e tier's setup and the image test run side by side on a cold cache), and
 * each must rename only a file it wrote whole.
 */
function tmpBeside(out: string): string {
  return `${out}.${String(process.pid)}-${randomBytes(4).toString('hex')}.tmp`;
}

/** Writes `layer` as a tarball at `out`. */
export async function buildLayer(layer: Layer, out: string): Promise<LayerTar> {
  const root = await mkdtemp(`${out}-rootfs-`);
  try {
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
    const tmp = tmpBeside(out);
    await run('tar', [...TAR_FLAGS, '-C', root, '-cf', tmp, '.'], { maxBuffer: 16 << 20 });
    await rename(tmp, out);
    return { file: out, diffId: `sha256:${await sha256File(out)}` };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * The layer cached under `dir/<key>.tar` (its diff ID beside it), built by `make` when missing.
 * The key must change whenever the layer's content would.
 */
export async function cachedLayer(dir: string, key: string, make: () => Promise<Layer>): Promise<LayerTar> {
  const file = path.join(dir, `${key}.tar`);
  const idFile = `${file}.sha256`;
  if (existsSync(file) && existsSync(idFile)) {
    const now = new Date();
    await utimes(idFile, now, now); // marks it used (see pruneLayers)
    return { file, diffId: (await readFile(idFile, 'utf8')).trim() };
  }
  await mkdir(dir, { recursive: true });
  const built = await buildLayer(await make(), file);
  const tmp = tmpBeside(idFile);
  await writeFile(tmp, built.diffId);
  await rename(tmp, idFile);
  return built;
}

/** Removes cached layers not used for `maxAgeMs` (another build may be using newer ones). */
export async function pruneLayers(dir: string, maxAgeMs: number): Promise<void> {
  const now = Date.now();
  for (const f of (await readdir(dir).catch(() => [])).filter((n) => n.endsWith('.tar.sha256'))) {
    const s = await stat(path.join(dir, f)).catch(() => undefined);
    if (s !== undefined && now - s.mtimeMs > maxAgeMs) {
      await rm(path.join(dir, f), { force: true });
      await rm(path.join(dir, f.slice(0, -'.sha256'.length)), { force: true });
    }
  }
}

/** Writes `out` (a docker-archive tarball) for the image `name` made of these layers. */
export async function writeArchive(name: string, layers: LayerTar[], config: Record<string, unknown>, out: string): Promise<string> {
  const work = await mkdtemp(`${out}-work-`);
  try {
    const layerFiles: string[] = [];
    for (const [i, layer] of layers.entries()) {
      const f = `layer-${i}.tar`;
      // A hard link where it can (the cached layers are large), else a copy.
      await link(layer.file, path.join(work, f)).catch(() => copyFile(layer.file, path.join(work, f)));
      layerFiles.push(f);
    }
    const configJson = JSON.stringify({
      architecture: 'amd64', os: 'linux', created: '1970-01-01T00:00:00Z', config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: '1970-01-01T00:00:00Z', created_by: 'listener-operator test/support/image-archive.ts' })),
    });
    const configName = `${createHash('sha256').update(configJson).digest('hex')}.json`;
    await writeFile(path.join(work, configName), configJson);
    await writeFile(path.join(work, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [name], Layers: layerFiles }]));
    const tmp = tmpBeside(out);
    await run('tar', [...TAR_FLAGS, '-C', work, '-cf', tmp, '.']);
    await rename(tmp, out);
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Writes `out` as an OCI image layout tarball for the image `name`, leaving out the layer blobs
 * whose digests are in `present` (already in the importing containerd's content store: importing
 * only checks and writes the blobs the tarball holds, and unpacking finds the rest in the store).
 * A rebuild after an edit then carries one small layer instead of the whole image (npm run dev).
 */
export async function writeOciArchive(o: { name: string; layers: LayerTar[]; config: Record<string, unknown>; out: string; present: ReadonlySet<string> }): Promise<string> {
  const work = await mkdtemp(`${o.out}-work-`);
  try {
    const blobs = path.join(work, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const put = async (json: string): Promise<{ digest: string; size: number }> => {
      const hex = createHash('sha256').update(json).digest('hex');
      await writeFile(path.join(blobs, hex), json);
      return { digest: `sha256:${hex}`, size: Buffer.byteLength(json) };
    };
    const layerDescs = [];
    for (const l of o.layers) {
      if (!o.present.has(l.diffId)) await link(l.file, path.join(blobs, l.diffId.slice('sha256:'.length))).catch(() => copyFile(l.file, path.join(blobs, l.diffId.slice('sha256:'.length))));
      layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.diffId, size: (await stat(l.file)).size });
    }
    const config = await put(JSON.stringify({
      architecture: 'amd64', os: 'linux', created: '1970-01-01T00:00:00Z', config: o.config,
      rootfs: { type: 'layers', diff_ids: o.layers.map((l) => l.diffId) },
    }));
    const manifest = await put(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: layerDescs }));
    const tag = o.name.slice(o.name.lastIndexOf(':') + 1);
    await writeFile(path.join(work, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'io.containerd.image.name': o.name, 'org.opencontainers.image.ref.name': tag } }],
    }));
    await writeFile(path.join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const tmp = tmpBeside(o.out);
    await run('tar', [...TAR_FLAGS, '-C', work, '-cf', tmp, '.']);
    await rename(tmp, o.out);
    return o.out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Builds every layer afresh and writes the archive (for small images). */
export async function buildArchive(name: string, layers: Layer[], config: Record<string, unknown>, out: string): Promise<string> {
  const work = await mkdtemp(`${out}-layers-`);
  try {
    const tars: LayerTar[] = [];
    for (const [i, layer] of layers.entries()) tars.push(await buildLayer(layer, path.join(work, `layer-${i}.tar`)));
    return await writeArchive(name, tars, config, out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
