// Result shapes shared by the latency scenarios, and the request attribution of one window.
import { summarize, type Summary } from '../lib/stats.ts';
import { delta, sumVerbs, type Snapshot, type LoopResult } from '../lib/context.ts';
import { isControllerRead, isControllerWrite, minus, parseKey, toRecord, total, type Tally } from '../lib/requests.ts';

export interface LatencyResult {
  n: number;
  concurrency: number;
  completed: number;
  failures: number;
  firstErrors: string[];
  hitDeadline: boolean;
  wallSeconds: number;
  throughputPerSec: number;
  latencyMs: Summary;
  latencyMsByClass: Record<string, Summary>;
  /** Every latency (ms) and its class, for charts and later analysis. */
  samples: number[];
  sampleLabels: string[];
}

/** One scenario's latencies over one or more chunks; throughput counts only the chunks' own time. */
export function latencyResult(n: number, concurrency: number, loops: LoopResult[]): LatencyResult {
  const latencies = loops.flatMap((l) => l.latencies);
  const labels = loops.flatMap((l) => l.labels);
  const byClass: Record<string, number[]> = {};
  latencies.forEach((l, i) => { (byClass[labels[i] ?? ''] ??= []).push(l); });
  const wall = loops.reduce((s, l) => s + (l.latencies.length > 0 ? (l.lastEnd - l.firstStart) / 1000 : 0), 0);
  return {
    n, concurrency,
    completed: latencies.length,
    failures: loops.reduce((s, l) => s + l.failures, 0),
    firstErrors: loops.flatMap((l) => l.firstErrors).slice(0, 5),
    hitDeadline: loops.some((l) => l.hitDeadline),
    wallSeconds: wall,
    throughputPerSec: latencies.length / wall,
    latencyMs: summarize(latencies),
    latencyMsByClass: Object.fromEntries(Object.entries(byClass).map(([k, v]) => [k, summarize(v)])),
    samples: latencies.map((x) => Math.round(x * 100) / 100),
    sampleLabels: labels,
  };
}

export interface RequestAccount {
  /** The operator's own count (its /metrics), by verb; undefined if it exports none. */
  operatorByVerb: Record<string, number> | undefined;
  operatorWrites: number | undefined;
  operatorReads: number | undefined;
  operatorWatches: number | undefined;
  /** API server delta minus our clients', on the resources only the operator writes. */
  apiWrites: number;
  /** API server GET+LIST delta minus our clients', on the resources the controller reads. */
  apiReads: number;
  /** The attributed server-side counts by key. */
  apiByKey: Record<string, number>;
  /** Do both sides agree on reads and on writes other than POST (Events, which others post too)? */
  crossCheck: 'agree' | 'differ' | 'no operator metrics';
  cpuSeconds: { operator: number | undefined; apiserver: number; bench: number };
  machineBusy: number;
  seconds: number;
}

export function accountController(a: Snapshot, b: Snapshot, extraOwn: Tally[] = []): RequestAccount {
  const d = delta(a, b);
  const attributed = minus(d.api, d.admin, d.cloud, ...extraOwn);
  const apiWrites = total(attributed, isControllerWrite);
  const apiReads = total(attributed, isControllerRead);
  const ow = sumVerbs(d.operatorRequests, 'writes');
  const or = sumVerbs(d.operatorRequests, 'reads');
  // Events (the operator's only POSTs here) are left out of the comparison: the
  // controller-manager posts some too.
  const opNonCreate = ow === undefined ? undefined : ow - (d.operatorRequests?.create ?? 0);
  const apiNonCreate = total(attributed, (k) => isControllerWrite(k) && k.verb !== 'POST');
  return {
    operatorByVerb: d.operatorRequests === undefined ? undefined : Object.fromEntries(Object.entries(d.operatorRequests).filter(([, v]) => v !== 0)),
    operatorWrites: ow,
    operatorReads: or,
    operatorWatches: sumVerbs(d.operatorRequests, 'watches'),
    apiWrites,
    apiReads,
    apiByKey: toRecord(new Map([...attributed].filter(([k]) => { const key = parseKey(k); return isControllerWrite(key) || isControllerRead(key); }))),
    crossCheck: opNonCreate === undefined ? 'no operator metrics' : opNonCreate === apiNonCreate && or === apiReads ? 'agree' : 'differ',
    cpuSeconds: d.cpuSeconds,
    machineBusy: d.machineBusy,
    seconds: d.seconds,
  };
}

function addOpt(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a + b;
}

function addRecords(a: Record<string, number> | undefined, b: Record<string, number> | undefined): Record<string, number> | undefined {
  if (a === undefined || b === undefined) return undefined;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** The accounts of several windows (the chunks of one scenario) as one; machineBusy time-weighted. */
export function sumAccounts(xs: RequestAccount[]): RequestAccount {
  const [first, ...rest] = xs;
  if (first === undefined) throw new Error('no windows');
  return rest.reduce((a, b) => {
    const seconds = a.seconds + b.seconds;
    return {
      operatorByVerb: addRecords(a.operatorByVerb, b.operatorByVerb),
      operatorWrites: addOpt(a.operatorWrites, b.operatorWrites),
      operatorReads: addOpt(a.operatorReads, b.operatorReads),
      operatorWatches: addOpt(a.operatorWatches, b.operatorWatches),
      apiWrites: a.apiWrites + b.apiWrites,
      apiReads: a.apiReads + b.apiReads,
      apiByKey: addRecords(a.apiByKey, b.apiByKey) ?? {},
      crossCheck: a.crossCheck === 'agree' && b.crossCheck === 'agree' ? 'agree' : a.crossCheck === 'no operator metrics' ? a.crossCheck : 'differ',
      cpuSeconds: { operator: addOpt(a.cpuSeconds.operator, b.cpuSeconds.operator), apiserver: a.cpuSeconds.apiserver + b.cpuSeconds.apiserver, bench: a.cpuSeconds.bench + b.cpuSeconds.bench },
      machineBusy: seconds > 0 ? (a.machineBusy * a.seconds + b.machineBusy * b.seconds) / seconds : Number.NaN,
      seconds,
    };
  }, first);
}
