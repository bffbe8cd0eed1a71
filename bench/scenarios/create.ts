// Scenario "create": Listeners over the three classes, created by `concurrency` closed-loop
// workers; each waits until the watch shows its Listener's status complete, then creates the next.
// Latency is create request sent → status observed; throughput is completions per second of the
// chunks' own time (see throughput.ts for the interleaving with the raw limit).
import type { OperatorProcess } from '../lib/process.ts';
import { apiActivity, closedLoop, snapshot, waitIdle, type BenchContext, type LoopResult } from '../lib/context.ts';
import { BENCH_NS, classOf, listenerBody, listenerName } from '../lib/fixtures.ts';
import { LISTENERS, at } from '../../src/k8s/resources.ts';
import { accountController, type LatencyResult, type RequestAccount } from './common.ts';

export interface CreateResult extends LatencyResult {
  requests: RequestAccount;
  writesPerListener: number | undefined;
  readsPerListener: number | undefined;
  reconciles: number | undefined;
  cloud: { patched: number; failed: number };
  /** From the last Listener observed ready until the operator's queue was idle, summed over chunks. */
  settleMs: number | undefined;
}

export interface CreateChunk {
  loop: LoopResult;
  account: RequestAccount;
  reconciles: number | undefined;
  settleMs: number | undefined;
}

export const ITEM_TIMEOUT_MS = 60_000;

/**
 * The time bound of a chunk of n Listeners. Generous: the API server's cost per Service grows
 * with the number of Services (see docs/benchmark.md), so the last chunks of N = 10000 are the
 * slowest.
 */
export function deadlineFor(n: number): number {
  return 120_000 + n * 250;
}

/** Creates Listeners `indexes` through the operator; the window ends when its queue is idle again. */
export async function runCreateChunk(ctx: BenchContext, op: OperatorProcess, indexes: readonly number[], progress: () => void): Promise<CreateChunk> {
  const before = await snapshot(ctx, op);
  const loop = await closedLoop(indexes.length, ctx.opts.concurrency, deadlineFor(indexes.length), async (j) => {
    const i = indexes[j] ?? 0;
    const ready = ctx.tracker.expect(`${BENCH_NS}/${listenerName(i)}`, ITEM_TIMEOUT_MS);
    const start = performance.now();
    try {
      await ctx.admin.create(at(LISTENERS, BENCH_NS), listenerBody(BENCH_NS, i));
    } catch (e) {
      ready.catch(() => undefined);
      throw e;
    }
    const end = await ready;
    progress();
    return { start, end, label: classOf(i) };
  });
  const idle = await waitIdle(op, { quietMs: 1000, timeoutMs: 60_000, activity: apiActivity(ctx, before) });
  const after = await snapshot(ctx, op);
  const reconciles = after.operator?.reconciles !== undefined && before.operator?.reconciles !== undefined ? after.operator.reconciles - before.operator.reconciles : undefined;
  return { loop, account: accountController(before, after), reconciles, settleMs: idle === undefined ? undefined : Math.max(0, idle.idleAt - loop.lastEnd) };
}
