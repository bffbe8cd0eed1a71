// The scale run (issue 13): N Listeners over K simulated Nodes on the local control plane. kwok
// keeps the Nodes Ready the way kubelets do (a Lease renewed every 10 s, a status heartbeat every
// 5 minutes), so the controller sees real Node churn. Listeners are created by a closed loop in
// segments; after each segment the controller's memory is read, so memory can be drawn against N.
// At N = 1000 and at the end the node plugin's API requests per NodePublishVolume are counted
// (they must be the same: a node plugin makes no cluster-wide reads). Then a restart to idle.
//
//   node bench/scale.ts [--listeners 100000] [--nodes 5000] [--max-minutes 90] [--publish 50]
//
// Mostly headless ClusterIP Listeners (a class whose serviceOverrides set clusterIP: None): the
// API server's ClusterIP allocator scans every allocated address on each allocation (see "Latency
// and throughput at N = 10000" in docs/benchmark.md), which would measure kube-apiserver, not the
// operator; every 10th Listener is NodePort (node ports, a cluster IP, a PV pinned to a Node).
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { startCluster, type Cluster } from '../test/support/cluster.ts';
import { installCrds } from '../test/support/operator.ts';
import { buildTools } from '../test/support/tools.ts';
import { OPERATOR_ENTRYPOINT, OPERATOR_ENV } from '../test/support/images.ts';
import { KubeClient, isConflict } from '../src/k8s/client.ts';
import { LISTENERS, LISTENER_CLASSES, PERSISTENT_VOLUMES, at } from '../src/k8s/resources.ts';
import { GROUP_VERSION } from '../src/constants.ts';
import { REPO_ROOT, closedLoop, operatorCounters, startOperator, waitIdle, type BenchContext, type LoopResult } from './lib/context.ts';
import { BENCH_NS, CLASS_NAMES, createNamespace, createNodes, listenerName, pinnedPvBody } from './lib/fixtures.ts';
import { lineChart, linearFit, type Point } from './lib/line-chart.ts';
import { sleep, type OperatorProcess } from './lib/process.ts';
import { tallyClient } from './lib/requests.ts';
import { fmtMs, summarize } from './lib/stats.ts';
import { ReadyTracker } from './lib/watchers.ts';
import { runCsiPublish, type CsiResult } from './scenarios/csi-publish.ts';
import { runRestart, type RestartResult } from './scenarios/restart.ts';

const HEADLESS_CLASS = 'bench-headless';
const NODE_PORT_EVERY = 10;
const KWOK_ANNOTATION = { 'kwok.x-k8s.io/node': 'fake' };

interface Opts { listeners: number; nodes: number; maxMinutes: number; publish: number; concurrency: number; operatorCmd: string; out: string }

function parseOptions(argv: string[]): Opts {
  const p = new Command('scale')
    .addOption(new Option('--listeners <n>').default(100_000).argParser(Number))
    .addOption(new Option('--nodes <k>').default(5000).argParser(Number))
    .addOption(new Option('--max-minutes <t>', 'stop creating after this long and report the N reached').default(90).argParser(Number))
    .addOption(new Option('--publish <m>', 'NodePublishVolume calls at N = 1000 and at the end').default(50).argParser(Number))
    .addOption(new Option('--concurrency <c>').default(16).argParser(Number))
    .addOption(new Option('--operator-cmd <cmd>').default(['env', ...OPERATOR_ENV, ...OPERATOR_ENTRYPOINT.slice(0, -1), 'dist/main.js', 'run', 'controller'].join(' ')))
    .addOption(new Option('--out <dir>').default('bench/results'));
  p.parse(argv, { from: 'user' });
  return p.opts<Opts>();
}

const log = (line: string): void => { process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${line}\n`); };

const isNodePort = (i: number): boolean => i % NODE_PORT_EVERY === NODE_PORT_EVERY - 1;

/** kube-apiserver with the wider node-port range the benchmark uses (bench/main.ts does the same). */
async function binWithWrapper(realBin: string, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const f of await readdir(realBin)) if (f !== 'kube-apiserver') await symlink(path.join(realBin, f), path.join(dir, f));
  const wrapper = path.join(dir, 'kube-apiserver');
  await writeFile(wrapper, `#!/bin/sh\nexec '${path.join(realBin, 'kube-apiserver')}' "$@" --service-node-port-range=20000-59999\n`);
  await chmod(wrapper, 0o755);
  return dir;
}

/** kwok's node stages, as kubelet's intervals: Lease every 10 s (40 s duration), status every 5 min. */
const KWOK_CONFIG = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 16
  nodePlayStageParallelism: 16
  podPlayStageParallelism: 4
  podsOnNodeSyncParallelism: 1
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: node-initialize}
spec:
  resourceRef: {apiGroup: v1, kind: Node}
  selector:
    matchExpressions: [{key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: NotIn, values: ['True']}]
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
      phase: Running
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata: {name: node-heartbeat-with-lease}
spec:
  resourceRef: {apiGroup: v1, kind: Node}
  selector:
    matchExpressions:
    - {key: '.status.phase', operator: In, values: [Running]}
    - {key: '.status.conditions.[] | select( .type == "Ready" ) | .status', operator: In, values: ['True']}
  delay: {durationMilliseconds: 300000, jitterDurationMilliseconds: 310000}
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $.metadata.creationTimestamp | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
`;

async function startKwok(kwokBin: string, kubeconfig: string, dir: string): Promise<() => Promise<void>> {
  const config = path.join(dir, 'kwok.yaml');
  await writeFile(config, KWOK_CONFIG);
  const guard = path.join(REPO_ROOT, 'test', 'support', 'guard.sh');
  const logFile = path.join(dir, 'kwok.log');
  const { openSync } = await import('node:fs');
  const fd = openSync(logFile, 'a');
  const child = spawn(guard, [kwokBin, `--kubeconfig=${kubeconfig}`, `--config=${config}`, '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake', '--node-lease-duration-seconds=40'], { stdio: ['pipe', fd, fd], detached: true });
  log(`kwok started (log ${logFile})`);
  return async () => {
    child.stdin?.end();
    await Promise.race([new Promise((r) => child.once('exit', r)), sleep(10_000)]);
    try { if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  };
}

async function createClasses(client: KubeClient): Promise<void> {
  const classes = [
    { name: HEADLESS_CLASS, spec: { serviceType: 'ClusterIP', preferredAddressType: 'Hostname', serviceOverrides: { spec: { clusterIP: 'None' } } } },
    { name: CLASS_NAMES.NodePort, spec: { serviceType: 'NodePort' } },
  ];
  for (const c of classes) {
    try {
      await client.create(at(LISTENER_CLASSES, undefined), { apiVersion: GROUP_VERSION, kind: 'ListenerClass', metadata: { name: c.name }, spec: c.spec });
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
  }
}

interface Sample { listeners: number; rssMiB: number; heapUsedMiB: number; heapTotalMiB: number; atS: number }
interface Item { i: number; start: number; end: number }

async function memorySample(op: OperatorProcess, listeners: number, t0: number): Promise<Sample | undefined> {
  const m = await op.metrics().catch(() => undefined);
  if (m === undefined) return undefined;
  const c = operatorCounters(m.samples);
  const total = m.samples.find((s) => s.name === 'nodejs_heap_size_total_bytes')?.value ?? NaN;
  return { listeners, rssMiB: (c.rssBytes ?? NaN) / 2 ** 20, heapUsedMiB: (c.heapUsedBytes ?? NaN) / 2 ** 20, heapTotalMiB: total / 2 ** 20, atS: (performance.now() - t0) / 1000 };
}

/** Creates Listeners [from, to) through the operator; latency = create sent → ready observed. */
async function createSegment(ctx: BenchContext, from: number, to: number, deadlineMs: number, items: Item[]): Promise<LoopResult> {
  return closedLoop(to - from, ctx.opts.concurrency, deadlineMs, async (j) => {
    const i = from + j;
    if (isNodePort(i)) {
      try { await ctx.admin.create(at(PERSISTENT_VOLUMES, undefined), pinnedPvBody(BENCH_NS, i, ctx.opts.nodes)); } catch (e) { if (!isConflict(e)) throw e; }
    }
    const ready = ctx.tracker.expect(`${BENCH_NS}/${listenerName(i)}`, 120_000);
    const start = performance.now();
    await ctx.admin.create(at(LISTENERS, BENCH_NS), {
      apiVersion: GROUP_VERSION, kind: 'Listener', metadata: { name: listenerName(i), namespace: BENCH_NS },
      spec: { className: isNodePort(i) ? CLASS_NAMES.NodePort : HEADLESS_CLASS, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    }).catch((e: unknown) => { ready.catch(() => undefined); throw e; });
    const end = await ready;
    items.push({ i, start, end });
    return { start, end, label: isNodePort(i) ? 'NodePort' : 'ClusterIP (headless)' };
  });
}

interface Decile { decile: number; from: number; to: number; completed: number; perSec: number; p50: number; p90: number; p99: number }

function deciles(items: readonly Item[], n: number): Decile[] {
  const out: Decile[] = [];
  for (let d = 0; d < 10; d++) {
    const from = Math.floor((d * n) / 10);
    const to = Math.floor(((d + 1) * n) / 10);
    const xs = items.filter((x) => x.i >= from && x.i < to);
    if (xs.length === 0) continue;
    const wall = (Math.max(...xs.map((x) => x.end)) - Math.min(...xs.map((x) => x.start))) / 1000;
    const s = summarize(xs.map((x) => x.end - x.start));
    out.push({ decile: d + 1, from, to, completed: xs.length, perSec: xs.length / wall, p50: s.p50, p90: s.p90, p99: s.p99 });
  }
  return out;
}

interface ScaleResult {
  params: Opts; startedAt: string; loadAvgAtStart: number[]; reached: number; hitDeadline: boolean;
  deciles: Decile[]; memory: Sample[]; slopes: { rssKiBPerListener: number | undefined; heapKiBPerListener: number | undefined; rssAt0MiB: number | undefined };
  publishAt1000: CsiResult | undefined; publishAtEnd: CsiResult | undefined; restart: RestartResult | undefined; errors: string[];
}

function table(r: ScaleResult): string {
  const pub = (c: CsiResult | undefined): string => (c === undefined ? '-' : !c.available ? `not available (${c.reason})` : `${c.completed}/${c.n} ok, p50 ${fmtMs(c.latencyMs.p50)} ms, ${(c.requestsPerCall ?? c.apiRequestsPerCall).toFixed(2)} requests/call (API server: ${c.apiRequestsPerCall.toFixed(2)})`);
  const lines = [
    `scale run: N = ${r.reached}${r.hitDeadline ? ` (of ${r.params.listeners}: the ${r.params.maxMinutes}-minute bound was reached)` : ''} Listeners over K = ${r.params.nodes} kwok Nodes; load average at start ${r.loadAvgAtStart.join(' ')}`,
    '',
    'decile  Listeners        created/s   p50 ms   p90 ms   p99 ms',
    ...r.deciles.map((d) => `${String(d.decile).padStart(6)}  ${`${d.from}-${d.to - 1}`.padEnd(15)}  ${d.perSec.toFixed(1).padStart(9)}  ${fmtMs(d.p50).padStart(7)}  ${fmtMs(d.p90).padStart(7)}  ${fmtMs(d.p99).padStart(7)}`),
    '',
    'memory (controller, after each segment): N, RSS MiB, heap used MiB, heap total MiB',
    ...r.memory.map((m) => `  ${String(m.listeners).padStart(7)}  ${m.rssMiB.toFixed(1).padStart(7)}  ${m.heapUsedMiB.toFixed(1).padStart(7)}  ${m.heapTotalMiB.toFixed(1).padStart(7)}`),
    `slope: RSS ${r.slopes.rssKiBPerListener?.toFixed(2) ?? '-'} KiB per Listener (intercept ${r.slopes.rssAt0MiB?.toFixed(1) ?? '-'} MiB), heap used ${r.slopes.heapKiBPerListener?.toFixed(2) ?? '-'} KiB per Listener`,
    '',
    `node plugin at N = 1000: ${pub(r.publishAt1000)}`,
    `node plugin at N = ${r.reached}: ${pub(r.publishAtEnd)}`,
    `restart over ${r.reached}: ${r.restart === undefined ? '-' : `ready ${((r.restart.readyMs ?? NaN) / 1000).toFixed(2)} s, idle ${((r.restart.idleMs ?? NaN) / 1000).toFixed(2)} s, ${r.restart.requests.apiWrites} writes, RSS after idle ${((r.restart.rssBytes ?? NaN) / 2 ** 20).toFixed(1)} MiB`}`,
    ...(r.errors.length > 0 ? ['', 'errors', ...r.errors.map((e) => `  ${e}`)] : []),
  ];
  return `${lines.join('\n')}\n`;
}

async function run(o: Opts, cluster: Cluster, scratch: string, runDir: string, r: ScaleResult): Promise<void> {
  const admin = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  const cloud = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  const tracker = new ReadyTracker(admin, LISTENERS, CLASS_NAMES.NodePort);
  const stopKwok = await startKwok(path.join(await buildTools('kwok', log), 'kwok'), cluster.kubeconfig, scratch);
  try {
    await installCrds(admin);
    await createNamespace(admin, BENCH_NS);
    log(`registering ${o.nodes} Nodes for kwok`);
    await createNodes(admin, o.nodes, KWOK_ANNOTATION);
    await createClasses(admin);
    await tracker.start();
    const ctx: BenchContext = {
      cluster, admin, adminTally: tallyClient(admin), cloud, cloudTally: tallyClient(cloud), tracker, runDir, socketDir: scratch, repoRoot: REPO_ROOT, log,
      api: { server: cluster.server, ca: cluster.pki.caCert, cert: cluster.pki.adminCert, key: cluster.pki.adminKey },
      opts: {
        listeners: 1000, nodes: o.nodes, publish: o.publish, concurrency: o.concurrency, publishConcurrency: 1, rounds: 1, operatorCmd: o.operatorCmd,
        nodeCmd: o.operatorCmd.replace(/\brun\s+controller\b/, 'run node'), out: o.out, cpuProf: false, scenarios: new Set(), operatorEnv: {},
      },
    };
    const op = await startOperator(ctx, { cmd: o.operatorCmd, phase: 'controller' });
    let current = op;
    try {
      await op.waitReady(120_000);
      await createAll(ctx, op, o, r);
      log('waiting for the controller to be idle');
      await waitIdle(op, { quietMs: 2000, timeoutMs: 600_000 });
      const last = await memorySample(op, r.reached, 0);
      if (last !== undefined) r.memory.push(last);
      ctx.opts.listeners = Math.max(1, r.reached);
      r.publishAtEnd = await runCsiPublish(ctx, op, o.publish);
      const restarted = await runRestart(ctx, op, r.reached);
      current = restarted.op;
      r.restart = restarted.result;
    } finally {
      await current.stop();
    }
  } finally {
    await tracker.stop();
    await stopKwok();
    admin.close();
    cloud.close();
  }
}

/** The closed loop in segments: 1000 first (then the node plugin's count), then about N/20 each. */
async function createAll(ctx: BenchContext, op: OperatorProcess, o: Opts, r: ScaleResult): Promise<void> {
  const t0 = performance.now();
  const deadline = t0 + o.maxMinutes * 60_000;
  const step = Math.max(1000, Math.round(o.listeners / 20));
  const items: Item[] = [];
  let done = 0;
  while (done < o.listeners && performance.now() < deadline) {
    const to = Math.min(o.listeners, done === 0 ? Math.min(1000, o.listeners) : done + step);
    const loop = await createSegment(ctx, done, to, deadline - performance.now(), items);
    if (loop.failures > 0) r.errors.push(`segment ${done}-${to}: ${loop.failures} failed (${loop.firstErrors[0] ?? ''})`);
    r.hitDeadline = loop.hitDeadline;
    done = to;
    r.reached = items.length;
    const m = await memorySample(op, r.reached, t0);
    if (m !== undefined) r.memory.push(m);
    log(`${r.reached} Listeners ready; controller RSS ${m?.rssMiB.toFixed(1) ?? '-'} MiB, heap ${m?.heapUsedMiB.toFixed(1) ?? '-'} MiB`);
    if (to === 1000) r.publishAt1000 = await runCsiPublish(ctx, op, 0);
  }
  r.hitDeadline ||= done < o.listeners;
  r.deciles = deciles(items, done);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const started = new Date();
  const runDir = path.resolve(REPO_ROOT, o.out, `scale-n${o.listeners}-k${o.nodes}-${started.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`);
  await mkdir(path.join(runDir, 'profiles'), { recursive: true });
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'lo-scale-'));
  const r: ScaleResult = {
    params: o, startedAt: started.toISOString(), loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100), reached: 0, hitDeadline: false,
    deciles: [], memory: [], slopes: { rssKiBPerListener: undefined, heapKiBPerListener: undefined, rssAt0MiB: undefined }, publishAt1000: undefined, publishAtEnd: undefined, restart: undefined, errors: [],
  };
  log(`results in ${runDir}`);
  let cluster: Cluster | undefined;
  try {
    const binDir = await binWithWrapper(process.env.LISTENER_OPERATOR_BIN ?? await buildTools('kubernetes', log), path.join(scratch, 'bin'));
    cluster = await startCluster({ binDir, scheduler: false, log });
    await run(o, cluster, scratch, runDir, r);
  } catch (e) {
    r.errors.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
    log(`failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await cluster?.stop();
    await rm(scratch, { recursive: true, force: true });
  }
  const pts = (f: (s: Sample) => number): Point[] => r.memory.filter((s) => s.listeners >= 1000).map((s) => ({ x: s.listeners, y: f(s) }));
  const rssFit = linearFit(pts((s) => s.rssMiB));
  const heapFit = linearFit(pts((s) => s.heapUsedMiB));
  r.slopes = { rssKiBPerListener: rssFit === undefined ? undefined : rssFit.b * 1024, heapKiBPerListener: heapFit === undefined ? undefined : heapFit.b * 1024, rssAt0MiB: rssFit?.a };
  await writeFile(path.join(runDir, 'result.json'), `${JSON.stringify(r, null, 1)}\n`);
  await writeFile(path.join(runDir, 'table.txt'), table(r));
  await writeFile(path.join(runDir, 'memory.svg'), lineChart(`controller memory against N (${o.nodes} kwok Nodes)`, 'Listeners (N)', 'MiB', [
    { label: 'RSS', points: pts((s) => s.rssMiB), fit: true },
    { label: 'V8 heap used', points: pts((s) => s.heapUsedMiB), fit: true },
    { label: 'V8 heap total', points: pts((s) => s.heapTotalMiB) },
  ]));
  await writeFile(path.join(runDir, 'throughput.svg'), lineChart('create throughput and p50 latency by decile of N', 'decile', 'Listeners/s, ms / 10', [
    { label: 'created per second', points: r.deciles.map((d) => ({ x: d.decile, y: d.perSec })) },
    { label: 'p50 create→ready (ms / 10)', points: r.deciles.map((d) => ({ x: d.decile, y: d.p50 / 10 })) },
  ]));
  process.stdout.write(table(r));
}

await main();
