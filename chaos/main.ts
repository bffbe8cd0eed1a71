// `npm run chaos`: the fault-injection run. Brings up a control plane of its own on loopback,
// runs every fault (chaos/faults/*) against the operator as users run it (child processes of
// `node src/main.ts`), and reports for each: Listeners converged of total, Services lost,
// duplicated and orphaned, volumes whose files are not consistent, and the time to converge.
// Bounded: every fault has a time limit, every load loop a count and a deadline.
//
//   npm run chaos                                   # every fault
//   npm run chaos -- --faults controller-sigkill,full-fs --listeners 100
//
// Writes chaos/results/<time>/{result.json,table.md}; exits 1 when any fault broke what must hold.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { apiServerRestart, controllerKills, etcdRestart, leaderFailover, watchExpiry } from './faults/controller.ts';
import { concurrentPublishes, fullFilesystem, nodePluginKill } from './faults/node.ts';
import { apiStall, leaderStall } from './faults/stalls.ts';
import type { Fault, FaultOptions, FaultResult } from './faults/types.ts';
import { renderTable } from './lib/report.ts';
import { startWorld } from './lib/world.ts';

export const FAULTS: Readonly<Record<string, Fault>> = {
  'apiserver-restart': apiServerRestart,
  'etcd-restart': etcdRestart,
  'watch-expiry': watchExpiry,
  'controller-sigkill': controllerKills,
  'leader-failover': leaderFailover,
  'leader-stall': leaderStall,
  'node-plugin-kill': nodePluginKill,
  'concurrent-publish': concurrentPublishes,
  'full-fs': fullFilesystem,
  'api-stall': apiStall,
};

const FAULT_LIMIT_MS = 10 * 60_000;

const { values } = parseArgs({
  options: {
    faults: { type: 'string', default: Object.keys(FAULTS).join(',') },
    listeners: { type: 'string', default: '150' },
    volumes: { type: 'string', default: '12' },
    out: { type: 'string', default: path.join(import.meta.dirname, 'results') },
  },
});
const names = values.faults.split(',').map((f) => f.trim()).filter((f) => f !== '');
const unknown = names.filter((f) => !Object.hasOwn(FAULTS, f));
if (unknown.length > 0) {
  process.stderr.write(`unknown fault(s) ${unknown.join(', ')}; known: ${Object.keys(FAULTS).join(', ')}\n`);
  process.exit(2);
}
const opts: FaultOptions = { listeners: Number(values.listeners), volumes: Number(values.volumes), convergeTimeoutMs: 300_000, spreadMs: 9000 };
const log = (l: string): void => { process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${l}\n`); };

const world = await startWorld(log);
const results: FaultResult[] = [];
try {
  for (const name of names) {
    const fault = FAULTS[name];
    if (fault === undefined) continue;
    log(`${name}: starting`);
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<FaultResult>((resolve) => {
      timer = setTimeout(() => { resolve({ fault: name, what: 'did not finish', figures: {}, problems: [`did not finish within ${FAULT_LIMIT_MS / 60_000} min`] }); }, FAULT_LIMIT_MS);
    });
    const r = await Promise.race([fault(world, opts).catch((e: unknown): FaultResult => ({ fault: name, what: 'failed to run', figures: {}, problems: [e instanceof Error ? e.message : String(e)] })), limit]);
    clearTimeout(timer);
    results.push(r);
    log(`${name}: ${r.problems.length === 0 ? 'clean' : `PROBLEMS: ${r.problems.join('; ')}`} (${Math.round((Date.now() - t0) / 1000)} s)`);
  }
} finally {
  await world.stop();
}

const table = renderTable(results);
const dir = path.join(values.out, new Date().toISOString().replace(/[:.]/g, '-'));
await mkdir(dir, { recursive: true });
await writeFile(path.join(dir, 'result.json'), JSON.stringify({ options: opts, results }, null, 2));
await writeFile(path.join(dir, 'table.md'), table);
process.stdout.write(`${table}\nresults in ${dir}\n`);
process.exit(results.some((r) => r.problems.length > 0) ? 1 : 0);
