// OTLP export against a real OpenTelemetry Collector (tools/otelcol: OTLP receiver, file exporter):
// `run controller` as a child process with OTEL_TRACE_EXPORTER_ENABLED and OTEL_LOG_EXPORTER_ENABLED
// sends a span per reconcile and per CSI call, each the parent of its API requests' spans, and its
// log lines carrying their span's trace id. Then the collector is SIGKILLed: the operator keeps
// reconciling, its resident size stays flat, and what it could not deliver is counted. And a
// collector that hangs (accepts, never answers): the bounded queue drops and counts, shutdown is
// not held up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { LISTENERS, at } from '../../src/k8s/resources.ts';
import { CsiClient, createPvc, mountCapability, tempDir } from '../support/csi.ts';
import { eventually, freshNamespace, testClient } from '../support/k8s.ts';
import { createClass, createListener, waitStatus } from '../support/listeners.ts';
import { installCrds } from '../support/operator.ts';
import { SHARED_PLANE_ENV, spawnOperator, type OperatorProcess } from '../support/operator-process.ts';
import { attr, startCollector, type OtlpSpan } from '../support/otelcol.ts';

const CLASS = 'listeners.stackable.tech/listener-class';

async function rssMiB(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${String(pid)}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) / 1024;
}

async function metric(port: number, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

const childrenOf = (spans: OtlpSpan[], parent: OtlpSpan): OtlpSpan[] => spans.filter((s) => s.parentSpanId === parent.spanId && s.traceId === parent.traceId);

test('reconciles and CSI calls reach a real collector as spans (with API request children) and logs; a collector outage changes nothing', async (t) => {
  const client = await testClient();
  t.after(() => { client.close(); });
  await installCrds(client);
  const ns = await freshNamespace(t, client, 'otlp');
  await createClass(t, client, `${ns}-internal`, { serviceType: 'ClusterIP' });
  const collector = await startCollector(t);
  const dir = await tempDir(t, 'otlp-');
  const endpoint = path.join(dir, 'csi.sock');
  const op: OperatorProcess = spawnOperator(t, ['run', 'controller', '--listener-class-preset=none', `--watch-namespace=${ns}`, '--http-address=127.0.0.1:0', '--console-log-format=json'], {
    KUBECONFIG: process.env.KUBECONFIG ?? '', CSI_ENDPOINT: `unix://${endpoint}`, ...SHARED_PLANE_ENV,
    OTEL_TRACE_EXPORTER_ENABLED: 'true', OTEL_LOG_EXPORTER_ENABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    // Deliver quickly (the test waits on the collector's file), give up quickly while it is down,
    // and a small queue, so that the outage fills it within the test.
    OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_BLRP_SCHEDULE_DELAY: '200', OTEL_EXPORTER_OTLP_TIMEOUT: '1000', OTEL_BSP_MAX_QUEUE_SIZE: '256', OTEL_BLRP_MAX_QUEUE_SIZE: '256',
  });
  const port = Number((await op.waitLog(/"port":(\d+)[^\n]*"target":"listener_operator::http"/, 'the HTTP port'))[1]);
  await op.waitLog(/Caches synced; reconciling/, 'the controller reconciling', 60_000);

  // A reconcile: one span per run, its Service apply and status patch its children.
  await createListener(client, ns, 'web', { className: `${ns}-internal`, ports: [{ name: 'http', port: 80 }] });
  await waitStatus(client, ns, 'web', 'an address', (s) => (s.ingressAddresses?.length ?? 0) > 0);
  const reconcile = await eventually('a reconcile span of ns/web with its API request children', async () => {
    const spans = (await collector.spans()).map((s) => s.span);
    return spans.find((s) => s.name === 'reconcile' && attr(s.attributes, 'listener.name') === 'web' && attr(s.attributes, 'reconcile.result') === 'success'
      && childrenOf(spans, s).some((c) => c.name === 'apply services'));
  });
  assert.equal(attr(reconcile.attributes, 'listener.namespace'), ns);
  assert.equal(attr(reconcile.attributes, 'reconcile.requeue'), false);
  const services = (await collector.spans()).find((s) => s.span.spanId === reconcile.spanId)?.service;
  assert.equal(services, 'stackable-listener-operator', 'resource service.name (upstream\'s)');
  const kids = childrenOf((await collector.spans()).map((s) => s.span), reconcile);
  const apply = kids.find((c) => c.name === 'apply services');
  assert.equal(attr(apply?.attributes, 'http.request.method'), 'PATCH');
  assert.ok([200, 201].includes(Number(attr(apply?.attributes, 'http.response.status_code'))), 'the apply answered 200 or 201');
  assert.equal(attr(apply?.attributes, 'k8s.namespace.name'), ns);

  // A CSI call: its span, gRPC code and volume, and the PVC read as its child.
  await createPvc(client, ns, 'data', { annotations: { [CLASS]: `${ns}-internal` } });
  const csi = new CsiClient(endpoint);
  t.after(() => { csi.close(); });
  await csi.call('Controller', 'CreateVolume', {
    name: 'pvc-otlp-1', capacity_range: { required_bytes: 1 }, volume_capabilities: [mountCapability],
    parameters: { 'csi.storage.k8s.io/pvc/name': 'data', 'csi.storage.k8s.io/pvc/namespace': ns },
  });
  const rpc = await eventually('the CreateVolume span with its PVC GET child', async () => {
    const spans = (await collector.spans()).map((s) => s.span);
    return spans.find((s) => s.name === 'csi.v1.Controller/CreateVolume' && attr(s.attributes, 'csi.name') === 'pvc-otlp-1'
      && childrenOf(spans, s).some((c) => c.name === 'get persistentvolumeclaims'));
  });
  assert.equal(attr(rpc.attributes, 'rpc.grpc.status_code'), 0);
  assert.equal(attr(rpc.attributes, 'rpc.method'), 'CreateVolume');
  assert.equal(rpc.kind, 2, 'SPAN_KIND_SERVER');

  // Logs: the CSI call's "RPC succeeded" line, in its trace, with its span fields.
  const line = await eventually('the CreateVolume log record', async () => (await collector.logs())
    .find((l) => l.body?.stringValue === 'RPC succeeded' && attr(l.attributes, 'span.name') === 'Controller.CreateVolume'));
  assert.equal(attr(line.attributes, 'span.volumeName'), 'pvc-otlp-1');
  assert.equal(line.traceId, rpc.traceId, 'the log record carries the span\'s trace id');
  assert.equal(line.severityText, 'INFO');
  assert.equal(attr(line.attributes, 'target'), 'listener_operator::csi');

  // The collector dies. The operator keeps reconciling: Listeners created and changed during the
  // outage all get their Service and status, and memory stays flat while the exports fail.
  collector.kill();
  const rssBefore = await rssMiB(op.pid);
  const samples: number[] = [];
  const n = 20;
  const ROUNDS = 15;
  for (let i = 0; i < n; i++) await createListener(client, ns, `down-${i}`, { className: `${ns}-internal`, ports: [{ name: 'http', port: 80 }] });
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < n; i++) {
      await client.mergePatch(at(LISTENERS, ns, `down-${i}`), { metadata: { annotations: { round: String(round) } } });
    }
    samples.push(await rssMiB(op.pid));
  }
  for (let i = 0; i < n; i++) await waitStatus(client, ns, `down-${i}`, 'an address during the outage', (s) => (s.ingressAddresses?.length ?? 0) > 0);
  const reconciles = await metric(port, 'controller_runtime_reconcile_total', { result: 'success' });
  const dropped = await eventually('spans counted as not delivered', async () => {
    const d = await metric(port, 'listener_operator_telemetry_dropped_total', { signal: 'traces' });
    return d > 0 ? d : undefined;
  }, 30_000);
  const full = await metric(port, 'listener_operator_telemetry_dropped_total', { signal: 'traces', reason: 'queue_full' });
  const logsLost = await metric(port, 'listener_operator_telemetry_dropped_total', { signal: 'logs' });
  const rssAfter = await rssMiB(op.pid);
  t.diagnostic(`collector outage: ${n} Listeners created and patched ${ROUNDS} times each; reconciles (success) ${reconciles}; spans not delivered ${dropped} (queue full: ${full}); log records not delivered ${logsLost}; `
    + `RSS ${rssBefore.toFixed(1)} MiB before, ${samples.map((s) => s.toFixed(1)).join(', ')} during, ${rssAfter.toFixed(1)} MiB after`);
  // Flat: the growth of the first rounds (caches of 20 more Listeners, JIT) levels off.
  assert.ok(rssAfter - rssBefore < 40, `resident size grew by ${(rssAfter - rssBefore).toFixed(1)} MiB during the outage`);
  assert.equal(op.log().includes('"level":"ERROR"'), false, 'no error logged by the operator');
  const said = op.log().split('\n').filter((l) => l.includes('Exporting traces over OTLP failed'));
  assert.equal(said.length, 1, `the outage is said once on the console:\n${said.join('\n')}`);
  assert.equal(await op.stop(), 0);
});

test('a collector that accepts connections and never answers: exports time out, the bounded queue drops and counts, reconciling goes on', async (t) => {
  const client = await testClient();
  t.after(() => { client.close(); });
  await installCrds(client);
  const ns = await freshNamespace(t, client, 'otlp-hung');
  await createClass(t, client, `${ns}-internal`, { serviceType: 'ClusterIP' });
  // A black hole on loopback: takes every connection, reads nothing, says nothing.
  const sockets = new Set<Socket>();
  const hole = createServer((s) => { sockets.add(s); s.pause(); });
  await new Promise<void>((r) => { hole.listen(0, '127.0.0.1', r); });
  t.after(() => { for (const s of sockets) s.destroy(); hole.close(); });
  const holePort = (hole.address() as AddressInfo).port;
  const dir = await tempDir(t, 'otlp-hung-');
  const op = spawnOperator(t, ['run', 'controller', '--listener-class-preset=none', `--watch-namespace=${ns}`, '--http-address=127.0.0.1:0', '--console-log-format=json'], {
    KUBECONFIG: process.env.KUBECONFIG ?? '', CSI_ENDPOINT: `unix://${path.join(dir, 'csi.sock')}`, ...SHARED_PLANE_ENV,
    OTEL_TRACE_EXPORTER_ENABLED: 'true', OTEL_LOG_EXPORTER_ENABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${holePort}`,
    OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_EXPORTER_OTLP_TIMEOUT: '2000', OTEL_BSP_MAX_QUEUE_SIZE: '64', OTEL_BLRP_MAX_QUEUE_SIZE: '64',
  });
  const port = Number((await op.waitLog(/"port":(\d+)[^\n]*"target":"listener_operator::http"/, 'the HTTP port'))[1]);
  await op.waitLog(/Caches synced; reconciling/, 'the controller reconciling', 60_000);
  const rssBefore = await rssMiB(op.pid);
  const n = 20;
  for (let i = 0; i < n; i++) await createListener(client, ns, `l-${i}`, { className: `${ns}-internal`, ports: [{ name: 'http', port: 80 }] });
  const started = Date.now();
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < n; i++) await client.mergePatch(at(LISTENERS, ns, `l-${i}`), { metadata: { annotations: { round: String(round) } } });
  }
  for (let i = 0; i < n; i++) await waitStatus(client, ns, `l-${i}`, 'an address', (s) => (s.ingressAddresses?.length ?? 0) > 0);
  const convergedMs = Date.now() - started;
  const full = await eventually('spans dropped because the queue was full', async () => {
    const d = await metric(port, 'listener_operator_telemetry_dropped_total', { signal: 'traces', reason: 'queue_full' });
    return d > 0 ? d : undefined;
  }, 30_000);
  // The hung exports end by their timeout (OTEL_EXPORTER_OTLP_TIMEOUT), and are counted: the queue
  // is not held by them for ever.
  const failed = await eventually('exports that timed out, counted', async () => {
    const d = await metric(port, 'listener_operator_telemetry_dropped_total', { signal: 'traces', reason: 'export_failed' });
    return d > 0 ? d : undefined;
  }, 30_000);
  const rssAfter = await rssMiB(op.pid);
  t.diagnostic(`hung collector: ${n} Listeners patched 10 times, converged ${convergedMs} ms after the first patch; spans dropped: queue full ${full}, export failed (timed out) ${failed}; RSS ${rssBefore.toFixed(1)} → ${rssAfter.toFixed(1)} MiB`);
  assert.ok(rssAfter - rssBefore < 40, `resident size grew by ${(rssAfter - rssBefore).toFixed(1)} MiB`);
  // Shutdown is not held up by the hung exports (the flush is bounded).
  const stopping = Date.now();
  assert.equal(await op.stop(), 0);
  assert.ok(Date.now() - stopping < 12_000, `stopped in ${Date.now() - stopping} ms`);
});
