// Combines the result.json files of several runs into one Markdown table: each run's value, then
// the min and the median per measure (docs/benchmark.md is written from this).
//
//   node bench/summarize.ts bench/results/n1000-*/result.json
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchResult } from './lib/report.ts';
import { fmtMs, median, min } from './lib/stats.ts';

interface Measure { name: string; get: (r: BenchResult) => number | undefined; fmt: (v: number) => string }

const MiB = 1024 * 1024;
const ms = (v: number): string => fmtMs(v);
const num = (d: number) => (v: number): string => v.toFixed(d);

const MEASURES: Measure[] = [
  { name: 'create: throughput (Listeners/s)', get: (r) => r.create?.throughputPerSec, fmt: num(1) },
  { name: 'raw limit: throughput (Listeners/s)', get: (r) => r.raw?.throughputPerSec, fmt: num(1) },
  { name: 'create as % of raw (target ≥ 70%)', get: (r) => (r.create !== undefined && r.raw !== undefined ? (100 * r.create.throughputPerSec) / r.raw.throughputPerSec : undefined), fmt: num(1) },
  { name: 'create: p50 (ms)', get: (r) => r.create?.latencyMs.p50, fmt: ms },
  { name: 'create: p90 (ms)', get: (r) => r.create?.latencyMs.p90, fmt: ms },
  { name: 'create: p99 (ms) (target ≤ 2000 at N = 1000)', get: (r) => r.create?.latencyMs.p99, fmt: ms },
  { name: 'create: max (ms)', get: (r) => r.create?.latencyMs.max, fmt: ms },
  { name: 'raw limit: p50 (ms)', get: (r) => r.raw?.latencyMs.p50, fmt: ms },
  { name: 'raw limit: p99 (ms)', get: (r) => r.raw?.latencyMs.p99, fmt: ms },
  { name: 'create: operator writes per Listener', get: (r) => r.create?.writesPerListener, fmt: num(2) },
  { name: 'create: operator reads per Listener', get: (r) => r.create?.readsPerListener, fmt: num(2) },
  { name: 'raw limit: writes per Listener (incl. create, LB status)', get: (r) => r.raw?.writesPerListener, fmt: num(2) },
  { name: 'create: reconciles per Listener', get: (r) => (r.create?.reconciles === undefined ? undefined : r.create.reconciles / Math.max(1, r.create.completed)), fmt: num(2) },
  { name: 'create: operator CPU (s)', get: (r) => r.create?.requests.cpuSeconds.operator, fmt: num(1) },
  { name: 'create: kube-apiserver CPU (s)', get: (r) => r.create?.requests.cpuSeconds.apiserver, fmt: num(1) },
  { name: 'raw limit: kube-apiserver CPU (s)', get: (r) => r.raw?.cpuSeconds.apiserver, fmt: num(1) },
  { name: 'create: machine busy (%)', get: (r) => (r.create === undefined ? undefined : 100 * r.create.requests.machineBusy), fmt: num(0) },
  { name: 'restart: start → ready (s)', get: (r) => (r.restart?.readyMs === undefined ? undefined : r.restart.readyMs / 1000), fmt: num(2) },
  { name: 'restart: start → idle (s) (target ≤ 30 at N = 10000)', get: (r) => (r.restart?.idleMs === undefined ? undefined : r.restart.idleMs / 1000), fmt: num(2) },
  { name: 'restart: writes (target 0)', get: (r) => r.restart?.requests.operatorWrites ?? r.restart?.requests.apiWrites, fmt: num(0) },
  { name: 'restart: reads (GET + LIST)', get: (r) => r.restart?.requests.operatorReads ?? r.restart?.requests.apiReads, fmt: num(0) },
  { name: 'restart: RSS after idle (MiB)', get: (r) => (r.restart?.rssBytes === undefined ? undefined : r.restart.rssBytes / MiB), fmt: num(1) },
  { name: 'csi-publish: p50 (ms) (target ≤ 30)', get: (r) => (r.csiPublish?.available === true ? r.csiPublish.latencyMs.p50 : undefined), fmt: ms },
  { name: 'csi-publish: p99 (ms)', get: (r) => (r.csiPublish?.available === true ? r.csiPublish.latencyMs.p99 : undefined), fmt: ms },
  { name: 'csi-publish: API requests per call', get: (r) => (r.csiPublish?.available === true ? r.csiPublish.apiRequestsPerCall : undefined), fmt: num(2) },
  { name: 'memory: RSS after create (MiB) (target ≤ 150 at N = 10000)', get: (r) => (r.memory?.rssBytes === undefined ? undefined : r.memory.rssBytes / MiB), fmt: num(1) },
  { name: 'memory: heap used after create (MiB)', get: (r) => (r.memory?.heapUsedBytes === undefined ? undefined : r.memory.heapUsedBytes / MiB), fmt: num(1) },
  { name: 'memory: peak RSS (MiB)', get: (r) => (r.memory?.peakRssBytes === undefined ? undefined : r.memory.peakRssBytes / MiB), fmt: num(1) },
];

async function main(): Promise<void> {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error('usage: node bench/summarize.ts <result.json>...');
  const runs = await Promise.all(files.map(async (f) => ({ name: path.basename(path.dirname(f)), r: JSON.parse(await readFile(f, 'utf8')) as BenchResult })));
  const head = `| measure | ${runs.map((x) => x.name).join(' | ')} | min | median |`;
  const sep = `|---|${runs.map(() => '---:').join('|')}|---:|---:|`;
  const lines = MEASURES.map((m) => {
    const vs = runs.map((x) => m.get(x.r));
    const finite = vs.filter((v): v is number => v !== undefined && Number.isFinite(v));
    const show = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '-' : m.fmt(v));
    return `| ${m.name} | ${vs.map(show).join(' | ')} | ${show(finite.length > 0 ? min(finite) : undefined)} | ${show(finite.length > 0 ? median(finite) : undefined)} |`;
  });
  const csiNa = runs.map((x) => x.r.csiPublish).find((c) => c !== undefined && !c.available);
  const notes = csiNa !== undefined && !csiNa.available ? [`\ncsi-publish not available in some runs: ${csiNa.reason}`] : [];
  const targets = runs.map((x) => `- ${x.name}: ${x.r.targets.map((t) => `${t.id} **${t.status}** (${t.value})`).join(', ')}`);
  process.stdout.write(`${[head, sep, ...lines, ...notes, '', 'Targets per run:', '', ...targets].join('\n')}\n`);
}

await main();
