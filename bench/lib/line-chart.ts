// A self-contained SVG line chart (x: a count, y: a measure), one or more series, with a fitted
// straight line per series when asked (least squares): the scale run's memory against N.

export interface Point { x: number; y: number }
export interface LineSeries { label: string; points: readonly Point[]; fit?: boolean }

const W = 960;
const H = 420;
const M = { l: 72, r: 24, t: 48, b: 56 };
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Least squares y = a + b·x; undefined with fewer than two distinct x. */
export function linearFit(points: readonly Point[]): { a: number; b: number } | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  if (sxx === 0) return undefined;
  const b = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
  return { a: my - b * mx, b };
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function lineChart(title: string, xLabel: string, yLabel: string, series: readonly LineSeries[]): string {
  const all = series.flatMap((s) => s.points);
  const xMax = niceMax(Math.max(1, ...all.map((p) => p.x)));
  const yMax = niceMax(Math.max(1, ...all.map((p) => p.y)));
  const px = (x: number): number => M.l + (x / xMax) * (W - M.l - M.r);
  const py = (y: number): number => H - M.b - (y / yMax) * (H - M.t - M.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.l}" y="26" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const xv = (xMax * i) / 5;
    const yv = (yMax * i) / 5;
    out.push(`<line x1="${px(xv)}" y1="${H - M.b}" x2="${px(xv)}" y2="${M.t}" stroke="#eee"/><text x="${px(xv)}" y="${H - M.b + 16}" text-anchor="middle">${Number(xv.toPrecision(3))}</text>`);
    out.push(`<line x1="${M.l}" y1="${py(yv)}" x2="${W - M.r}" y2="${py(yv)}" stroke="#eee"/><text x="${M.l - 6}" y="${py(yv) + 4}" text-anchor="end">${Number(yv.toPrecision(3))}</text>`);
  }
  out.push(`<text x="${(M.l + W - M.r) / 2}" y="${H - 14}" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text x="16" y="${(M.t + H - M.b) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(M.t + H - M.b) / 2})">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] ?? '#000';
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (pts.length > 0) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="2.5" fill="${color}"/>`);
    const fit = s.fit === true ? linearFit(pts) : undefined;
    const legend = fit === undefined ? s.label : `${s.label}: ${fit.a.toFixed(1)} + ${(fit.b * 1000).toFixed(2)}·N/1000`;
    if (fit !== undefined) out.push(`<line x1="${px(0)}" y1="${py(fit.a)}" x2="${px(xMax)}" y2="${py(fit.a + fit.b * xMax)}" stroke="${color}" stroke-dasharray="5,4"/>`);
    out.push(`<rect x="${M.l + 12}" y="${M.t + 8 + i * 18}" width="12" height="12" fill="${color}"/><text x="${M.l + 30}" y="${M.t + 18 + i * 18}">${esc(legend)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
