// A self-contained SVG of the latency distributions of one run: one panel per scenario, a
// histogram on a logarithmic time axis (bars stacked by class), with p50, p90 and p99 marked.
import { percentile } from './stats.ts';

export interface Series { label: string; samples: readonly number[] }
export interface Panel { title: string; series: Series[] }

const W = 960;
const PANEL_H = 270;
const M = { l: 64, r: 24, t: 44, b: 46 };
const BINS = 48;
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2'];
const MARKS: [number, string][] = [[50, '#2ca02c'], [90, '#ff7f0e'], [99, '#d62728']];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmtTick(ms: number): string {
  if (ms >= 1000) return `${ms / 1000} s`;
  return `${ms} ms`;
}

function ticks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let d = Math.floor(Math.log10(lo)); d <= Math.ceil(Math.log10(hi)); d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(Number(v.toPrecision(3)));
    }
  }
  return out;
}

function panel(p: Panel, y0: number): string {
  const all = p.series.flatMap((s) => s.samples).filter((x) => x > 0).sort((a, b) => a - b);
  const out: string[] = [`<text x="${M.l}" y="${y0 + 24}" font-size="15" font-weight="bold">${esc(p.title)}</text>`];
  if (all.length === 0) {
    out.push(`<text x="${M.l}" y="${y0 + 80}" font-size="13" fill="#666">no samples</text>`);
    return out.join('\n');
  }
  const lo = 10 ** Math.floor(Math.log10(all[0] ?? 1));
  let hi = 10 ** Math.ceil(Math.log10(all[all.length - 1] ?? 1));
  if (hi <= lo) hi = lo * 10;
  const [a, b] = [Math.log10(lo), Math.log10(hi)];
  const pw = W - M.l - M.r;
  const ph = PANEL_H - M.t - M.b;
  const x = (v: number): number => M.l + ((Math.log10(Math.max(v, lo)) - a) / (b - a)) * pw;
  const binOf = (v: number): number => Math.min(BINS - 1, Math.max(0, Math.floor(((Math.log10(Math.max(v, lo)) - a) / (b - a)) * BINS)));
  const counts = p.series.map((s) => {
    const c = new Array<number>(BINS).fill(0);
    for (const v of s.samples) if (v > 0) c[binOf(v)] = (c[binOf(v)] ?? 0) + 1;
    return c;
  });
  const stacked = Array.from({ length: BINS }, (_v, i) => counts.reduce((s, c) => s + (c[i] ?? 0), 0));
  const top = Math.max(1, ...stacked);
  const yBase = y0 + M.t + ph;
  const yOf = (n: number): number => yBase - (n / top) * ph;
  // axes and grid
  out.push(`<line x1="${M.l}" y1="${yBase}" x2="${M.l + pw}" y2="${yBase}" stroke="#333"/>`);
  out.push(`<line x1="${M.l}" y1="${y0 + M.t}" x2="${M.l}" y2="${yBase}" stroke="#333"/>`);
  for (const t of ticks(lo, hi)) {
    const tx = x(t).toFixed(1);
    out.push(`<line x1="${tx}" y1="${y0 + M.t}" x2="${tx}" y2="${yBase}" stroke="#eee"/>`);
    out.push(`<text x="${tx}" y="${yBase + 16}" font-size="11" text-anchor="middle">${fmtTick(t)}</text>`);
  }
  for (const f of [0.5, 1]) {
    const n = Math.round(top * f);
    out.push(`<text x="${M.l - 6}" y="${yOf(n) + 4}" font-size="11" text-anchor="end">${n}</text>`);
  }
  out.push(`<text x="${M.l + pw / 2}" y="${yBase + 34}" font-size="12" text-anchor="middle">latency (log scale)</text>`);
  out.push(`<text x="16" y="${y0 + M.t + ph / 2}" font-size="12" transform="rotate(-90 16 ${y0 + M.t + ph / 2})" text-anchor="middle">count</text>`);
  // bars
  for (let i = 0; i < BINS; i++) {
    const x1 = M.l + (i / BINS) * pw;
    const w = pw / BINS - 1;
    let acc = 0;
    counts.forEach((c, si) => {
      const n = c[i] ?? 0;
      if (n === 0) return;
      const yTop = yOf(acc + n);
      out.push(`<rect x="${x1.toFixed(1)}" y="${yTop.toFixed(1)}" width="${w.toFixed(1)}" height="${(yOf(acc) - yTop).toFixed(1)}" fill="${COLORS[si % COLORS.length] ?? '#888'}"><title>${esc(p.series[si]?.label ?? '')}: ${n}</title></rect>`);
      acc += n;
    });
  }
  // percentiles: dashed lines tagged p50/p90/p99, values in the panel header
  const values = MARKS.map(([q, color]) => ({ q, color, v: percentile(all, q) }));
  values.forEach(({ q, color, v }, k) => {
    const px = x(v).toFixed(1);
    out.push(`<line x1="${px}" y1="${y0 + M.t}" x2="${px}" y2="${yBase}" stroke="${color}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${px}" y="${y0 + M.t + 10 + k * 12}" font-size="10" fill="${color}" dx="3">p${q}</text>`);
  });
  out.push(`<text x="${W - M.r}" y="${y0 + 24}" font-size="12" text-anchor="end">${values.map(({ q, color, v }, k) => `<tspan fill="${color}"${k > 0 ? ' dx="12"' : ''}>p${q} ${v < 100 ? v.toFixed(1) : v.toFixed(0)} ms</tspan>`).join('')}</text>`);
  // legend
  p.series.forEach((s, si) => {
    const lx = M.l + 10;
    const ly = y0 + M.t + 6 + si * 16;
    out.push(`<rect x="${lx}" y="${ly}" width="10" height="10" fill="${COLORS[si % COLORS.length] ?? '#888'}"/>`);
    out.push(`<text x="${lx + 15}" y="${ly + 9}" font-size="11">${esc(s.label)} (${s.samples.length})</text>`);
  });
  return out.join('\n');
}

export function latencySvg(title: string, panels: Panel[]): string {
  const h = 40 + panels.length * PANEL_H;
  const body = panels.map((p, i) => panel(p, 40 + i * PANEL_H)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${M.l}" y="26" font-size="17" font-weight="bold">${esc(title)}</text>
${body}
</svg>
`;
}
