// The fault-injection report: one Markdown table row per fault, then each fault's own figures.
import type { FaultResult } from '../faults/types.ts';

const seconds = (ms: number | undefined): string => (ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`);

export function renderTable(results: readonly FaultResult[]): string {
  const lines = [
    '| fault | Listeners converged | Services lost / duplicated | orphaned | volumes consistent | time to converge | verdict |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const h = r.health;
    const v = r.volumes;
    lines.push(`| ${r.fault} | ${h === undefined ? '' : `${h.converged} / ${r.expected ?? h.listeners}`} | ${h === undefined ? '' : `${h.lost} / ${h.duplicated}`} | ${h?.orphaned ?? ''} | ${v === undefined ? '' : `${v.consistent} / ${v.total}`} | ${seconds(r.convergeMs)} | ${r.problems.length === 0 ? 'clean' : 'PROBLEMS'} |`);
  }
  lines.push('');
  for (const r of results) {
    lines.push(`- **${r.fault}**: ${r.what}.`);
    const figures = Object.entries(r.figures).map(([k, v]) => `${k}: ${String(v)}`);
    if (r.volumes !== undefined) figures.push(`leftover entries of interrupted calls: ${r.volumes.leftovers}`);
    if (figures.length > 0) lines.push(`  ${figures.join('; ')}.`);
    for (const p of r.problems) lines.push(`  PROBLEM: ${p}`);
  }
  return `${lines.join('\n')}\n`;
}
