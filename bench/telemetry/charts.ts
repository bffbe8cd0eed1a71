// The dashboard's panels as one SVG: a grid of line charts (time on x, one line per series), in
// the layout of deploy/helm/listener-operator/dashboards/listener-operator.json.
import type { SeriesMap } from './series.ts';

export interface ChartPanel { title: string; unit: string; series: SeriesMap }

const COLS = 3;
const PW = 460;
const PH = 240;
const M = { l: 58, r: 14, t: 30, b: 58 };
const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number, unit: string): string {
  const n = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : Number(v.toPrecision(2)).toString();
  return unit === '' ? n : `${n} ${unit}`;
}

function panel(p: ChartPanel, x0: number, y0: number, t0: number, t1: number): string {
  const out: string[] = [
    `<rect x="${x0 + 4}" y="${y0 + 4}" width="${PW - 8}" height="${PH - 8}" fill="#ffffff" stroke="#d0d4da" rx="4"/>`,
    `<text x="${x0 + 14}" y="${y0 + 22}" font-size="13" font-weight="bold" fill="#222">${esc(p.title)}</text>`,
  ];
  const series = [...p.series].filter(([, pts]) => pts.length > 0).slice(0, COLORS.length);
  const w = PW - M.l - M.r;
  const h = PH - M.t - M.b;
  const max = niceMax(Math.max(0, ...series.flatMap(([, pts]) => pts.map((q) => q.v))));
  const x = (t: number): number => x0 + M.l + ((t - t0) / Math.max(1, t1 - t0)) * w;
  const y = (v: number): number => y0 + M.t + h - (v / max) * h;
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    out.push(`<line x1="${x0 + M.l}" x2="${x0 + M.l + w}" y1="${y(v)}" y2="${y(v)}" stroke="#eceff3"/>`);
    out.push(`<text x="${x0 + M.l - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end" fill="#555">${esc(fmt(v, p.unit))}</text>`);
  }
  for (let s = 0; s <= t1 - t0; s += 20_000) {
    out.push(`<text x="${x(t0 + s)}" y="${y0 + M.t + h + 14}" font-size="10" text-anchor="middle" fill="#555">${s / 1000} s</text>`);
  }
  if (series.length === 0) out.push(`<text x="${x0 + M.l + 10}" y="${y0 + M.t + h / 2}" font-size="12" fill="#888">no data</text>`);
  series.forEach(([label, pts], i) => {
    const d = pts.map((q, j) => `${j === 0 ? 'M' : 'L'}${x(q.t).toFixed(1)},${y(q.v).toFixed(1)}`).join(' ');
    const color = COLORS[i] ?? '#000';
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
    const lx = x0 + M.l + (i % 3) * 130;
    const ly = y0 + PH - 30 + Math.floor(i / 3) * 13;
    out.push(`<rect x="${lx}" y="${ly - 8}" width="10" height="3" fill="${color}"/><text x="${lx + 14}" y="${ly - 4}" font-size="10" fill="#333">${esc(label.length > 20 ? `${label.slice(0, 19)}…` : label)}</text>`);
  });
  return out.join('\n');
}

/** The whole grid, titled, with a note of what load produced it. */
export function dashboardSvg(title: string, note: string, panels: ChartPanel[], t0: number, t1: number): string {
  const rows = Math.ceil(panels.length / COLS);
  const W = COLS * PW;
  const H = rows * PH + 56;
  const body = panels.map((p, i) => panel(p, (i % COLS) * PW, 56 + Math.floor(i / COLS) * PH, t0, t1)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, sans-serif">
<rect width="${W}" height="${H}" fill="#f4f5f7"/>
<text x="14" y="26" font-size="18" font-weight="bold" fill="#222">${esc(title)}</text>
<text x="14" y="46" font-size="12" fill="#555">${esc(note)}</text>
${body}
</svg>
`;
}
