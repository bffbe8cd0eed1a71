// Scenario "restart": stop the controller over N converged Listeners and start a new one. Measures
// the time from start to ready (caches synced) and to an idle queue (every Listener reconciled),
// and every request it made meanwhile: a restart over an unchanged cluster should write nothing.
import { OperatorProcess } from '../lib/process.ts';
import { apiActivity, snapshot, startOperator, waitIdle, type BenchContext } from '../lib/context.ts';
import { accountController, type RequestAccount } from './common.ts';

export interface RestartResult {
  listeners: number;
  stopExitCode: number | null;
  readyMs: number | undefined;
  idleMs: number | undefined;
  timedOut: boolean;
  reconciles: number | undefined;
  requests: RequestAccount;
  rssBytes: number | undefined;
  heapUsedBytes: number | undefined;
  error?: string;
}

export const RESTART_TIMEOUT_MS = 120_000;

export async function runRestart(ctx: BenchContext, old: OperatorProcess, listeners: number): Promise<{ result: RestartResult; op: OperatorProcess }> {
  ctx.log('restart: stopping the controller (SIGTERM)');
  const stopExitCode = await old.stop();
  const before = await snapshot(ctx, undefined);
  const op = await startOperator(ctx, { cmd: ctx.opts.operatorCmd, phase: 'controller-restarted' });
  let readyAt: number | undefined;
  let error: string | undefined;
  try {
    readyAt = await op.waitReady(RESTART_TIMEOUT_MS);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  // An operator without our queue metrics: idle = no request of its kind for 1 s (API server view).
  const activity = apiActivity(ctx, before);
  const idle = readyAt === undefined ? undefined : await waitIdle(op, { minReconciles: listeners, quietMs: 1000, timeoutMs: RESTART_TIMEOUT_MS, pollMs: 50, activity });
  const after = await snapshot(ctx, op);
  const requests = accountController(before, after);
  return {
    op,
    result: {
      listeners,
      stopExitCode,
      readyMs: readyAt === undefined ? undefined : readyAt - op.startedAt,
      idleMs: idle === undefined ? undefined : idle.idleAt - op.startedAt,
      timedOut: idle === undefined,
      reconciles: after.operator?.reconciles,
      requests,
      rssBytes: after.operator?.rssBytes ?? await op.rssBytes(),
      heapUsedBytes: after.operator?.heapUsedBytes,
      ...(error === undefined ? {} : { error }),
    },
  };
}
