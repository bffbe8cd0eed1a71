// Time series out of a sequence of /metrics scrapes: what the dashboard's PromQL computes
// (rate over a window, histogram quantiles, gauges), for drawing its panels from a benchmark run.
import type { Sample } from '../lib/prom.ts';

export interface Scrape { t: number; samples: Sample[] }
export interface Point { t: number; v: number }
export type SeriesMap = Map<string, Point[]>;

type Filter = (labels: Record<string, string>) => boolean;
const all: Filter = () => true;

function keyOf(labels: Record<string, string>, by: readonly string[]): string {
  return by.map((b) => labels[b] ?? '').join(' ') || 'value';
}

/** Sum of `name` per group at one scrape. */
function grouped(s: Scrape, name: string, filter: Filter, by: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const x of s.samples) {
    if (x.name !== name || !filter(x.labels)) continue;
    const k = keyOf(x.labels, by);
    out.set(k, (out.get(k) ?? 0) + x.value);
  }
  return out;
}

function push(m: SeriesMap, k: string, p: Point): void {
  const list = m.get(k) ?? [];
  list.push(p);
  m.set(k, list);
}

/** A gauge per group (sum within the group). */
export function gauge(scrapes: readonly Scrape[], name: string, o: { filter?: Filter; by?: readonly string[]; scale?: number } = {}): SeriesMap {
  const out: SeriesMap = new Map();
  for (const s of scrapes) for (const [k, v] of grouped(s, name, o.filter ?? all, o.by ?? [])) push(out, k, { t: s.t, v: v * (o.scale ?? 1) });
  return out;
}

interface RateOptions { filter?: Filter; by?: readonly string[]; windowS?: number; scale?: number }

/** The earliest scrape within `w` ms before scrape `i`. */
function windowStart(scrapes: readonly Scrape[], i: number, w: number): Scrape | undefined {
  const now = scrapes[i]?.t ?? 0;
  let j = i - 1;
  while (j > 0 && (scrapes[j - 1]?.t ?? 0) >= now - w) j--;
  return scrapes[j];
}

/** The per-second increase of a counter per group, over `windowS` seconds (PromQL's rate()). */
export function rate(scrapes: readonly Scrape[], name: string, o: RateOptions = {}): SeriesMap {
  const out: SeriesMap = new Map();
  const filter = o.filter ?? all;
  const by = o.by ?? [];
  for (let i = 1; i < scrapes.length; i++) {
    const now = scrapes[i];
    const then = windowStart(scrapes, i, (o.windowS ?? 5) * 1000);
    if (now === undefined || then === undefined || now.t === then.t) continue;
    const a = grouped(then, name, filter, by);
    const seconds = (now.t - then.t) / 1000;
    for (const [k, v] of grouped(now, name, filter, by)) push(out, k, { t: now.t, v: (Math.max(0, v - (a.get(k) ?? 0)) / seconds) * (o.scale ?? 1) });
  }
  return out;
}

type Buckets = { le: number; v: number }[];

/** The bucket rates per group and time. */
function bucketsByTime(rates: SeriesMap): Map<string, Map<number, Buckets>> {
  const byT = new Map<string, Map<number, Buckets>>();
  for (const [k, points] of rates) {
    const parts = k.split(' ');
    const leText = parts.pop() ?? '';
    const le = leText === '+Inf' ? Infinity : Number(leText);
    const group = parts.join(' ') || 'value';
    const g = byT.get(group) ?? new Map<number, Buckets>();
    for (const p of points) g.set(p.t, [...(g.get(p.t) ?? []), { le, v: p.v }]);
    byT.set(group, g);
  }
  return byT;
}

/** The q-quantile of cumulative buckets, linear within the bucket (Prometheus's histogram_quantile). */
function interpolate(buckets: Buckets, q: number): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.v ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevV = 0;
  for (const b of sorted) {
    if (b.v >= rank) {
      const le = Number.isFinite(b.le) ? b.le : prevLe;
      return b.v === prevV ? le : prevLe + ((le - prevLe) * (rank - prevV)) / (b.v - prevV);
    }
    prevLe = b.le;
    prevV = b.v;
  }
  return undefined;
}

/** histogram_quantile(q, rate(<name>_bucket[window])) per group. */
export function quantile(scrapes: readonly Scrape[], name: string, q: number, o: RateOptions = {}): SeriesMap {
  const rates = rate(scrapes, `${name}_bucket`, { ...o, scale: 1, by: [...(o.by ?? []), 'le'] });
  const out: SeriesMap = new Map();
  for (const [group, times] of bucketsByTime(rates)) {
    for (const [t, buckets] of [...times].sort((a, b) => a[0] - b[0])) {
      const v = interpolate(buckets, q);
      if (v !== undefined) push(out, group, { t, v: v * (o.scale ?? 1) });
    }
  }
  return out;
}
