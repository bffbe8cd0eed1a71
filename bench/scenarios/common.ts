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

export function latencyResult(n: number, concurrency: number, r: LoopResult): LatencyResult {
  const byClass: Record<string, number[]> = {};
  r.latencies.forEach((l, i) => { (byClass[r.labels[i] ?? ''] ??= []).push(l); });
  const wall = r.latencies.length > 0 ? (r.lastEnd - r.firstStart) / 1000 : Number.NaN;
  return {
    n, concurrency,
    completed: r.latencies.length,
    failures: r.failures,
    firstErrors: r.firstErrors,
    hitDeadline: r.hitDeadline,
    wallSeconds: wall,
    throughputPerSec: r.latencies.length / wall,
    latencyMs: summarize(r.latencies),
    latencyMsByClass: Object.fromEntries(Object.entries(byClass).map(([k, v]) => [k, summarize(v)])),
    samples: r.latencies.map((x) => Math.round(x * 100) / 100),
    sampleLabels: r.labels,
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
