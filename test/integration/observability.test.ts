// The chart's monitoring objects and the log files it switches on, against the real tools: helm
// renders them, promtool (built from its Go module) checks the alert rules, and the real
// controller, started against the shared control plane, exposes every metric the dashboard and the
// rules name. The chart's file-log settings, run by the real binary, write tracing-subscriber JSON
// into files named as upstream names them; on a full disk the operator warns once and serves on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { freePort } from '../support/cluster.ts';
import { CsiClient, tempDir } from '../support/csi.ts';
import { CHART_DIR, container, renderChart, toolsBin } from '../support/helm.ts';
import { eventually, freshNamespace, testClient } from '../support/k8s.ts';
import { createClass, createListener, waitStatus } from '../support/listeners.ts';
import { installCrds } from '../support/operator.ts';
import { SHARED_PLANE_ENV, spawnOperator } from '../support/operator-process.ts';
import { assertTracingShape } from '../fixtures/tracing-shape.ts';

const run = promisify(execFile);
const MONITORING = ['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule'];
const ALL_ON = { image: { repository: 'r' }, metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } } };

interface RuleGroup { name: string; rules: { alert?: string; expr: string }[] }

async function dashboardExprs(): Promise<string[]> {
  const d = JSON.parse(await readFile(path.join(CHART_DIR, 'dashboards', 'listener-operator.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  return d.panels.flatMap((p) => p.targets.map((t) => t.expr));
}

async function ruleGroups(): Promise<RuleGroup[]> {
  const r = await renderChart(ALL_ON, { apiVersions: MONITORING });
  return (r.get('PrometheusRule').spec as { groups: RuleGroup[] }).groups;
}

// PromQL words that are not metric names.
const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'rate', 'irate', 'increase', 'by', 'without', 'on', 'ignoring', 'and', 'or', 'unless', 'bool',
  'histogram_quantile', 'clamp_min', 'clamp_max', 'min_over_time', 'max_over_time', 'time', 'vector', 'absent', 'label_values', 'offset',
]);

/** The metric names a PromQL expression reads (label matchers, ranges, grouping labels and functions left out). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .replace(/"[^"]*"/g, ' ');
  return [...new Set((stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []).filter((w) => !PROMQL_WORDS.has(w) && !w.startsWith('$')))];
}

test('metric names are read out of PromQL as intended', () => {
  assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (le, verb) (rate(rest_client_request_duration_seconds_bucket{namespace="$namespace"}[$__rate_interval])))'), ['rest_client_request_duration_seconds_bucket']);
  assert.deepEqual(metricNames('(max(leader_election_master_status{name="x"}) or vector(0)) < 1'), ['leader_election_master_status']);
});

test('chart: the ServiceMonitor and PrometheusRule only where the cluster serves their kinds; the dashboard ConfigMap with Grafana\'s label', async () => {
  const without = await renderChart(ALL_ON);
  assert.deepEqual(without.all('ServiceMonitor'), []);
  assert.deepEqual(without.all('PrometheusRule'), []);
  const withCrds = await renderChart(ALL_ON, { apiVersions: MONITORING });
  const sm = withCrds.get('ServiceMonitor');
  const svc = withCrds.get('Service', 'listener-operator-metrics');
  const selector = (sm.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
  for (const [k, v] of Object.entries(selector)) assert.equal(svc.metadata.labels?.[k], v, `the ServiceMonitor selects the metrics Service by ${k}`);
  assert.equal((svc.spec as { clusterIP: string }).clusterIP, 'None');
  const cm = withCrds.get('ConfigMap', 'listener-operator-dashboard');
  assert.equal(cm.metadata.labels?.grafana_dashboard, '1');
  const json = (cm.data as Record<string, string>)['listener-operator.json'] ?? '';
  assert.equal((JSON.parse(json) as { uid: string }).uid, 'listener-operator');
  // Off by default: nothing of it is rendered.
  const defaults = await renderChart({ image: { repository: 'r' } }, { apiVersions: MONITORING });
  for (const kind of ['ServiceMonitor', 'PrometheusRule']) assert.deepEqual(defaults.all(kind), []);
  assert.equal(defaults.all('ConfigMap').length, 0);
});

test('promtool check rules: the rendered PrometheusRule\'s rules are valid', async (t) => {
  const dir = await tempDir(t, 'promtool-');
  const file = path.join(dir, 'rules.yaml');
  const groups = await ruleGroups();
  await writeFile(file, stringify({ groups }));
  const { stdout, stderr } = await run(path.join(toolsBin(), 'promtool'), ['check', 'rules', file]);
  t.diagnostic(`promtool check rules: ${(stdout + stderr).trim().replace(/\n/g, ' | ')}`);
  assert.match(stdout, /SUCCESS: 5 rules found/);
  assert.deepEqual(groups.flatMap((g) => g.rules.map((r) => r.alert)), [
    'ListenerOperatorReconcileErrors', 'ListenerOperatorQueueNotDraining', 'ListenerOperatorCsiErrors', 'ListenerOperatorNoLeader', 'ListenerOperatorWebhookCertificateExpiry',
  ]);
});

test('every metric the dashboard and the alert rules name is exposed by the real controller', async (t) => {
  const client = await testClient();
  t.after(() => { client.close(); });
  await installCrds(client);
  const ns = await freshNamespace(t, client, 'metrics');
  await createClass(t, client, `${ns}-internal`, { serviceType: 'ClusterIP' });
  const dir = await tempDir(t, 'metrics-');
  const endpoint = path.join(dir, 'csi.sock');
  const op = spawnOperator(t, ['run', 'controller', '--listener-class-preset=none', `--watch-namespace=${ns}`, '--http-address=127.0.0.1:0', '--console-log-format=json'], {
    KUBECONFIG: process.env.KUBECONFIG ?? '', CSI_ENDPOINT: `unix://${endpoint}`, ...SHARED_PLANE_ENV,
    // The conversion webhook (for its certificate's expiry), on a port of its own.
    WEBHOOK_ADDRESS: `127.0.0.1:${await freePort()}`,
  });
  const port = Number((await op.waitLog(/"port":(\d+)[^\n]*"target":"listener_operator::http"/, 'the HTTP port'))[1]);
  await op.waitLog(/Caches synced; reconciling/, 'the controller reconciling', 60_000);
  // Something to count: a reconcile and a CSI call.
  await createListener(client, ns, 'web', { className: `${ns}-internal`, ports: [{ name: 'http', port: 80 }] });
  await waitStatus(client, ns, 'web', 'an address', (s) => (s.ingressAddresses?.length ?? 0) > 0);
  const csi = new CsiClient(endpoint);
  t.after(() => { csi.close(); });
  await csi.call('Identity', 'Probe', {});
  const wanted = [...new Set([...(await dashboardExprs()), ...(await ruleGroups()).flatMap((g) => g.rules.map((r) => r.expr))].flatMap(metricNames))].sort();
  const exposed = await eventually('every named metric on /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const names = new Set(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)?.[0] ?? ''));
    return wanted.every((w) => names.has(w)) ? names : undefined;
  }).catch(async (e: unknown) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    throw new Error(`${String(e)}; missing: ${wanted.filter((w) => !text.includes(`\n${w}`)).join(', ')}`);
  });
  t.diagnostic(`${wanted.length} metric names in the dashboard and rules, all exposed (of ${exposed.size} series names): ${wanted.join(', ')}`);
});

/** The chart's file-log variables (both workloads), after checking where their files go. */
async function chartFileLogEnv(values: object): Promise<Record<string, string>> {
  const r = await renderChart(values);
  const env: Record<string, string> = {};
  for (const [kind, name] of [['Deployment', 'csi-controller-service'], ['DaemonSet', 'csi-node-service']] as const) {
    const w = r.workload(kind);
    const c = container(w, name);
    const vars = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value ?? '']));
    assert.equal(vars.FILE_LOG_DIRECTORY, '/stackable/logs/listener-operator');
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${name}: read-only root filesystem`);
    const mount = c.volumeMounts?.find((m) => m.mountPath === vars.FILE_LOG_DIRECTORY);
    assert.ok(mount !== undefined, `${name} mounts a volume at FILE_LOG_DIRECTORY`);
    assert.ok(w.spec.template.spec.volumes?.find((v) => v.name === mount.name)?.emptyDir !== undefined, `${name}: the log volume is an emptyDir`);
    Object.assign(env, vars);
  }
  return env;
}

test('chart: telemetry.fileLog mounts a writable directory at FILE_LOG_DIRECTORY; the binary run with that environment writes upstream\'s files, and they rotate', async (t) => {
  const env = await chartFileLogEnv({ image: { repository: 'r' }, telemetry: { fileLog: { enabled: true, rotationPeriod: 'minutely', maxFiles: 3, level: 'debug' } } });
  // The chart's variables, the directory where the emptyDir would be mounted. The process's clock
  // is shifted so that a minute boundary comes 6 s after its start (its first file must be opened
  // before it, also on a busy machine): the minutely file rotates within the test, without
  // waiting for the wall clock.
  const dir = await tempDir(t, 'file-log-');
  const toBoundary = 60_000 - (Date.now() % 60_000);
  const op = spawnOperator(t, ['run', 'node', '--node-name=n1', '--http-address=127.0.0.1:0'], {
    KUBECONFIG: process.env.KUBECONFIG ?? '', CSI_ENDPOINT: `unix://${path.join(dir, 'csi.sock')}`,
    FILE_LOG_DIRECTORY: path.join(dir, 'logs'), FILE_LOG_ROTATION_PERIOD: env.FILE_LOG_ROTATION_PERIOD ?? '', FILE_LOG_MAX_FILES: env.FILE_LOG_MAX_FILES ?? '', FILE_LOG_LEVEL: env.FILE_LOG_LEVEL ?? '',
    NODE_OPTIONS: `--import=${path.join(import.meta.dirname, '..', 'support', 'clock-offset.ts')}`,
    LISTENER_TEST_CLOCK_OFFSET_MS: String(toBoundary - 6000),
  });
  await op.waitLog(/CSI server listening/, 'the CSI server');
  // A probe is logged at debug level only: FILE_LOG_LEVEL=debug must let it into the file.
  const csi = new CsiClient(path.join(dir, 'csi.sock'));
  t.after(() => { csi.close(); });
  const logFiles = async (): Promise<string[]> => (await readdir(path.join(dir, 'logs')).catch(() => [])).filter((f) => f.endsWith('.tracing-rs.json')).sort();
  const files = await eventually('a second file, after the minute boundary', async () => {
    await csi.call('Identity', 'Probe', {});
    const f = await logFiles();
    return f.length >= 2 ? f : undefined;
  }, 30_000);
  for (const f of files) assert.match(f, /^stackable-listener-operator\.\d{4}-\d\d-\d\d-\d\d-\d\d\.tracing-rs\.json$/);
  const minuteOf = (f: string): number => {
    const m = /\.(\d{4}-\d\d-\d\d)-(\d\d)-(\d\d)\./.exec(f);
    return Date.parse(`${m?.[1] ?? ''}T${m?.[2] ?? ''}:${m?.[3] ?? ''}:00Z`);
  };
  assert.equal(minuteOf(files[1] ?? '') - minuteOf(files[0] ?? ''), 60_000, `consecutive minutes: ${files.join(', ')}`);
  const lines = (await Promise.all(files.map((f) => readFile(path.join(dir, 'logs', f), 'utf8')))).join('').trim().split('\n');
  for (const l of lines) assertTracingShape(JSON.parse(l));
  assert.ok(lines.some((l) => l.includes('CSI server listening')), 'the start-up lines');
  assert.ok(lines.some((l) => l.includes('"level":"DEBUG"')), 'FILE_LOG_LEVEL=debug reaches the file');
  assert.equal(await op.stop(), 0);
});

test('log files on a full disk: one console warning, the lines dropped and counted, the operator serves on', async (t) => {
  // A 64 KiB tmpfs (the test runs as root, as the whole test command does): FILE_LOG_LEVEL=debug
  // and a stream of probes (each logged at debug) fill it within seconds.
  const dir = await tempDir(t, 'full-disk-');
  // The mount point lives outside `dir`, and is unmounted before it is removed.
  const logs = await mkdtemp(path.join(tmpdir(), 'full-disk-logs-'));
  await run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'listener-operator-full-disk-test', logs]);
  t.after(async () => {
    await run('umount', ['-l', logs]).catch(() => undefined);
    await rm(logs, { recursive: true, force: true });
  });
  const port = await freePort();
  const op = spawnOperator(t, ['run', 'node', '--node-name=n1', `--http-address=127.0.0.1:${port}`], {
    KUBECONFIG: process.env.KUBECONFIG ?? '', CSI_ENDPOINT: `unix://${path.join(dir, 'csi.sock')}`,
    FILE_LOG_DIRECTORY: logs, FILE_LOG_LEVEL: 'debug', FILE_LOG_ROTATION_PERIOD: 'never',
  });
  await op.waitLog(/CSI server listening/, 'the CSI server');
  const csi = new CsiClient(path.join(dir, 'csi.sock'));
  t.after(() => { csi.close(); });
  const dropped = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(/^listener_operator_telemetry_dropped_total\{signal="file_logs",reason="write_failed"\} (\d+)/m.exec(text)?.[1] ?? 0);
  };
  let probes = 0;
  await eventually('lines dropped once the disk is full', async () => {
    for (let i = 0; i < 200; i++, probes++) await csi.call('Identity', 'Probe', {});
    return (await dropped()) > 0 ? true : undefined;
  }, 60_000);
  // Still serving, and more lines are dropped, not queued.
  const before = await dropped();
  for (let i = 0; i < 100; i++) assert.deepEqual(await csi.call('Identity', 'Probe', {}), { ready: { value: true } });
  assert.ok(await dropped() > before, 'later lines are dropped too');
  const warnings = op.log().split('\n').filter((l) => l.includes('Writing log files failed'));
  assert.equal(warnings.length, 1, `one warning on the console:\n${warnings.join('\n')}`);
  assert.match(warnings[0] ?? '', /ENOSPC|no space/i);
  t.diagnostic(`full disk after ${probes} probes: one warning, ${await dropped()} lines dropped, the node plugin serves on`);
  assert.equal(await op.stop(), 0);
});
