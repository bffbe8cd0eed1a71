// Prometheus text exposition format (what prom-client and kube-apiserver serve): parsed into
// samples, with small helpers to sum the samples of one metric under a label filter.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(LABEL)) {
      labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1] ?? '', labels, value: Number(m[4]) });
  }
  return out;
}

/** Sum of every sample of `name` whose labels pass `filter`; undefined when the metric is absent. */
export function sumOf(samples: readonly Sample[], name: string, filter: (labels: Record<string, string>) => boolean = () => true): number | undefined {
  let found = false;
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name || !filter(s.labels)) continue;
    found = true;
    sum += s.value;
  }
  return found ? sum : undefined;
}

/** Sum of `name` grouped by the value of one label. */
export function byLabel(samples: readonly Sample[], name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== name) continue;
    const k = s.labels[label] ?? '';
    out[k] = (out[k] ?? 0) + s.value;
  }
  return out;
}
