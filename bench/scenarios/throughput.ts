// "create" and "raw limit" interleaved: the N Listeners of each are split into R rounds, and each
// round runs one chunk of both, in alternating order (create, raw, raw, create, ...). Others share
// this machine, so load from outside comes and goes; interleaving exposes both scenarios to the same
// background, which makes their ratio (the target) meaningful even when the absolute numbers move.
import type { OperatorProcess } from '../lib/process.ts';
import type { BenchContext } from '../lib/context.ts';
import { copyTally } from '../lib/requests.ts';
import type { CloudLoop, ReadyTracker } from '../lib/watchers.ts';
import { latencyResult, sumAccounts } from './common.ts';
import { runCreateChunk, type CreateChunk, type CreateResult } from './create.ts';
import { RawClient, rawRequests, runRawChunk, type RawChunk, type RawResult } from './raw.ts';

export async function runThroughput(ctx: BenchContext, o: { op: OperatorProcess; cloud: CloudLoop; rawTracker: ReadyTracker | undefined }): Promise<{ create: CreateResult; raw: RawResult | undefined }> {
  const n = ctx.opts.listeners;
  const rounds = Math.max(1, Math.min(ctx.opts.rounds, Math.floor(n / 3)));
  const chunk = (r: number): number[] => Array.from({ length: Math.floor(((r + 1) * n) / rounds) - Math.floor((r * n) / rounds) }, (_v, j) => Math.floor((r * n) / rounds) + j);
  const raw = o.rawTracker === undefined ? undefined : await RawClient.create(ctx.cluster.kubeconfig);
  const rawBefore = raw === undefined ? undefined : copyTally(raw.tally);
  const patchedBefore = o.cloud.patched;
  const creates: CreateChunk[] = [];
  const raws: RawChunk[] = [];
  let ready = 0;
  const timer = setInterval(() => { ctx.log(`create: ${ready}/${n} ready`); }, 10_000);
  ctx.log(`create${raw === undefined ? '' : ' and raw limit'}: ${n} Listeners each, ${ctx.opts.concurrency} closed-loop workers, ${rounds} interleaved rounds`);
  try {
    for (let r = 0; r < rounds; r++) {
      const indexes = chunk(r);
      const runCreate = async (): Promise<void> => { creates.push(await runCreateChunk(ctx, o.op, indexes, () => { ready++; })); };
      const runRaw = async (): Promise<void> => {
        if (raw !== undefined && o.rawTracker !== undefined) raws.push(await runRawChunk(ctx, raw, o.rawTracker, indexes));
      };
      for (const step of r % 2 === 0 ? [runCreate, runRaw] : [runRaw, runCreate]) await step();
    }
  } finally {
    clearInterval(timer);
    raw?.close();
  }
  const c = latencyResult(n, ctx.opts.concurrency, creates.map((x) => x.loop));
  const requests = sumAccounts(creates.map((x) => x.account));
  const reconciles = creates.every((x) => x.reconciles !== undefined) ? creates.reduce((s, x) => s + (x.reconciles ?? 0), 0) : undefined;
  const settle = creates.every((x) => x.settleMs !== undefined) ? creates.reduce((s, x) => s + (x.settleMs ?? 0), 0) : undefined;
  const create: CreateResult = {
    ...c,
    requests,
    writesPerListener: requests.operatorWrites === undefined ? undefined : requests.operatorWrites / Math.max(1, c.completed),
    readsPerListener: requests.operatorReads === undefined ? undefined : requests.operatorReads / Math.max(1, c.completed),
    reconciles,
    cloud: { patched: o.cloud.patched - patchedBefore, failed: o.cloud.failed },
    settleMs: settle,
  };
  if (raw === undefined || rawBefore === undefined) return { create, raw: undefined };
  const rl = latencyResult(n, ctx.opts.concurrency, raws.map((x) => x.loop));
  const seconds = raws.reduce((s, x) => s + x.seconds, 0);
  return {
    create,
    raw: {
      ...rl,
      ...rawRequests(raw, rawBefore, rl.completed),
      cpuSeconds: { apiserver: raws.reduce((s, x) => s + x.apiserverCpu, 0), bench: raws.reduce((s, x) => s + x.benchCpu, 0) },
      machineBusy: seconds > 0 ? raws.reduce((s, x) => s + x.machineBusy * x.seconds, 0) / seconds : Number.NaN,
    },
  };
}
