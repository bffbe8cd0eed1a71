// Scenario "create": N Listeners over the three classes, created by `concurrency` closed-loop
// workers; each waits until the watch shows its Listener's status complete, then creates the next.
// Latency is create request sent → status observed; throughput is completions per second.
import type { OperatorProcess } from '../lib/process.ts';
import { closedLoop, snapshot, waitIdle, type BenchContext } from '../lib/context.ts';
import { BENCH_NS, classOf, listenerBody, listenerName } from '../lib/fixtures.ts';
import { LISTENERS, at } from '../../src/k8s/resources.ts';
import type { CloudLoop } from '../lib/watchers.ts';
import { accountController, latencyResult, type LatencyResult, type RequestAccount } from './common.ts';

export interface CreateResult extends LatencyResult {
  requests: RequestAccount;
  writesPerListener: number | undefined;
  readsPerListener: number | undefined;
  reconciles: number | undefined;
  cloud: { patched: number; failed: number };
  /** From the last Listener observed ready until the operator's queue was idle. */
  settleMs: number | undefined;
}

export const ITEM_TIMEOUT_MS = 60_000;

export function deadlineFor(n: number): number {
  return 120_000 + n * 60;
}

export async function runCreate(ctx: BenchContext, op: OperatorProcess, cloud: CloudLoop): Promise<CreateResult> {
  const n = ctx.opts.listeners;
  const before = await snapshot(ctx, op);
  const reconcilesBefore = before.operator?.reconciles;
  const patchedBefore = cloud.patched;
  ctx.log(`create: ${n} Listeners, ${ctx.opts.concurrency} closed-loop workers`);
  let done = 0;
  const progress = setInterval(() => { ctx.log(`create: ${done}/${n} ready`); }, 10_000);
  const loop = await closedLoop(n, ctx.opts.concurrency, deadlineFor(n), async (i) => {
    const key = `${BENCH_NS}/${listenerName(i)}`;
    const ready = ctx.tracker.expect(key, ITEM_TIMEOUT_MS);
    const start = performance.now();
    try {
      await ctx.admin.create(at(LISTENERS, BENCH_NS), listenerBody(BENCH_NS, i));
    } catch (e) {
      ready.catch(() => undefined);
      throw e;
    }
    const end = await ready;
    done++;
    return { start, end, label: classOf(i) };
  }).finally(() => { clearInterval(progress); });
  const idle = await waitIdle(op, { quietMs: 1000, timeoutMs: 60_000 });
  const after = await snapshot(ctx, op);
  const result = latencyResult(n, ctx.opts.concurrency, loop);
  const requests = accountController(before, after);
  const reconciles = after.operator?.reconciles !== undefined && reconcilesBefore !== undefined ? after.operator.reconciles - reconcilesBefore : undefined;
  return {
    ...result,
    requests,
    writesPerListener: requests.operatorWrites === undefined ? undefined : requests.operatorWrites / Math.max(1, result.completed),
    readsPerListener: requests.operatorReads === undefined ? undefined : requests.operatorReads / Math.max(1, result.completed),
    reconciles,
    cloud: { patched: cloud.patched - patchedBefore, failed: cloud.failed },
    settleMs: idle === undefined ? undefined : Math.max(0, idle.idleAt - loop.lastEnd),
  };
}
