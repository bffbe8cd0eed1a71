// `node bench/telemetry/dashboard.ts [--listeners 600] [--out docs/observability]`: the Grafana
// dashboard's panels drawn from a real run under load, for docs/observability.md. Starts a local
// control plane and `run controller` (with its conversion webhook), scrapes its /metrics every
// second, and drives a bounded load (every loop limited in count and time):
//   5 s   creates Listeners at 20/s (a few of a class that does not exist: terminal errors),
//   20 s  CSI CreateVolume at 5/s through the controller's socket (every tenth for a PVC that does
//         not exist: NOT_FOUND),
//   50 s  changes every Listener's ports (a Service apply and a status write each),
//   80 s  deletes a third of them;
// then computes each panel as the dashboard's PromQL does (series.ts) and writes dashboard.svg and
// dashboard.png (rendered by resvg).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Resvg } from '@resvg/resvg-js';
import { KubeClient } from '../../src/k8s/client.ts';
import { LISTENER_CLASSES, LISTENERS, NAMESPACES, at } from '../../src/k8s/resources.ts';
import { freePort, startCluster } from '../../test/support/cluster.ts';
import { CsiClient, createPvc, mountCapability } from '../../test/support/csi.ts';
import { installCrds } from '../../test/support/operator.ts';
import { SHARED_PLANE_ENV, spawnOperator } from '../../test/support/operator-process.ts';
import { parseProm } from '../lib/prom.ts';
import { dashboardSvg, type ChartPanel } from './charts.ts';
import { gauge, quantile, rate, type Scrape, type SeriesMap } from './series.ts';

const NS = 'dash';
const GV = 'listeners.stackable.tech/v1alpha1';
const CLASS = 'listeners.stackable.tech/listener-class';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `fn(i)` for i < n at `perSecond`, stopping at `deadline` (ms since start). */
async function paced(start: number, n: number, perSecond: number, deadline: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  for (let i = 0; i < n && performance.now() - start < deadline; i++) {
    const due = start + (i * 1000) / perSecond;
    if (due > performance.now()) await sleep(due - performance.now());
    await fn(i).catch(() => undefined);
    done++;
  }
  return done;
}

/** `/csi.v1.Controller/CreateVolume OK` → `CreateVolume OK`: legends stay short. */
function shortMethods(m: SeriesMap): SeriesMap {
  return new Map([...m].map(([k, v]) => [k.replace(/\/csi\.v1\.[A-Za-z]+\//, ''), v]));
}

function panels(s: Scrape[], wallStart: number): ChartPanel[] {
  const ctl = (l: Record<string, string>): boolean => l.controller === 'listener';
  const q = (l: Record<string, string>): boolean => l.name === 'listener';
  return [
    { title: 'Reconciles per second, by result', unit: '/s', series: rate(s, 'controller_runtime_reconcile_total', { filter: ctl, by: ['result'] }) },
    { title: 'Reconcile errors per second', unit: '/s', series: new Map([['errors', rate(s, 'controller_runtime_reconcile_errors_total', { filter: ctl }).get('value') ?? []], ['terminal', rate(s, 'controller_runtime_terminal_reconcile_errors_total', { filter: ctl }).get('value') ?? []]]) },
    { title: 'Reconcile duration', unit: 'ms', series: new Map([['p50', quantile(s, 'controller_runtime_reconcile_time_seconds', 0.5, { filter: ctl, scale: 1000 }).get('value') ?? []], ['p99', quantile(s, 'controller_runtime_reconcile_time_seconds', 0.99, { filter: ctl, scale: 1000 }).get('value') ?? []]]) },
    { title: 'Work queue depth and workers', unit: '', series: new Map([['waiting', gauge(s, 'workqueue_depth', { filter: q }).get('value') ?? []], ['reconciling', gauge(s, 'controller_runtime_active_workers', { filter: ctl }).get('value') ?? []]]) },
    { title: 'Work queue adds and retries per second', unit: '/s', series: new Map([['adds', rate(s, 'workqueue_adds_total', { filter: q }).get('value') ?? []], ['retries', rate(s, 'workqueue_retries_total', { filter: q }).get('value') ?? []]]) },
    { title: 'Work queue wait and work time (p99)', unit: 'ms', series: new Map([['waiting', quantile(s, 'workqueue_queue_duration_seconds', 0.99, { filter: q, scale: 1000 }).get('value') ?? []], ['working', quantile(s, 'workqueue_work_duration_seconds', 0.99, { filter: q, scale: 1000 }).get('value') ?? []]]) },
    { title: 'CSI calls per second, by method and code', unit: '/s', series: shortMethods(rate(s, 'csi_operations_seconds_count', { by: ['method_name', 'grpc_status_code'] })) },
    { title: 'CSI call duration (p99), by method', unit: 'ms', series: shortMethods(quantile(s, 'csi_operations_seconds', 0.99, { by: ['method_name'], scale: 1000 })) },
    { title: 'API requests per second, by method and code', unit: '/s', series: rate(s, 'rest_client_requests_total', { by: ['method', 'code'] }) },
    { title: 'API request latency (p99), by method', unit: 'ms', series: quantile(s, 'rest_client_request_duration_seconds', 0.99, { by: ['verb'], scale: 1000 }) },
    { title: 'Leader', unit: '', series: gauge(s, 'leader_election_master_status', { by: ['name'] }) },
    { title: 'Webhook certificate: time left', unit: 'h', series: new Map([...gauge(s, 'listener_operator_webhook_certificate_expiry_timestamp_seconds')].map(([k, pts]) => [k, pts.map((p) => ({ t: p.t, v: (p.v * 1000 - (wallStart + p.t)) / 3_600_000 }))])) },
    { title: 'Resident memory', unit: 'MiB', series: gauge(s, 'process_resident_memory_bytes', { scale: 1 / 1048576 }) },
    { title: 'CPU', unit: '%', series: rate(s, 'process_cpu_seconds_total', { scale: 100 }) },
    { title: 'Event loop lag (p99)', unit: 'ms', series: gauge(s, 'nodejs_eventloop_lag_p99_seconds', { scale: 1000 }) },
    { title: 'Telemetry not delivered per second', unit: '/s', series: rate(s, 'listener_operator_telemetry_dropped_total', { by: ['signal', 'reason'] }) },
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { listeners: { type: 'string', default: '600' }, out: { type: 'string', default: 'docs/observability' } } });
  const n = Number(values.listeners);
  const cleanups: (() => Promise<void> | void)[] = [];
  const t = { after: (fn: () => Promise<void> | void) => { cleanups.push(fn); } } as unknown as Parameters<typeof spawnOperator>[0];
  const cluster = await startCluster({ scheduler: false, log: (l) => { process.stderr.write(`${l}\n`); } });
  const dir = await mkdtemp(path.join(tmpdir(), 'dash-'));
  try {
    const client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
    cleanups.push(() => { client.close(); });
    await installCrds(client);
    await client.create(at(NAMESPACES, undefined), { metadata: { name: NS } });
    await client.create(at(LISTENER_CLASSES, undefined), { apiVersion: GV, kind: 'ListenerClass', metadata: { name: 'dash-internal' }, spec: { serviceType: 'ClusterIP' } });
    const port = await freePort();
    const endpoint = path.join(dir, 'csi.sock');
    const op = spawnOperator(t, ['run', 'controller', '--listener-class-preset=none', `--watch-namespace=${NS}`, `--http-address=127.0.0.1:${port}`], {
      KUBECONFIG: cluster.kubeconfig, CSI_ENDPOINT: `unix://${endpoint}`, ...SHARED_PLANE_ENV, WEBHOOK_ADDRESS: `127.0.0.1:${await freePort()}`,
    });
    await op.waitLog(/Caches synced; reconciling/, 'the controller reconciling', 60_000);
    const csi = new CsiClient(endpoint);
    cleanups.push(() => { csi.close(); });
    const scrapes: Scrape[] = [];
    const start = performance.now();
    const wallStart = Date.now();
    let scraping = true;
    const scraper = (async (): Promise<void> => {
      while (scraping && performance.now() - start < 200_000) {
        const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
        if (text !== '') scrapes.push({ t: performance.now() - start, samples: parseProm(text) });
        await sleep(1000);
      }
    })();
    const listener = (i: number, ports: number[]): Record<string, unknown> => ({
      apiVersion: GV, kind: 'Listener', metadata: { name: `l-${i}`, namespace: NS },
      spec: { className: i % 50 === 7 ? 'no-such-class' : 'dash-internal', ports: ports.map((p) => ({ name: `p${p}`, port: p })) },
    });
    await sleep(5000);
    const counts = await Promise.all([
      paced(performance.now(), n, 20, 45_000, (i) => client.create(at(LISTENERS, NS), listener(i, [80]))),
      (async () => {
        await sleep(15_000);
        return paced(performance.now(), 200, 5, 40_000, async (i) => {
          const pvc = `pvc-${i}`;
          if (i % 10 !== 9) await createPvc(client, NS, pvc, { annotations: { [CLASS]: 'dash-internal' } });
          return csi.call('Controller', 'CreateVolume', {
            name: `vol-${i}`, capacity_range: { required_bytes: 1 }, volume_capabilities: [mountCapability],
            parameters: { 'csi.storage.k8s.io/pvc/name': pvc, 'csi.storage.k8s.io/pvc/namespace': NS },
          });
        });
      })(),
      (async () => {
        await sleep(45_000);
        return paced(performance.now(), n, 25, 30_000, (i) => client.mergePatch(at(LISTENERS, NS, `l-${i}`), { spec: { ports: [{ name: 'p80', port: 80 }, { name: 'p443', port: 443 }] } }));
      })(),
      (async () => {
        await sleep(75_000);
        return paced(performance.now(), Math.floor(n / 3), 25, 15_000, (i) => client.delete(at(LISTENERS, NS, `l-${i * 3}`)));
      })(),
    ]);
    await sleep(10_000);
    scraping = false;
    await scraper;
    const end = scrapes.at(-1)?.t ?? 1;
    const note = `${counts[0]} Listeners created at 20/s, ${counts[1]} CSI CreateVolume calls at 5/s, ${counts[2]} Listeners changed, ${counts[3]} deleted; local control plane, one controller, 2 cores; scraped every second`;
    const svg = dashboardSvg('Listener operator: the dashboard\'s panels under load', note, panels(scrapes, wallStart), 0, end);
    await mkdir(values.out, { recursive: true });
    await writeFile(path.join(values.out, 'dashboard.svg'), svg);
    const png = new Resvg(svg, { fitTo: { mode: 'original' }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
    await writeFile(path.join(values.out, 'dashboard.png'), png);
    process.stdout.write(`${note}\nwrote ${path.join(values.out, 'dashboard.svg')} and dashboard.png (${scrapes.length} scrapes)\n`);
    await op.stop();
  } finally {
    for (const c of cleanups.reverse()) await c();
    await rm(dir, { recursive: true, force: true });
    await cluster.stop();
  }
}

await main();
