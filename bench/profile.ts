// Reads a V8 CPU profile (node --cpu-prof, as `npm run bench -- --cpu-prof` writes them) and says
// where the time went: self time by package/module, the top functions by self and total time, and
// a flame graph (SVG, root at the top; hover a frame for its name and time).
//
//   node bench/profile.ts <file.cpuprofile> [--svg out.svg] [--top 20]
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const REPO = path.resolve(import.meta.dirname, '..');

function where(url: string): string {
  if (url === '') return '';
  if (url.startsWith('node:')) return url;
  const p = url.replace(/^file:\/\//, '');
  const nm = p.lastIndexOf('/node_modules/');
  if (nm >= 0) return p.slice(nm + '/node_modules/'.length);
  return path.relative(REPO, p);
}

/** What a frame belongs to: V8 states, node internals, an npm package, or our own file. */
export function category(f: CallFrame): string {
  if (f.url === '') return f.functionName.startsWith('(') ? f.functionName : '(native)';
  if (f.url.startsWith('node:')) return 'node internals';
  const w = where(f.url);
  if (w.startsWith('..') || w.startsWith('/')) return w;
  if (!f.url.includes('/node_modules/')) return w.split('/').slice(0, 2).join('/');
  const parts = w.split('/');
  return (parts[0] ?? '').startsWith('@') ? `${parts[0] ?? ''}/${parts[1] ?? ''}` : (parts[0] ?? '');
}

function label(f: CallFrame): string {
  const name = f.functionName === '' ? '(anonymous)' : f.functionName;
  return f.url === '' ? name : `${name} ${where(f.url)}:${f.lineNumber + 1}`;
}

interface Analysis {
  totalMs: number;
  selfByCategory: Map<string, number>;
  selfByFunction: Map<string, number>;
  totalByFunction: Map<string, number>;
  tree: Frame;
}

interface Frame { name: string; category: string; ms: number; children: Map<string, Frame> }

function analyse(p: CpuProfile): Analysis {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfMs = new Map<number, number>();
  p.samples.forEach((id, i) => {
    const dt = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000;
    selfMs.set(id, (selfMs.get(id) ?? 0) + dt);
  });
  const a: Analysis = { totalMs: 0, selfByCategory: new Map(), selfByFunction: new Map(), totalByFunction: new Map(), tree: { name: 'all', category: '', ms: 0, children: new Map() } };
  const add = (m: Map<string, number>, k: string, v: number): void => { m.set(k, (m.get(k) ?? 0) + v); };
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    a.totalMs += ms;
    add(a.selfByCategory, category(node.callFrame), ms);
    add(a.selfByFunction, label(node.callFrame), ms);
    const stack: ProfileNode[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n !== undefined && n.callFrame.functionName !== '(root)') stack.push(n);
    }
    stack.reverse();
    const seen = new Set<string>();
    let frame = a.tree;
    frame.ms += ms;
    for (const n of stack) {
      const l = label(n.callFrame);
      if (!seen.has(l)) add(a.totalByFunction, l, ms);
      seen.add(l);
      let child = frame.children.get(l);
      if (child === undefined) frame.children.set(l, (child = { name: l, category: category(n.callFrame), ms: 0, children: new Map() }));
      child.ms += ms;
      frame = child;
    }
  }
  return a;
}

function top(m: Map<string, number>, n: number, totalMs: number): string[] {
  return [...m].sort((x, y) => y[1] - x[1]).slice(0, n).map(([k, v]) => `| ${(100 * v / totalMs).toFixed(1)}% | ${v.toFixed(0)} ms | \`${k.replace(/\|/g, '\\|')}\` |`);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function color(cat: string): string {
  let h = 0;
  for (const ch of cat) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  if (cat.startsWith('src/')) return `hsl(${200 + (h % 40)}, 60%, 65%)`;
  if (cat.startsWith('(')) return 'hsl(0, 0%, 75%)';
  if (cat === 'node internals') return `hsl(${30 + (h % 20)}, 70%, 65%)`;
  return `hsl(${80 + (h % 60)}, 50%, 60%)`;
}

function flameSvg(a: Analysis, title: string): string {
  const W = 1200;
  const H = 16;
  const rects: string[] = [];
  let depth = 0;
  const MAX_DEPTH = 60;
  // Idle time is left out, so the frames that did work fill the width.
  const idle = a.tree.children.get('(idle)')?.ms ?? 0;
  const scale = W / Math.max(1e-9, a.tree.ms - idle);
  const walk = (f: Frame, x: number, d: number): void => {
    if (d > MAX_DEPTH) return;
    depth = Math.max(depth, d);
    const w = (d === 0 ? f.ms - idle : f.ms) * scale;
    if (w < 0.5) return;
    const y = 30 + d * H;
    const text = w > 40 ? `<text x="${(x + 3).toFixed(1)}" y="${y + 11}" font-size="10">${esc(f.name.slice(0, Math.floor(w / 6)))}</text>` : '';
    rects.push(`<g><title>${esc(f.name)} — ${f.ms.toFixed(0)} ms (${(100 * f.ms * scale / W).toFixed(1)}% of busy time)</title><rect x="${x.toFixed(1)}" y="${y}" width="${Math.max(0.5, w - 0.5).toFixed(1)}" height="${H - 1}" fill="${color(f.category)}"/>${text}</g>`);
    let cx = x;
    for (const c of [...f.children.values()].sort((p, q) => (p.name < q.name ? -1 : 1))) {
      if (c.name === '(idle)') continue;
      walk(c, cx, d + 1);
      cx += c.ms * scale;
    }
  };
  walk(a.tree, 0, 0);
  const h = 40 + (depth + 1) * H;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" font-family="monospace">
<rect width="100%" height="100%" fill="white"/>
<text x="4" y="18" font-size="13" font-family="sans-serif">${esc(title)}</text>
${rects.join('\n')}
</svg>
`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { svg: { type: 'string' }, top: { type: 'string', default: '20' } } });
  const file = positionals[0];
  if (file === undefined) throw new Error('usage: node bench/profile.ts <file.cpuprofile> [--svg out.svg] [--top N]');
  const p = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const a = analyse(p);
  const n = Number(values.top);
  const busy = a.totalMs - (a.selfByCategory.get('(idle)') ?? 0);
  const out = [
    `# ${path.basename(file)}: ${(a.totalMs / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (not idle)`,
    '', '## Self time by package or module', '', '| share | self | where |', '|---:|---:|---|', ...top(a.selfByCategory, n, a.totalMs),
    '', '## Top functions by self time', '', '| share | self | function |', '|---:|---:|---|', ...top(a.selfByFunction, n, a.totalMs),
    '', '## Top functions by total time (including callees)', '', '| share | total | function |', '|---:|---:|---|', ...top(a.totalByFunction, n, a.totalMs),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  if (values.svg !== undefined) await writeFile(values.svg, flameSvg(a, `${path.basename(file)}: ${(busy / 1000).toFixed(1)} s busy of ${(a.totalMs / 1000).toFixed(1)} s sampled (idle left out; hover a frame)`));
}

await main();
