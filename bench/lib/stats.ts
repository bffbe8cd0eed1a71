// Latency statistics: nearest-rank percentiles over the samples of one scenario, and the min and
// median across runs (the tables in docs/benchmark.md).

export interface Summary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    count: s.length,
    min: s[0] ?? Number.NaN,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? Number.NaN,
    mean: s.length === 0 ? Number.NaN : sum / s.length,
  };
}

export function median(values: readonly number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function min(values: readonly number[]): number {
  const s = values.filter((v) => Number.isFinite(v));
  return s.length === 0 ? Number.NaN : Math.min(...s);
}

export function max(values: readonly number[]): number {
  const s = values.filter((v) => Number.isFinite(v));
  return s.length === 0 ? Number.NaN : Math.max(...s);
}

/** Milliseconds, rounded for tables: 0.85 → "0.85", 12.3 → "12.3", 1234.5 → "1235". */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

export function fmtNum(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '-';
}
