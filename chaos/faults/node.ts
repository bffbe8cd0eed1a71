// Faults of the node plugin and of the filesystem it writes into. A controller serves one
// ClusterIP Listener that every volume names; the node plugin runs as `run node` and is called
// through its socket as the kubelet calls it. After each fault, every volume that was published
// must hold a complete, correct tree (volumes.ts).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { CsiClient } from '../../test/support/csi.ts';
import type { OperatorProcess } from '../../test/support/operator-process.ts';
import { createVolumes, volumeListener, volumeState, type Expected, type Volume } from '../lib/volumes.ts';
import type { World } from '../lib/world.ts';
import type { Fault, FaultResult } from './types.ts';

const run = promisify(execFile);

interface Setup {
  ns: string;
  expected: Expected;
  volumes: Volume[];
  socket: string;
  stop(): Promise<void>;
}

async function setup(world: World, prefix: string, count: number, targetDir?: string): Promise<Setup> {
  const ns = await world.namespace(prefix);
  const ctl = await world.controller(ns);
  await ctl.waitLog(/Caches synced/, 'the controller running', 60_000);
  const expected = await volumeListener(world.admin, ns, 'shared');
  const dir = await mkdtemp(path.join(tmpdir(), 'chaos-node-'));
  const volumes = await createVolumes(world.admin, ns, count, 'shared', targetDir ?? path.join(dir, 'pods'));
  return { ns, expected, volumes, socket: path.join(dir, 'csi.sock'), stop: async () => { await ctl.stop(); } };
}

async function plugin(world: World, socket: string): Promise<OperatorProcess> {
  const p = world.nodePlugin(socket);
  await p.waitLog(/CSI server listening/, 'the node plugin listening', 30_000);
  return p;
}

/** 'OK', or the gRPC code's name (ABORTED, UNAVAILABLE, ...), or the error. */
type Outcome = string;

async function publish(csi: CsiClient, v: Volume, timeoutMs = 10_000): Promise<Outcome> {
  try {
    await csi.call('Node', 'NodePublishVolume', v.request, timeoutMs);
    return 'OK';
  } catch (e) {
    const code = (e as { code?: number }).code;
    return code === undefined ? String(e) : (status[code] ?? String(code));
  }
}

/** Publishes until it succeeds, as the kubelet retries (bounded); the outcomes before success. */
async function publishUntilOk(csi: CsiClient, v: Volume, deadlineMs: number): Promise<Outcome[]> {
  const seen: Outcome[] = [];
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    const o = await publish(csi, v);
    if (o === 'OK') return seen;
    seen.push(o);
    await new Promise((r) => setTimeout(r, 200));
  }
  seen.push('gave up');
  return seen;
}

async function checkVolumes(volumes: Volume[], expected: Expected): Promise<{ total: number; consistent: number; leftovers: number; problems: string[] }> {
  let consistent = 0;
  let leftovers = 0;
  const problems: string[] = [];
  for (const v of volumes) {
    const s = await volumeState(v.request.target_path, expected);
    if (s?.consistent === true) consistent++;
    else problems.push(`${v.pv}: ${s?.why ?? 'not published'}`);
    leftovers += s?.leftovers ?? 0;
  }
  return { total: volumes.length, consistent, leftovers, problems };
}

const count = (xs: Outcome[]): string => Object.entries(xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {})).map(([k, n]) => `${k} ${n}`).join(', ');

export const nodePluginKill: Fault = async (world, o) => {
  const s = await setup(world, 'plugin-kill', o.volumes);
  let p = await plugin(world, s.socket);
  let csi = new CsiClient(s.socket);
  // Every volume's publish in flight at once; the plugin killed while they run.
  const first = Promise.all(s.volumes.map((v) => publish(csi, v)));
  await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 200)));
  await p.kill('SIGKILL');
  const killedAt = Date.now();
  const outcomes = await first;
  csi.close();
  p = await plugin(world, s.socket);
  csi = new CsiClient(s.socket);
  const retries = (await Promise.all(s.volumes.map((v) => publishUntilOk(csi, v, 30_000)))).flat();
  const done = Date.now();
  const vols = await checkVolumes(s.volumes, s.expected);
  csi.close();
  await p.stop();
  await s.stop();
  return {
    fault: 'node plugin SIGKILL', what: `${o.volumes} NodePublishVolume calls in flight when the node plugin was SIGKILLed; restarted, the kubelet's retries`,
    volumes: vols, convergeMs: done - killedAt,
    figures: { 'first calls': count(outcomes), 'failed retries': retries.length === 0 ? 0 : count(retries) },
    problems: [...vols.problems, ...retries.filter((r) => r === 'gave up').map(() => 'a publish never succeeded')],
  };
};

export const concurrentPublishes: Fault = async (world, o) => {
  const s = await setup(world, 'same-target', 1);
  const p = await plugin(world, s.socket);
  const csi = new CsiClient(s.socket);
  const v = s.volumes[0];
  if (v === undefined) throw new Error('no volume');
  const rounds = 10;
  const all: Outcome[] = [];
  const problems: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const outcomes = await Promise.all(Array.from({ length: o.volumes }, () => publish(csi, v)));
    all.push(...outcomes);
    const unexpected = outcomes.filter((x) => x !== 'OK' && x !== 'ABORTED');
    if (unexpected.length > 0) problems.push(`round ${r}: ${count(unexpected)}`);
    if (!outcomes.includes('OK')) problems.push(`round ${r}: no call succeeded`);
    const st = await volumeState(v.request.target_path, s.expected);
    if (st?.consistent !== true) problems.push(`round ${r}: ${st?.why ?? 'not published'}`);
  }
  const vols = await checkVolumes(s.volumes, s.expected);
  csi.close();
  await p.stop();
  await s.stop();
  return {
    fault: 'concurrent publishes of one target', what: `${rounds} rounds of ${o.volumes} simultaneous NodePublishVolume calls for the same target path`,
    volumes: vols, figures: { outcomes: count(all) }, problems,
  };
};

export const fullFilesystem: Fault = async (world) => {
  const mount = await mkdtemp(path.join(tmpdir(), 'chaos-tmpfs-'));
  await run('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'chaos-full', mount]);
  try {
    const s = await setup(world, 'full-fs', 2, mount);
    const p = await plugin(world, s.socket);
    const csi = new CsiClient(s.socket);
    const [a, b] = s.volumes;
    if (a === undefined || b === undefined) throw new Error('no volumes');
    const problems: string[] = [];
    if (await publish(csi, a) !== 'OK') problems.push('the first publish failed on an empty filesystem');
    // Fill what is left of it.
    await mkdir(path.join(mount, 'filler'), { recursive: true });
    for (let i = 0; ; i++) {
      try { await writeFile(path.join(mount, 'filler', String(i)), Buffer.alloc(16 * 1024)); } catch { break; }
      if (i > 100) break;
    }
    const full = await publish(csi, b);
    if (full !== 'RESOURCE_EXHAUSTED') problems.push(`a publish on the full filesystem answered ${full}, not RESOURCE_EXHAUSTED`);
    const half = await volumeState(b.request.target_path, s.expected);
    if (half !== undefined) problems.push(`the failed publish left files a Pod could see: ${half.why ?? 'a tree'}`);
    await rm(path.join(mount, 'filler'), { recursive: true, force: true });
    const retried = await publishUntilOk(csi, b, 20_000);
    const vols = await checkVolumes([a, b], s.expected);
    csi.close();
    await p.stop();
    await s.stop();
    return {
      fault: 'full filesystem', what: 'the target on a 256 KiB tmpfs filled up: a publish fails with a clear code and leaves nothing visible; after space is freed the retry succeeds',
      volumes: vols, figures: { 'publish on the full filesystem': full, 'retries after freeing space': retried.length },
      problems: [...problems, ...vols.problems],
    };
  } finally {
    await run('umount', [mount]).catch(() => undefined);
    await rm(mount, { recursive: true, force: true });
  }
};

export type { FaultResult };
