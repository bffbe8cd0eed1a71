// What every scenario shares: the control plane, the benchmark's own clients (whose requests are
// tallied so they can be told apart from the operator's in the API server's counts), the ready
// tracker, the options, and helpers to start the operator and to snapshot counters around a window.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, type Cluster } from '../../test/support/cluster.ts';
import type { KubeClient } from '../../src/k8s/client.ts';
import { byLabel, sumOf, type Sample } from './prom.ts';
import { OperatorProcess, splitCommand, withCpuProfile, sleep } from './process.ts';
import { copyTally, diff, isControllerRead, isControllerWrite, minus, scrapeApiServer, total, type ApiServerAccess, type ApiServerSnapshot, type Tally } from './requests.ts';
import type { ReadyTracker } from './watchers.ts';

export interface BenchOptions {
  listeners: number;
  nodes: number;
  publish: number;
  concurrency: number;
  publishConcurrency: number;
  rounds: number;
  operatorCmd: string;
  nodeCmd: string;
  out: string;
  cpuProf: boolean;
  scenarios: ReadonlySet<string>;
  /** Extra environment for every operator process (`--operator-env KEY=VALUE`), after the shared contract. */
  operatorEnv: Record<string, string>;
}

export interface BenchContext {
  cluster: Cluster;
  api: ApiServerAccess;
  /** Creates Listeners and watches them (ReadyTracker). */
  admin: KubeClient;
  adminTally: Tally;
  /** The stand-in cloud provider's client. */
  cloud: KubeClient;
  cloudTally: Tally;
  tracker: ReadyTracker;
  opts: BenchOptions;
  runDir: string;
  /** Short directory for Unix sockets. */
  socketDir: string;
  repoRoot: string;
  log: (line: string) => void;
}

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

let started = 0;

/** Starts the operator command (controller or node) with the shared environment contract. */
export async function startOperator(ctx: BenchContext, o: { cmd: string; phase: string; env?: Record<string, string> }): Promise<OperatorProcess> {
  const port = await freePort();
  const webhookPort = await freePort();
  const n = ++started;
  const base = splitCommand(o.cmd);
  const { argv, profiled } = ctx.opts.cpuProf ? withCpuProfile(base, path.join(ctx.runDir, 'profiles'), `${n}-${o.phase}`) : { argv: base, profiled: false };
  if (ctx.opts.cpuProf && !profiled) ctx.log(`--cpu-prof: "${o.cmd}" does not start node; no profile for ${o.phase}`);
  // Unix socket paths are limited to 107 bytes: keep it short, in the system's temporary directory.
  const csiSocket = path.join(ctx.socketDir, `${n}.sock`);
  const proc = await OperatorProcess.start({
    name: `${o.phase} (${o.cmd})`,
    argv,
    cwd: ctx.repoRoot,
    logFile: path.join(ctx.runDir, `${n}-${o.phase}.log`),
    httpPort: port,
    csiSocket,
    env: {
      KUBECONFIG: ctx.cluster.kubeconfig,
      // A plain path, as upstream's chart gives it (ours also takes a unix:// URL).
      CSI_ENDPOINT: csiSocket,
      HTTP_ADDRESS: `127.0.0.1:${port}`,
      LISTENER_CLASS_PRESET: 'none',
      // As upstream's chart runs it (CRD maintenance and its webhook on), with what this control
      // plane lacks given: a cluster domain (no kubelet to read it from), a free webhook port.
      OPERATOR_NAMESPACE: 'default',
      OPERATOR_SERVICE_NAME: 'listener-operator',
      KUBERNETES_CLUSTER_DOMAIN: 'cluster.local',
      WEBHOOK_ADDRESS: `127.0.0.1:${webhookPort}`,
      ...o.env,
      ...ctx.opts.operatorEnv,
    },
  });
  ctx.log(`started ${o.phase}: ${argv.join(' ')} (metrics on 127.0.0.1:${port})`);
  return proc;
}

/** Counters of one moment: API server, operator (when it exposes them), our own clients, CPU. */
export interface Snapshot {
  at: number;
  api: ApiServerSnapshot;
  operator: OperatorCounters | undefined;
  admin: Tally;
  cloud: Tally;
  benchCpuSeconds: number;
  machine: MachineCpu;
}

export interface OperatorCounters {
  /** listener_operator_api_requests_total by verb (undefined: the operator does not export it). */
  requests: Record<string, number> | undefined;
  cpuSeconds: number | undefined;
  rssBytes: number | undefined;
  heapUsedBytes: number | undefined;
  queueDepth: number | undefined;
  reconciles: number | undefined;
  active: number | undefined;
}

export function operatorCounters(samples: readonly Sample[]): OperatorCounters {
  const requests = samples.some((s) => s.name === 'listener_operator_api_requests_total') ? byLabel(samples, 'listener_operator_api_requests_total', 'verb') : undefined;
  return {
    requests,
    cpuSeconds: sumOf(samples, 'process_cpu_seconds_total'),
    rssBytes: sumOf(samples, 'process_resident_memory_bytes'),
    heapUsedBytes: sumOf(samples, 'nodejs_heap_size_used_bytes'),
    queueDepth: sumOf(samples, 'listener_operator_queue_depth'),
    reconciles: sumOf(samples, 'listener_operator_reconciles_total'),
    active: sumOf(samples, 'listener_operator_reconciles_active'),
  };
}

export async function snapshot(ctx: BenchContext, op: OperatorProcess | undefined): Promise<Snapshot> {
  const [api, metrics, machine] = await Promise.all([
    scrapeApiServer(ctx.api),
    op?.running === true ? op.metrics().catch(() => undefined) : Promise.resolve(undefined),
    machineCpu(),
  ]);
  const cpu = process.cpuUsage();
  return {
    at: performance.now(),
    api,
    operator: metrics === undefined ? undefined : operatorCounters(metrics.samples),
    admin: copyTally(ctx.adminTally),
    cloud: copyTally(ctx.cloudTally),
    benchCpuSeconds: (cpu.user + cpu.system) / 1e6,
    machine,
  };
}

export interface WindowDelta {
  seconds: number;
  api: Tally;
  admin: Tally;
  cloud: Tally;
  operatorRequests: Record<string, number> | undefined;
  cpuSeconds: { operator: number | undefined; apiserver: number; bench: number };
  /** Busy share of all CPUs of the machine (everyone's work, ours and others'). */
  machineBusy: number;
}

export function delta(a: Snapshot, b: Snapshot): WindowDelta {
  // No operator at the start of the window (a restart): its counters start from zero.
  const req = b.operator?.requests !== undefined ? subtractRecords(b.operator.requests, a.operator?.requests ?? {}) : undefined;
  const opCpu = b.operator?.cpuSeconds !== undefined ? b.operator.cpuSeconds - (a.operator?.cpuSeconds ?? 0) : undefined;
  const busy = b.machine.total - a.machine.total > 0 ? (b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total) : Number.NaN;
  return {
    seconds: (b.at - a.at) / 1000,
    api: diff(b.api.requests, a.api.requests),
    admin: diff(b.admin, a.admin),
    cloud: diff(b.cloud, a.cloud),
    operatorRequests: req,
    cpuSeconds: { operator: opCpu, apiserver: b.api.cpuSeconds - a.api.cpuSeconds, bench: b.benchCpuSeconds - a.benchCpuSeconds },
    machineBusy: busy,
  };
}

export function subtractRecords(b: Record<string, number>, a: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) out[k] = (b[k] ?? 0) - (a[k] ?? 0);
  return out;
}

const WRITE_VERBS_OURS = ['create', 'apply', 'patch', 'update', 'delete'];
const READ_VERBS_OURS = ['get', 'list'];

export function sumVerbs(r: Record<string, number> | undefined, which: 'writes' | 'reads' | 'watches'): number | undefined {
  if (r === undefined) return undefined;
  const verbs = which === 'writes' ? WRITE_VERBS_OURS : which === 'reads' ? READ_VERBS_OURS : ['watch'];
  return verbs.reduce((s, v) => s + (r[v] ?? 0), 0);
}

export interface MachineCpu { busy: number; total: number }

/** Aggregate CPU jiffies from /proc/stat (busy = everything but idle and iowait). */
export async function machineCpu(): Promise<MachineCpu> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const totalJ = v.slice(0, 8).reduce((s, x) => s + x, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: totalJ - idle, total: totalJ };
  } catch {
    return { busy: 0, total: 0 };
  }
}

export interface LoopResult {
  /** Latency (ms) per completed item, in completion order. */
  latencies: number[];
  /** Class (or other label) per completed item, same order. */
  labels: string[];
  failures: number;
  firstErrors: string[];
  /** performance.now() of the first start and the last completion. */
  firstStart: number;
  lastEnd: number;
  hitDeadline: boolean;
}

/**
 * A closed loop: `concurrency` workers, each running one item at a time to completion (items
 * 0..n-1), until all are done or the deadline passes. Bounded in count and time.
 */
export async function closedLoop(n: number, concurrency: number, deadlineMs: number, item: (i: number) => Promise<{ start: number; end: number; label: string }>): Promise<LoopResult> {
  const r: LoopResult = { latencies: [], labels: [], failures: 0, firstErrors: [], firstStart: Number.POSITIVE_INFINITY, lastEnd: 0, hitDeadline: false };
  const deadline = performance.now() + deadlineMs;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      if (performance.now() > deadline) {
        r.hitDeadline = true;
        return;
      }
      const i = next++;
      try {
        const { start, end, label } = await item(i);
        r.firstStart = Math.min(r.firstStart, start);
        r.lastEnd = Math.max(r.lastEnd, end);
        r.latencies.push(end - start);
        r.labels.push(label);
      } catch (e) {
        r.failures++;
        if (r.firstErrors.length < 5) r.firstErrors.push(e instanceof Error ? e.message : String(e));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
  return r;
}

interface IdleOptions { minReconciles?: number; quietMs: number; timeoutMs: number; pollMs?: number; activity?: () => Promise<number> }

/** Is the queue idle by the operator's own metrics? undefined: it exports no queue metrics. */
function queueIdle(c: OperatorCounters, minReconciles: number): boolean | undefined {
  if (c.queueDepth === undefined || c.reconciles === undefined) return undefined;
  return c.queueDepth === 0 && (c.active ?? 0) === 0 && c.reconciles >= minReconciles;
}

/** How long both moments have passed (0 while either is unknown). */
function quietFor(since: number | undefined, idleSince: number | undefined, now: number): number {
  return since === undefined || idleSince === undefined ? 0 : now - Math.max(since, idleSince);
}

/**
 * The operator's requests so far: its own count, else the `activity` fallback (the API server's
 * count); undefined when neither is there (no /metrics and no fallback).
 */
async function requestsSoFar(c: OperatorCounters | undefined, activity: (() => Promise<number>) | undefined): Promise<number | undefined> {
  if (c?.requests !== undefined) return Object.values(c.requests).reduce((s, v) => s + v, 0);
  if (activity !== undefined) return activity();
  return c === undefined ? undefined : 0;
}

/**
 * The controller's requests since `since` as the API server counts them (its kinds, minus the
 * benchmark's own clients): the activity of an operator that exports no request metrics.
 */
export function apiActivity(ctx: BenchContext, since: Snapshot): () => Promise<number> {
  return async () => {
    const api = diff((await scrapeApiServer(ctx.api)).requests, since.api.requests);
    const t: Tally = minus(api, diff(ctx.adminTally, since.admin), diff(ctx.cloudTally, since.cloud));
    return total(t, (k) => isControllerRead(k) || isControllerWrite(k));
  };
}

/**
 * Waits until the operator is idle: with our metrics, empty queue and no reconcile running, with
 * at least `minReconciles` done, confirmed for `quietMs`; with an operator that has no queue
 * metrics (or no /metrics at all), no new API request (its own counter, else `activity`: the API
 * server's count) for `quietMs`. Returns the moment it became idle, or undefined on timeout.
 */
export async function waitIdle(op: OperatorProcess, o: IdleOptions): Promise<{ idleAt: number; counters: OperatorCounters | undefined } | undefined> {
  const deadline = performance.now() + o.timeoutMs;
  let lastTotal = -1;
  let lastChange = performance.now();
  let idleSince: number | undefined;
  while (performance.now() < deadline && op.running) {
    const m = await op.metrics().catch(() => undefined);
    const now = performance.now();
    const c = m === undefined ? undefined : operatorCounters(m.samples);
    const totalReq = await requestsSoFar(c, o.activity);
    if (totalReq !== undefined) {
      if (totalReq !== lastTotal) {
        lastTotal = totalReq;
        lastChange = now;
      }
      const q = c === undefined ? undefined : queueIdle(c, o.minReconciles ?? 0);
      if (q !== false && (await op.isReady())) idleSince ??= now;
      else idleSince = undefined;
      // With queue metrics, idle since the queue emptied; without, since the last request.
      const since = q === undefined ? lastChange : idleSince;
      if (quietFor(since, idleSince, now) >= o.quietMs) return { idleAt: since ?? now, counters: c };
    }
    await sleep(o.pollMs ?? 100);
  }
  return undefined;
}
