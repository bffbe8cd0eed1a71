// A quick memory and start-up probe, without the full benchmark: brings up the local control
// plane (or reuses one: --kubeconfig), makes sure N converged Listeners exist (created through the
// operator under test the first time), then starts the operator command R times over them and
// reports for each: start → /readyz 200 (or the CSI socket, without HTTP), start → idle, RSS
// (VmRSS, and its anonymous and file-backed parts), peak RSS and, from /metrics, the V8 heap.
//
//   node bench/probe.ts --listeners 1000 [--runs 3] [--operator-cmd "..."] [--kubeconfig <path>]
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { startCluster, freePort, type Cluster } from '../test/support/cluster.ts';
import { installCrds } from '../test/support/operator.ts';
import { KubeClient } from '../src/k8s/client.ts';
import { LISTENERS, at } from '../src/k8s/resources.ts';
import { BENCH_NS, createClasses, createNamespace, createNodes, createPinnedPvs, forEachLimit, listenerBody } from './lib/fixtures.ts';
import { OperatorProcess, splitCommand, sleep } from './lib/process.ts';
import { isConflict } from '../src/k8s/client.ts';
import { REPO_ROOT, operatorCounters } from './lib/context.ts';
import { OPERATOR_ENTRYPOINT, OPERATOR_ENV } from '../test/support/images.ts';

const DEFAULT_CMD = ['env', ...OPERATOR_ENV, ...OPERATOR_ENTRYPOINT.slice(0, -1), 'dist/main.js', 'run', 'controller'].join(' ');

interface Opts { listeners: number; nodes: number; runs: number; operatorCmd: string; kubeconfig?: string; settleMs: number }

function parse(argv: string[]): Opts {
  const p = new Command('probe')
    .addOption(new Option('--listeners <n>').default(1000).argParser(Number))
    .addOption(new Option('--nodes <k>').default(10).argParser(Number))
    .addOption(new Option('--runs <r>').default(3).argParser(Number))
    .addOption(new Option('--settle-ms <ms>', 'wait this long after idle before reading memory').default(10000).argParser(Number))
    .addOption(new Option('--operator-cmd <cmd>').default(DEFAULT_CMD))
    .addOption(new Option('--kubeconfig <path>'));
  p.parse(argv, { from: 'user' });
  return p.opts<Opts>();
}

async function smaps(pid: number): Promise<{ rss: number; anon: number; file: number; hwm: number }> {
  const roll = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const st = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (t: string, k: string): number => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(t)?.[1] ?? 'NaN') / 1024;
  const rss = kb(roll, 'Rss');
  const anon = kb(roll, 'Anonymous');
  return { rss, anon, file: rss - anon, hwm: kb(st, 'VmHWM') };
}

interface RunResult { readyS: number; idleS: number | undefined; mem: Awaited<ReturnType<typeof smaps>> | undefined; heapUsed: number; heapTotal: number; writes: number; cpuS: number }

/** Polls the operator's queue metrics until it has reconciled `n` Listeners and is idle (bounded). */
async function waitIdle(op: OperatorProcess, n: number): Promise<number | undefined> {
  const deadline = performance.now() + 600_000;
  while (performance.now() < deadline) {
    const c = operatorCounters((await op.metrics()).samples);
    if (c.queueDepth === 0 && c.active === 0 && (c.reconciles ?? 0) >= n) return performance.now();
    await sleep(50);
  }
  return undefined;
}

async function runOnce(o: Opts, kubeconfig: string, scratch: string, r: number): Promise<RunResult> {
  const port = await freePort();
  const webhookPort = await freePort();
  const sock = path.join(scratch, `${r}.sock`);
  const op = await OperatorProcess.start({
    name: `probe ${r}`, argv: splitCommand(o.operatorCmd), cwd: REPO_ROOT, logFile: path.join(scratch, `${r}.log`), httpPort: port, csiSocket: sock,
    env: {
      KUBECONFIG: kubeconfig, CSI_ENDPOINT: sock, HTTP_ADDRESS: `127.0.0.1:${port}`, LISTENER_CLASS_PRESET: 'none',
      OPERATOR_NAMESPACE: 'default', OPERATOR_SERVICE_NAME: 'listener-operator', KUBERNETES_CLUSTER_DOMAIN: 'cluster.local', WEBHOOK_ADDRESS: `127.0.0.1:${webhookPort}`,
    },
  });
  try {
    const readyAt = await op.waitReady(120_000);
    const idleAt = await waitIdle(op, o.listeners);
    await sleep(o.settleMs);
    const pid = await op.commandPid();
    const samples = (await op.metrics()).samples;
    const c = operatorCounters(samples);
    return {
      readyS: (readyAt - op.startedAt) / 1000,
      idleS: idleAt === undefined ? undefined : (idleAt - op.startedAt) / 1000,
      mem: pid === undefined ? undefined : await smaps(pid),
      heapUsed: (c.heapUsedBytes ?? NaN) / 2 ** 20,
      heapTotal: (samples.find((s) => s.name === 'nodejs_heap_size_total_bytes')?.value ?? NaN) / 2 ** 20,
      writes: ['create', 'apply', 'patch', 'update', 'delete'].reduce((s, v) => s + (c.requests?.[v] ?? 0), 0),
      cpuS: c.cpuSeconds ?? NaN,
    };
  } finally {
    await op.stop();
  }
}

function describe(x: RunResult): string {
  const f = (v: number | undefined): string => v?.toFixed(1) ?? '-';
  const m = x.mem;
  return `ready ${x.readyS.toFixed(2)} s, idle ${x.idleS?.toFixed(2) ?? '-'} s, RSS ${f(m?.rss)} MiB (anon ${f(m?.anon)}, file ${f(m?.file)}), `
    + `peak ${f(m?.hwm)}, heap used ${x.heapUsed.toFixed(1)} / total ${x.heapTotal.toFixed(1)} MiB, writes ${x.writes}, CPU ${x.cpuS.toFixed(2)} s`;
}

/** N Listeners in the bench namespace (and what they need); creating those that are missing. */
async function fixtures(admin: KubeClient, o: Opts): Promise<void> {
  await installCrds(admin);
  await createNamespace(admin, BENCH_NS);
  await createNodes(admin, o.nodes);
  await createClasses(admin);
  await createPinnedPvs(admin, BENCH_NS, o.listeners, o.nodes);
  await forEachLimit(o.listeners, 16, async (i) => {
    try {
      await admin.create(at(LISTENERS, BENCH_NS), listenerBody(BENCH_NS, i));
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
  });
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const cluster: Cluster | undefined = o.kubeconfig === undefined ? await startCluster({ scheduler: false, log: (l) => { process.stderr.write(`${l}\n`); } }) : undefined;
  const kubeconfig = o.kubeconfig ?? cluster?.kubeconfig ?? '';
  const admin = await KubeClient.fromKubeconfig(kubeconfig);
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'lo-probe-'));
  try {
    await fixtures(admin, o);
    process.stderr.write(`${o.listeners} Listeners exist; ${o.runs} runs of: ${o.operatorCmd} (load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})\n`);
    for (let r = 0; r < o.runs; r++) {
      process.stdout.write(`run ${r}: ${describe(await runOnce(o, kubeconfig, scratch, r))}\n`);
    }
  } finally {
    admin.close();
    await rm(scratch, { recursive: true, force: true });
    await cluster?.stop();
  }
}

await main();
