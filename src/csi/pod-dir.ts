// The only filesystem writer: the file tree of a listener volume, straight into kubelet's
// target_path (the node plugin mounts nothing).
//
//   <target>/addresses/<address>/address        the address (no trailing newline, as upstream)
//   <target>/addresses/<address>/ports/<name>   the exposed port number (no trailing newline)
//   <target>/default-address -> addresses/<first address>   (relative symlink)
//
// Safety: every address and port name becomes exactly one path component, so each is checked
// first (podDirNameProblem) and the request is refused, with the offending value in the message,
// if any could escape or be mangled: empty, `.`, `..`, containing `/` or NUL, not well-formed
// Unicode, or over 255 bytes. Nothing is written outside the target path. Files are created
// exclusively (O_EXCL) inside a directory this call has just created under a random name.
//
// Atomicity: `addresses` is a relative symlink to a complete, hidden version directory
// (`.addresses-<random>`), built in full before a rename swaps the link; `default-address` is
// likewise replaced by renaming a new link over it. A reader therefore sees the whole old tree or
// the whole new one, never a half-written file or a mix, and the address folders of the old tree
// are gone with it (upstream leaves them behind). The previous version directory is deleted right
// after the swap, so a read that had already resolved into it may fail with ENOENT and must be
// retried. A real `addresses` directory (written by upstream) is moved aside first: only that
// one-time migration has an instant where `addresses` is missing.
//
// Cleanup never removes what another call may be using. The node service answers ABORTED to a
// second call for a target in flight, but two writers can still overlap (two plugin processes
// during an upgrade, a call that outlived its caller), and a call that deleted "every version but
// mine" could delete the one another call has just swapped in, leaving `addresses` dangling in a
// running Pod. So a call removes only:
//   - what it replaced itself: the version `addresses` pointed to just before its own swap, and
//     what it moved aside. A version is private to its call until that call swaps it in, and only
//     its own call ever points `addresses` at it, once; so after our swap nobody points at the
//     version we replaced again, and nobody else is still building it;
//   - entries of calls that ended long ago (interrupted by a crash or a kill): older than
//     STALE_AFTER_MS, far beyond any call's lifetime (kubelet's CSI timeout is 2 minutes), and
//     never the version `addresses` points to at that moment.
// A version left behind by overlapping writers is therefore removed later, by age.

import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { POD_DIR_ADDRESSES, POD_DIR_DEFAULT_ADDRESS } from '../constants.ts';
import type { NoPodDirAddresses, PodDirError, RemovePodDirError, UnsafePodDirEntry } from './errors.ts';
import { err, ok, type Result } from './result.ts';
import { targetPathProblem } from './validation.ts';
import { isRecord } from '../util/is-record.ts';

/** One address to publish, with the exposed port number per port name. */
export interface PodDirAddress {
  readonly address: string;
  readonly addressType?: string | undefined;
  readonly ports: Readonly<Record<string, number>>;
}

/** The checked content of the tree: addresses in order (duplicates merged), ports per address. */
export interface PodDirPlan {
  readonly addresses: readonly { readonly address: string; readonly ports: readonly (readonly [string, number])[] }[];
}

const VERSION_PREFIX = `.${POD_DIR_ADDRESSES}-`;
const TEMP_PREFIX = '.tmp-';
const MAX_NAME_BYTES = 255;
/** An entry of an earlier call this old cannot belong to a call still running. */
const STALE_AFTER_MS = 10 * 60_000;
const DIR_MODE = 0o755;
const FILE_MODE = 0o644;

/** Why `name` cannot be one path component of the tree (undefined when it can). */
export function podDirNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `must be a string, not ${name === null ? 'null' : typeof name}`;
  if (name === '') return 'is empty';
  if (name === '.' || name === '..') return 'is a relative directory reference';
  if (name.includes('/')) return 'contains "/"';
  if (name.includes('\0')) return 'contains a NUL character';
  if (!name.isWellFormed()) return 'is not well-formed Unicode (lone surrogate)';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

/**
 * Checks every address, port name and port number, and merges repeated addresses (ports united,
 * the later value winning, which is what upstream's overwriting writes leave on disk).
 */
export function planPodDir(addresses: readonly PodDirAddress[], targetPath: string): Result<PodDirPlan, UnsafePodDirEntry | NoPodDirAddresses> {
  const merged = new Map<string, Map<string, number>>();
  for (const entry of Array.isArray(addresses) ? (addresses as readonly unknown[]) : []) {
    const address = isRecord(entry) ? entry['address'] : undefined;
    const addressProblem = podDirNameProblem(address);
    if (addressProblem !== undefined) return err({ kind: 'UnsafePodDirEntry', what: 'address', value: address, reason: addressProblem });
    const ports = isRecord(entry) ? entry['ports'] : undefined;
    if (!isRecord(ports)) return err({ kind: 'UnsafePodDirEntry', what: 'port name', value: undefined, reason: `the ports of address ${JSON.stringify(address)} are not a map` });
    const portMap = merged.get(address as string) ?? new Map<string, number>();
    for (const [name, port] of Object.entries(ports)) {
      const nameProblem = podDirNameProblem(name);
      if (nameProblem !== undefined) return err({ kind: 'UnsafePodDirEntry', what: 'port name', value: name, reason: nameProblem });
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
        return err({ kind: 'UnsafePodDirEntry', what: 'port number', value: port, reason: `port ${JSON.stringify(name)} must be an integer from 1 to 65535` });
      }
      portMap.set(name, port);
    }
    merged.set(address as string, portMap);
  }
  if (merged.size === 0) return err({ kind: 'NoPodDirAddresses', targetPath });
  return ok({ addresses: [...merged].map(([address, ports]) => ({ address, ports: [...ports] })) });
}

/** Writes (or atomically replaces) the volume's file tree. Never throws. */
export async function writePodDir(targetPath: string, addresses: readonly PodDirAddress[]): Promise<Result<void, PodDirError>> {
  const pathProblem = targetPathProblem(targetPath);
  if (pathProblem !== undefined) return err({ kind: 'InvalidTargetPath', targetPath, reason: pathProblem });
  const plan = planPodDir(addresses, targetPath);
  if (!plan.ok) return plan;
  const id = randomBytes(12).toString('hex');
  const version = `${VERSION_PREFIX}${id}`;
  let swapped = false;
  try {
    await mkdir(targetPath, { recursive: true, mode: DIR_MODE });
    const target = await lstat(targetPath);
    if (!target.isDirectory()) throw new Error('the target path is not a directory');
    await writeVersion(join(targetPath, version), plan.value);
    const asideAddresses = `${VERSION_PREFIX}old-${id}`;
    const asideDefault = `${TEMP_PREFIX}old-${POD_DIR_DEFAULT_ADDRESS}-${id}`;
    const replaced = await currentVersion(targetPath);
    await moveAsideIfRealDirectory(targetPath, POD_DIR_ADDRESSES, asideAddresses);
    await replaceSymlink(targetPath, POD_DIR_ADDRESSES, version, id);
    swapped = true;
    const first = plan.value.addresses[0]?.address ?? '';
    await moveAsideIfRealDirectory(targetPath, POD_DIR_DEFAULT_ADDRESS, asideDefault);
    await replaceSymlink(targetPath, POD_DIR_DEFAULT_ADDRESS, `${POD_DIR_ADDRESSES}/${first}`, id);
    await removeLeftovers(targetPath, version, [asideAddresses, asideDefault, ...(replaced === undefined ? [] : [replaced])]);
    return ok(undefined);
  } catch (cause) {
    if (!swapped) await rm(join(targetPath, version), { recursive: true, force: true }).catch(() => undefined);
    return err({ kind: 'WriteFiles', targetPath, cause });
  }
}

/** Removes the target path and everything in it; a missing path is success. Never throws. */
export async function removePodDir(targetPath: string): Promise<Result<void, RemovePodDirError>> {
  const pathProblem = targetPathProblem(targetPath);
  if (pathProblem !== undefined) return err({ kind: 'InvalidTargetPath', targetPath, reason: pathProblem });
  try {
    await rm(targetPath, { recursive: true, force: true });
    return ok(undefined);
  } catch (cause) {
    return err({ kind: 'RemoveFiles', targetPath, cause });
  }
}

async function writeVersion(dir: string, plan: PodDirPlan): Promise<void> {
  await mkdir(dir, { mode: DIR_MODE });
  for (const { address, ports } of plan.addresses) {
    const addressDir = join(dir, address);
    await mkdir(addressDir, { mode: DIR_MODE });
    await writeFile(join(addressDir, 'address'), address, { flag: 'wx', mode: FILE_MODE });
    const portsDir = join(addressDir, 'ports');
    await mkdir(portsDir, { mode: DIR_MODE });
    for (const [name, port] of ports) {
      await writeFile(join(portsDir, name), String(port), { flag: 'wx', mode: FILE_MODE });
    }
  }
}

/** Points `<dir>/<name>` at `linkTarget` in one rename (a reader sees the old link or the new). */
async function replaceSymlink(dir: string, name: string, linkTarget: string, id: string): Promise<void> {
  const temp = join(dir, `${TEMP_PREFIX}${name}-${id}`);
  await symlink(linkTarget, temp);
  await rename(temp, join(dir, name));
}

/** A rename cannot replace a non-empty directory with a link: move such a directory out of the way. */
async function moveAsideIfRealDirectory(dir: string, name: string, aside: string): Promise<void> {
  const stat = await lstat(join(dir, name)).catch((e: unknown) => {
    if (isErrnoCode(e, 'ENOENT')) return undefined;
    throw e;
  });
  if (stat?.isDirectory()) await rename(join(dir, name), join(dir, aside));
}

/** The version directory `addresses` points to now, if it is one of ours. */
async function currentVersion(dir: string): Promise<string | undefined> {
  const target = await readlink(join(dir, POD_DIR_ADDRESSES)).catch(() => undefined);
  return target !== undefined && target.startsWith(VERSION_PREFIX) && !target.includes('/') ? target : undefined;
}

/** What this call replaced or moved aside (`own`), then stale entries of interrupted calls (see the top). */
async function removeLeftovers(dir: string, ours: string, own: readonly string[]): Promise<void> {
  for (const name of own) if (name !== ours) await rm(join(dir, name), { recursive: true, force: true });
  const linked = await currentVersion(dir);
  const now = Date.now();
  for (const name of await readdir(dir)) {
    if (name === ours || name === linked || !(name.startsWith(VERSION_PREFIX) || name.startsWith(TEMP_PREFIX))) continue;
    const stat = await lstat(join(dir, name)).catch(() => undefined);
    if (stat !== undefined && now - stat.mtimeMs > STALE_AFTER_MS) await rm(join(dir, name), { recursive: true, force: true });
  }
}

function isErrnoCode(e: unknown, code: string): boolean {
  return e instanceof Error && 'code' in e && e.code === code;
}

