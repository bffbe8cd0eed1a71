// The benchmark (issue 7): brings up a local control plane, registers Node objects, runs the
// scenarios against the operator under test (a child process started by --operator-cmd) and
// writes a table (stdout), a JSON file and an SVG of the latency distributions.
//
//   node bench/main.ts [--listeners N] [--nodes K] [--publish M] [--concurrency C]
//                      [--operator-cmd "..."] [--node-cmd "..."] [--out bench/results]
//                      [--scenarios create,restart,csi-publish,raw] [--rounds 4] [--cpu-prof]
//                      [--operator-env KEY=VALUE]...   (any listener operator: see docs/benchmark.md)
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { startCluster, type Cluster } from '../test/support/cluster.ts';
import { buildTools } from '../test/support/tools.ts';
import { OPERATOR_ENTRYPOINT, OPERATOR_ENV } from '../test/support/images.ts';
import { installCrds } from '../test/support/operator.ts';
import { KubeClient } from '../src/k8s/client.ts';
import { LISTENERS } from '../src/k8s/resources.ts';
import { REPO_ROOT, startOperator, type BenchContext, type BenchOptions } from './lib/context.ts';
import { BENCH_NS, CLASS_NAMES, RAW_LISTENERS, RAW_NS, createClasses, createNamespace, createNodes, createPinnedPvs, installRawCrd } from './lib/fixtures.ts';
import { sleep, type OperatorProcess } from './lib/process.ts';
import { evaluateTargets, renderText, type BenchResult, type MemoryResult } from './lib/report.ts';
import { tallyClient } from './lib/requests.ts';
import { latencySvg, type Panel } from './lib/svg.ts';
import { CloudLoop, ReadyTracker } from './lib/watchers.ts';
import { runCsiPublish } from './scenarios/csi-publish.ts';
import { runRestart } from './scenarios/restart.ts';
import { runThroughput } from './scenarios/throughput.ts';

const SCENARIOS = ['create', 'restart', 'csi-publish', 'raw'] as const;
/**
 * What the image runs (its ENTRYPOINT and ENV; bench/run.sh compiles dist/ first): the memory
 * target is about the shipped process, not `node src/main.ts` (type stripping costs 20 MiB).
 */
const DEFAULT_OPERATOR_CMD = ['env', ...OPERATOR_ENV, ...OPERATOR_ENTRYPOINT.slice(0, -1), 'dist/main.js', 'run', 'controller'].join(' ');
/** NodePort and LoadBalancer Services of 2 × N Listeners need more node ports than the default 2768. */
const NODE_PORT_RANGE = '20000-59999';
/** kube-controller-manager's garbage collector resyncs its discovery every 30 s. */
const GC_DISCOVERY_MS = 40_000;

function int(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

/** `KEY=VALUE` (VALUE may be empty), collected over repeated flags. */
function envPair(v: string, previous: string[]): string[] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(v)) throw new InvalidArgumentError('must be KEY=VALUE');
  return [...previous, v];
}

function parseOptions(argv: string[]): BenchOptions {
  const program = new Command('bench')
    .description('Benchmark the listener operator against a local real control plane (issue 7)')
    .addOption(new Option('--listeners <n>', 'Listeners to create').default(1000).argParser(int(3, 50_000)))
    .addOption(new Option('--nodes <k>', 'Node objects to register').default(10).argParser(int(1, 1000)))
    .addOption(new Option('--publish <m>', 'NodePublishVolume calls').default(200).argParser(int(1, 10_000)))
    .addOption(new Option('--concurrency <c>', 'closed-loop workers for create and raw (the operator reconciles 16 at once by default)').default(16).argParser(int(1, 256)))
    .addOption(new Option('--rounds <r>', 'create and raw limit run interleaved in this many rounds each').default(4).argParser(int(1, 100)))
    .addOption(new Option('--publish-concurrency <c>', 'NodePublishVolume calls at once').default(1).argParser(int(1, 64)))
    .addOption(new Option('--operator-cmd <cmd>', 'command that starts the controller').default(DEFAULT_OPERATOR_CMD))
    .addOption(new Option('--node-cmd <cmd>', 'command that starts the node service (default: the operator command with "run node")'))
    .addOption(new Option('--out <dir>', 'directory for results').default('bench/results'))
    .addOption(new Option('--scenarios <list>', `comma-separated subset of ${SCENARIOS.join(',')} (restart, csi-publish and raw need create; raw runs interleaved with it)`).default(SCENARIOS.join(',')))
    .addOption(new Option('--cpu-prof', 'write a V8 CPU profile of every operator process (when its command starts node)').default(false))
    .addOption(new Option('--operator-env <KEY=VALUE>', 'extra environment for the operator processes (repeatable), after the shared contract').default([]).argParser(envPair));
  program.parse(argv, { from: 'user' });
  const o = program.opts<{ listeners: number; nodes: number; publish: number; concurrency: number; publishConcurrency: number; rounds: number; operatorCmd: string; nodeCmd?: string; out: string; scenarios: string; cpuProf: boolean; operatorEnv: string[] }>();
  const scenarios = new Set(o.scenarios.split(',').map((s) => s.trim()).filter((s) => s !== ''));
  for (const s of scenarios) if (!(SCENARIOS as readonly string[]).includes(s)) program.error(`unknown scenario "${s}" (${SCENARIOS.join(', ')})`);
  if (scenarios.has('restart') || scenarios.has('csi-publish') || scenarios.has('raw')) scenarios.add('create');
  // The node service: the same command with `run node` for `run controller` (flags after it stay).
  const nodeCmd = o.nodeCmd ?? (/\brun\s+controller\b/.test(o.operatorCmd) ? o.operatorCmd.replace(/\brun\s+controller\b/, 'run node') : 'node dist/main.js run node');
  const operatorEnv = Object.fromEntries(o.operatorEnv.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return { listeners: o.listeners, nodes: o.nodes, publish: o.publish, concurrency: o.concurrency, publishConcurrency: o.publishConcurrency, rounds: o.rounds, operatorCmd: o.operatorCmd, nodeCmd, out: o.out, cpuProf: o.cpuProf, scenarios, operatorEnv };
}

const log = (line: string): void => { process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`); };

/** A bin directory like the real one, whose kube-apiserver adds our flags (startCluster takes no extra flags). */
async function apiServerWrapper(realBin: string, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const f of await readdir(realBin)) {
    if (f !== 'kube-apiserver') await symlink(path.join(realBin, f), path.join(dir, f));
  }
  const wrapper = path.join(dir, 'kube-apiserver');
  await writeFile(wrapper, `#!/bin/sh\nexec '${path.join(realBin, 'kube-apiserver')}' "$@" --service-node-port-range=${NODE_PORT_RANGE}\n`);
  await chmod(wrapper, 0o755);
  return dir;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

function panels(r: BenchResult): Panel[] {
  const out: Panel[] = [];
  const byLabel = (samples: number[], labels: string[]): { label: string; samples: number[] }[] => {
    const m = new Map<string, number[]>();
    samples.forEach((s, i) => { const l = labels[i] ?? ''; m.set(l, [...(m.get(l) ?? []), s]); });
    return [...m].map(([label, s]) => ({ label, samples: s }));
  };
  if (r.create !== undefined) out.push({ title: `create: create → ready observed (N = ${r.create.n}, ${r.create.concurrency} workers, ${r.create.throughputPerSec.toFixed(1)}/s)`, series: byLabel(r.create.samples, r.create.sampleLabels) });
  if (r.raw !== undefined) out.push({ title: `raw limit: bare client, same writes (N = ${r.raw.n}, ${r.raw.concurrency} workers, ${r.raw.throughputPerSec.toFixed(1)}/s)`, series: byLabel(r.raw.samples, r.raw.sampleLabels) });
  if (r.csiPublish !== undefined) {
    out.push(r.csiPublish.available
      ? { title: `csi-publish: NodePublishVolume (M = ${r.csiPublish.n}, ${r.csiPublish.concurrency} at a time)`, series: [{ label: 'NodePublishVolume', samples: r.csiPublish.samples }] }
      : { title: `csi-publish: not available (${r.csiPublish.reason})`, series: [] });
  }
  return out;
}

async function bytesOf(op: OperatorProcess): Promise<MemoryResult & { ok: boolean }> {
  const m = await op.metrics().catch(() => undefined);
  const find = (name: string): number | undefined => m?.samples.find((s) => s.name === name)?.value;
  const breakdown: Record<string, number> = {};
  for (const s of m?.samples ?? []) {
    if (s.name === 'nodejs_heap_space_size_total_bytes' || s.name === 'nodejs_heap_space_size_used_bytes') breakdown[`${s.labels.space ?? '?'}_${s.name.endsWith('total_bytes') ? 'committed' : 'used'}`] = s.value;
    if (s.name === 'nodejs_external_memory_bytes' || s.name === 'nodejs_heap_size_total_bytes') breakdown[s.name] = s.value;
  }
  // Without /metrics (an operator serving no HTTP): the resident set from /proc, no heap figure.
  const rss = find('process_resident_memory_bytes') ?? await op.rssBytes();
  return { listeners: 0, rssBytes: rss, heapUsedBytes: find('nodejs_heap_size_used_bytes'), peakRssBytes: await op.peakRssBytes(), breakdown, ok: m !== undefined };
}

async function runScenarios(ctx: BenchContext, result: Omit<BenchResult, 'targets' | 'finishedAt'>, rawTracker: ReadyTracker | undefined): Promise<void> {
  const s = ctx.opts.scenarios;
  const op = await startOperator(ctx, { cmd: ctx.opts.operatorCmd, phase: 'controller' });
  let current = op;
  try {
    await op.waitReady(120_000);
    if (s.has('create')) {
      const cloud = new CloudLoop(ctx.cloud, BENCH_NS);
      await cloud.start();
      try {
        const t = await runThroughput(ctx, { op, cloud, rawTracker });
        result.create = t.create;
        result.raw = t.raw;
      } finally {
        await cloud.stop();
      }
      const mem = await bytesOf(op);
      result.memory = { listeners: result.create.completed, rssBytes: mem.rssBytes, heapUsedBytes: mem.heapUsedBytes, peakRssBytes: mem.peakRssBytes, breakdown: mem.breakdown };
    }
    if (s.has('restart')) {
      const r = await runRestart(ctx, op, result.create?.completed ?? 0);
      current = r.op;
      result.restart = r.result;
    }
    if (s.has('csi-publish')) result.csiPublish = await runCsiPublish(ctx, current);
  } finally {
    const code = await current.stop();
    if (code !== 0) result.errors.push(`the controller exited with code ${String(code)} on SIGTERM`);
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const started = new Date();
  const runDir = path.resolve(REPO_ROOT, opts.out, `n${opts.listeners}-${stamp(started)}`);
  await mkdir(path.join(runDir, 'profiles'), { recursive: true });
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'lo-bench-'));
  const realBin = process.env.LISTENER_OPERATOR_BIN ?? await buildTools('kubernetes', log);
  const binDir = await apiServerWrapper(realBin, path.join(scratch, 'bin'));
  const result: Omit<BenchResult, 'targets' | 'finishedAt'> = {
    schema: 1,
    startedAt: started.toISOString(),
    machine: { cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30), loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100), node: process.version, kernel: os.release() },
    apiserver: '',
    params: { listeners: opts.listeners, nodes: opts.nodes, publish: opts.publish, concurrency: opts.concurrency, publishConcurrency: opts.publishConcurrency, rounds: opts.rounds, operatorCmd: opts.operatorCmd, nodeCmd: opts.nodeCmd, cpuProf: opts.cpuProf, scenarios: [...opts.scenarios] },
    errors: [],
  };
  log(`results in ${runDir}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  let cluster: Cluster | undefined;
  const clients: KubeClient[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  try {
    cluster = await startCluster({ binDir, scheduler: false, log: (l) => { log(l); } });
    result.apiserver = `kube-apiserver ${cluster.version.gitVersion}`;
    const admin = await KubeClient.fromKubeconfig(cluster.kubeconfig);
    const cloud = await KubeClient.fromKubeconfig(cluster.kubeconfig);
    clients.push(admin, cloud);
    const adminTally = tallyClient(admin);
    const cloudTally = tallyClient(cloud);
    log('installing CRDs, namespaces, Nodes, ListenerClasses and pinned PVs');
    await installCrds(admin);
    const crdsAt = performance.now();
    await createNamespace(admin, BENCH_NS);
    await createNamespace(admin, RAW_NS);
    await createNodes(admin, opts.nodes);
    await createClasses(admin);
    const pvs = await createPinnedPvs(admin, BENCH_NS, opts.listeners, opts.nodes);
    log(`${opts.nodes} Nodes, ${pvs} pinned PVs ready`);
    // The controller-manager's garbage collector picks up new CRDs at its 30 s discovery resync and
    // then GETs the owner of every dependent it saw before: start once that is over, as in a real
    // cluster, so its requests neither load the API server nor blur the request counts.
    const settle = GC_DISCOVERY_MS - (performance.now() - crdsAt);
    if (settle > 0) {
      log(`waiting ${(settle / 1000).toFixed(0)} s for the garbage collector to discover the CRDs`);
      await sleep(settle);
    }
    const tracker = new ReadyTracker(admin, LISTENERS, CLASS_NAMES.NodePort);
    await tracker.start();
    stoppers.push(() => tracker.stop());
    let rawTracker: ReadyTracker | undefined;
    if (opts.scenarios.has('raw')) {
      await installRawCrd(admin);
      rawTracker = new ReadyTracker(admin, RAW_LISTENERS, CLASS_NAMES.NodePort);
      await rawTracker.start();
      const t = rawTracker;
      stoppers.push(() => t.stop());
    }
    const ctx: BenchContext = {
      cluster, admin, adminTally, cloud, cloudTally, tracker, opts, runDir, socketDir: scratch, repoRoot: REPO_ROOT, log,
      api: { server: cluster.server, ca: cluster.pki.caCert, cert: cluster.pki.adminCert, key: cluster.pki.adminKey },
    };
    await runScenarios(ctx, result, rawTracker);
  } catch (e) {
    result.errors.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
    log(`failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    for (const stop of stoppers) await stop().catch(() => undefined);
    for (const c of clients) c.close();
    await cluster?.stop();
    await rm(scratch, { recursive: true, force: true });
  }
  const full: BenchResult = { ...result, finishedAt: new Date().toISOString(), targets: [] };
  full.targets = evaluateTargets(full);
  const text = renderText(full);
  await writeFile(path.join(runDir, 'result.json'), `${JSON.stringify(full, null, 1)}\n`);
  await writeFile(path.join(runDir, 'table.txt'), text);
  await writeFile(path.join(runDir, 'latency.svg'), latencySvg(`listener-operator benchmark, N = ${opts.listeners} (${stamp(started)})`, panels(full)));
  process.stdout.write(text);
  log(`wrote ${path.relative(process.cwd(), runDir)}/{result.json,table.txt,latency.svg}`);
  if (full.errors.length > 0) process.exitCode = 1;
}

await main();
