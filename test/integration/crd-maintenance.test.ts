// CRD maintenance and the conversion webhook, on a control plane of this file's own that starts
// with no CRDs at all (the shared one cannot promise that): `run controller` as upstream's chart
// runs it installs the three CRDs with their conversion stanza, serves a webhook whose certificate
// their caBundle verifies, answers ConversionReviews over HTTPS, rotates its certificate with no
// failed request, creates the presets once the CRDs are established, all in one start; with
// maintenance off it touches no CRD, and still creates the presets once an admin installs them.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { KubeClient } from '../../src/k8s/client.ts';
import { CRDS, LISTENERS, LISTENER_CLASSES, NAMESPACES, NODES, at } from '../../src/k8s/resources.ts';
import { CRD_FIELD_MANAGER } from '../../src/maintenance/crds.ts';
import { issueCertificate } from '../../src/webhook/certificates.ts';
import { freePort, kubectl, startCluster, type Cluster } from '../support/cluster.ts';
import { CHART_DIR, helmPath, renderChart, type K8sObject } from '../support/helm.ts';
import { serviceAccountToken, startRecordingProxy, writeTokenKubeconfig } from '../support/rbac.ts';
import { eventually } from '../support/k8s.ts';
import { installCrds } from '../support/operator.ts';
import { spawnOperator, type OperatorProcess } from '../support/operator-process.ts';

const execFileAsync = promisify(execFile);
const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures');
const GROUP = 'listeners.stackable.tech';
const CRD_NAMES = [`listenerclasses.${GROUP}`, `listeners.${GROUP}`, `podlisteners.${GROUP}`];
const NAMESPACE = 'stackable-operators';
const SERVICE = 'listener-operator';
const SERVER_NAME = `${SERVICE}.${NAMESPACE}.svc`;

interface Crd {
  metadata: { name: string; managedFields?: { manager: string }[] };
  spec: { conversion?: { strategy: string; webhook?: { conversionReviewVersions: string[]; clientConfig: { service: Record<string, unknown>; caBundle: string } } } };
}

async function kubectlApply(cluster: Cluster, o: K8sObject): Promise<void> {
  await kubectl(cluster, ['apply', '--server-side', '--field-manager=crd-maintenance-test', `--namespace=${NAMESPACE}`, '-f', '-'], JSON.stringify(o));
}

async function crds(client: KubeClient): Promise<Crd[]> {
  return (await client.list<Crd>(at(CRDS, undefined))).items.filter((c) => CRD_NAMES.includes(c.metadata.name));
}

/** What upstream's chart sets for the controller (values as rendered by default), plus our test-only addresses. */
async function upstreamEnv(kubeconfig: string, extra: Record<string, string>): Promise<{ env: Record<string, string>; webhookPort: number }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'crd-maint-'));
  const webhookPort = await freePort();
  return {
    webhookPort,
    env: {
      KUBECONFIG: kubeconfig, CSI_ENDPOINT: path.join(dir, 'csi.sock'), OPERATOR_IMAGE: 'localhost/listener-operator:dev', OPERATOR_NAMESPACE: NAMESPACE,
      OPERATOR_SERVICE_NAME: SERVICE, IMAGE_REPOSITORY: 'localhost', KUBERNETES_NODE_NAME: 'no-kubelet-here', LISTENER_CLASS_PRESET: 'stable-nodes',
      // No kubelet on this control plane to read the domain from; no port 8443 of our own.
      KUBERNETES_CLUSTER_DOMAIN: 'cluster.local', HTTP_ADDRESS: '127.0.0.1:0', WEBHOOK_ADDRESS: `127.0.0.1:${webhookPort}`,
      ...extra,
    },
  };
}

interface Answer { status: number; body: string; fingerprint: string | undefined }

/** One HTTPS request to the webhook on a new connection, trusting `ca` for SERVER_NAME (bounded: 5 s). */
function webhookRequest(port: number, ca: string, o: { method?: string; path: string; body?: Buffer | string; contentType?: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // A server may answer before it has read the whole body (413) and close: the answer counts.
    let answered = false;
    const body = o.body === undefined ? undefined : Buffer.from(o.body);
    const req = https.request({
      host: '127.0.0.1', port, servername: SERVER_NAME, ca, method: o.method ?? 'POST', path: o.path, agent: false, timeout: 5000,
      headers: { ...(o.contentType !== undefined ? { 'Content-Type': o.contentType } : {}), ...(body !== undefined ? { 'Content-Length': body.length } : {}) },
    }, (res) => {
      answered = true;
      const fingerprint = res.socket instanceof TLSSocket ? res.socket.getPeerCertificate().fingerprint256 : undefined;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: text, fingerprint }); });
    });
    req.on('timeout', () => { req.destroy(new Error('timed out')); });
    req.on('error', (e) => { if (!answered) reject(e); });
    req.end(body);
  });
}

const review = (uid: string, objects: unknown[], desired = `${GROUP}/v1alpha1`): string => JSON.stringify({
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', request: { uid, desiredAPIVersion: desired, objects },
});
const aListener = { apiVersion: `${GROUP}/v1alpha1`, kind: 'Listener', metadata: { name: 'l', namespace: 'ns', uid: 'u' }, spec: { className: 'c' } };

function caBundleOf(crd: Crd | undefined): string {
  return Buffer.from(crd?.spec.conversion?.webhook?.clientConfig.caBundle ?? '', 'base64').toString('utf8');
}

async function presetNames(client: KubeClient): Promise<string[] | undefined> {
  const list = await client.list<{ metadata: { name: string } }>(at(LISTENER_CLASSES, undefined)).catch(() => undefined);
  const names = list?.items.map((c) => c.metadata.name).sort();
  return names?.length === 3 ? names : undefined;
}

test('CRD maintenance and the conversion webhook, from a bare API server', { timeout: 300_000 }, async (t) => {
  const cluster = await startCluster({ scheduler: false, controllerManager: false, log: () => undefined });
  t.after(() => cluster.stop());
  const client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  t.after(() => { client.close(); });
  await client.create(at(NAMESPACES, undefined), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  let webhook: { port: number; op: OperatorProcess } | undefined;
  t.after(async () => { await webhook?.op.stop(); });

  await t.test('helm upgrade from our earlier chart, which shipped the CRDs, hands them to the operator: no custom resource lost', async (st: TestContext) => {
    const helm = (...args: string[]): Promise<{ stdout: string }> => execFileAsync(helmPath(), [...args, `--kubeconfig=${cluster.kubeconfig}`, `--namespace=${NAMESPACE}`], { timeout: 60_000 });
    await helm('install', 'listener-operator', path.join(FIXTURES, 'listener-operator-0.1.0.tgz'));
    assert.deepEqual((await crds(client)).map((c) => c.metadata.name).sort(), CRD_NAMES, 'the earlier chart installs the CRDs');
    // Custom resources a user has made meanwhile.
    await client.create(at(LISTENER_CLASSES, undefined), { apiVersion: `${GROUP}/v1alpha1`, kind: 'ListenerClass', metadata: { name: 'users-class' }, spec: { serviceType: 'ClusterIP' } });
    await client.create(at(LISTENERS, NAMESPACE), { apiVersion: `${GROUP}/v1alpha1`, kind: 'Listener', metadata: { name: 'users-listener' }, spec: { className: 'users-class', ports: [{ name: 'http', port: 80 }] } });
    const { stdout } = await helm('upgrade', 'listener-operator', CHART_DIR);
    assert.match(stdout, /STATUS: deployed/);
    // Helm keeps the CRDs it no longer renders (their resource policy), with everything in them.
    assert.deepEqual((await crds(client)).map((c) => c.metadata.name).sort(), CRD_NAMES, 'the CRDs survive the upgrade');
    const { env } = await upstreamEnv(cluster.kubeconfig, {});
    const op = spawnOperator(st, ['run', 'controller'], env);
    await op.waitLog(/Caches synced/, 'the controller running');
    for (const crd of await crds(client)) {
      assert.equal(crd.spec.conversion?.strategy, 'Webhook', `${crd.metadata.name}: now maintained by the operator`);
      assert.ok((crd.metadata.managedFields ?? []).some((m) => m.manager === CRD_FIELD_MANAGER));
    }
    assert.equal((await client.get<{ spec: { serviceType: string } }>(at(LISTENER_CLASSES, undefined, 'users-class'))).spec.serviceType, 'ClusterIP');
    await client.get(at(LISTENERS, NAMESPACE, 'users-listener'));
    // And uninstalling the release no longer touches them.
    await helm('uninstall', 'listener-operator');
    assert.equal((await crds(client)).length, 3, 'the CRDs outlive the release');
    await client.get(at(LISTENERS, NAMESPACE, 'users-listener'));
    // Back to a bare API server for the tests below. The custom resources go first, while the
    // webhook still serves: the API server's cleanup of a deleted CRD's objects can otherwise
    // wait on a conversion webhook that is gone, retrying with a growing backoff.
    for (const kind of [LISTENERS, LISTENER_CLASSES]) {
      for (const o of (await client.list<{ metadata: { name: string; namespace?: string } }>(at(kind, undefined))).items) await client.delete(at(kind, o.metadata.namespace, o.metadata.name));
    }
    await eventually('the custom resources gone', async () => ((await client.list(at(LISTENERS, undefined))).items.length + (await client.list(at(LISTENER_CLASSES, undefined))).items.length === 0 ? true : undefined), 30_000);
    assert.equal(await op.stop(), 0, op.log());
    for (const name of CRD_NAMES) await client.delete(at(CRDS, undefined, name));
    await eventually('the CRDs gone', async () => ((await crds(client)).length === 0 ? true : undefined), 60_000);
  });

  await t.test('maintenance disabled touches no CRD; the presets come once an admin installs the CRDs', async (st: TestContext) => {
    const { env } = await upstreamEnv(cluster.kubeconfig, { DISABLE_CRD_MAINTENANCE: 'true' });
    const op = spawnOperator(st, ['run', 'controller'], env);
    await op.waitLog(/Waiting to create preset ListenerClass.*does not serve ListenerClasses yet/, 'the presets waiting for the CRDs');
    assert.deepEqual(await crds(client), [], 'no CRD installed by the operator');
    await installCrds(client); // the administrator
    assert.deepEqual(await eventually('the presets', () => presetNames(client)), ['cluster-internal', 'external-stable', 'external-unstable']);
    await op.waitLog(/Caches synced/, 'the controller running');
    for (const crd of await crds(client)) {
      assert.equal(crd.spec.conversion?.strategy ?? 'None', 'None', `${crd.metadata.name}: no conversion stanza`);
      assert.ok(!(crd.metadata.managedFields ?? []).some((m) => m.manager === CRD_FIELD_MANAGER), `${crd.metadata.name}: never written by the operator`);
    }
    assert.equal(await op.stop(), 0, op.log());
    // Back to a bare API server for the next test.
    for (const name of CRD_NAMES) await client.delete(at(CRDS, undefined, name));
    await eventually('the CRDs gone', async () => ((await crds(client)).length === 0 ? true : undefined), 60_000);
  });

  // The chart's ServiceAccount and ClusterRole (default values: CRD maintenance on, the cluster
  // domain read from the kubelet), behind a proxy that records every request's answer.
  const rbacDir = await mkdtemp(path.join(tmpdir(), 'crd-maint-rbac-'));
  const proxy = await startRecordingProxy(cluster.kubeconfig, rbacDir);
  t.after(() => proxy.close());
  const chart = await renderChart({}, { namespace: NAMESPACE });
  for (const o of chart.objects.filter((x) => ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(x.kind))) {
    await kubectlApply(cluster, o);
  }
  const saKubeconfig = await writeTokenKubeconfig(rbacDir, proxy.url, proxy.caPem, await serviceAccountToken(client, NAMESPACE, chart.get('ServiceAccount').metadata.name));
  const refused = (): string[] => proxy.requests.filter((q) => q.status === 401 || q.status === 403).map((q) => `${q.method} ${q.path} → ${q.status}`);

  await t.test('run controller, as the chart\'s ServiceAccount, installs the CRDs, serves the webhook they trust, converts, then creates the presets: one start', async (st: TestContext) => {
    const { env, webhookPort } = await upstreamEnv(saKubeconfig, {});
    proxy.requests.length = 0;
    const op = spawnOperator(undefined, ['run', 'controller'], env);
    webhook = { port: webhookPort, op };
    assert.deepEqual(await eventually('the presets', () => presetNames(client), 60_000), ['cluster-internal', 'external-stable', 'external-unstable']);
    await op.waitLog(/Caches synced/, 'the controller running');
    const installed = await crds(client);
    assert.deepEqual(installed.map((c) => c.metadata.name).sort(), CRD_NAMES);
    for (const crd of installed) {
      const conv = crd.spec.conversion;
      assert.equal(conv?.strategy, 'Webhook', crd.metadata.name);
      assert.deepEqual(conv.webhook?.conversionReviewVersions, ['v1']);
      assert.deepEqual(conv.webhook?.clientConfig.service, { name: SERVICE, namespace: NAMESPACE, path: `/convert/${crd.metadata.name}`, port: 8443 });
      assert.ok((crd.metadata.managedFields ?? []).some((m) => m.manager === CRD_FIELD_MANAGER), 'applied under upstream\'s field manager');
    }
    // The caBundle verifies the certificate the webhook serves: a real TLS handshake for the
    // Service's name. A CA that is not in the bundle does not.
    const bundle = caBundleOf(installed[0]);
    assert.match(bundle, /^-----BEGIN CERTIFICATE-----/);
    const health = await webhookRequest(webhookPort, bundle, { method: 'GET', path: '/health' });
    assert.deepEqual([health.status, health.body], [200, 'ok']);
    const served = new X509Certificate(Buffer.from(await new Promise<string>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: webhookPort, servername: SERVER_NAME, ca: bundle, path: '/health', agent: false }, (res) => {
        resolve(res.socket instanceof TLSSocket ? res.socket.getPeerX509Certificate()?.toString() ?? '' : '');
        res.resume();
      });
      req.on('error', reject);
    })));
    assert.ok(served.checkHost(SERVER_NAME) !== undefined, `the certificate names ${SERVER_NAME}`);
    const stranger = await issueCertificate({ dnsNames: [SERVER_NAME], caName: 'stranger', nowMs: Date.now(), lifetimeMs: 3_600_000 });
    await assert.rejects(webhookRequest(webhookPort, stranger.caPem, { method: 'GET', path: '/health' }), /certificate/);
    // A ConversionReview round-trips for each CRD.
    for (const name of CRD_NAMES) {
      const kind = { [`listenerclasses.${GROUP}`]: 'ListenerClass', [`listeners.${GROUP}`]: 'Listener', [`podlisteners.${GROUP}`]: 'PodListeners' }[name] ?? '';
      const obj = { ...aListener, kind };
      const a = await webhookRequest(webhookPort, bundle, { path: `/convert/${name}`, contentType: 'application/json', body: review(`uid-${kind}`, [obj]) });
      assert.equal(a.status, 200, a.body);
      assert.deepEqual(JSON.parse(a.body), { apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', response: { uid: `uid-${kind}`, convertedObjects: [obj], result: { status: 'Success' } } });
    }
    // In one start: the CRDs were applied before the presets were created, and nothing restarted.
    const log = op.log();
    assert.ok(log.indexOf('Applied CRD') >= 0 && log.indexOf('Applied CRD') < log.indexOf('Created preset ListenerClass'), 'CRDs, then presets');
    assert.equal((log.match(/Starting listener-operator controller/g) ?? []).length, 1);
    assert.deepEqual(refused(), [], 'the chart\'s RBAC allows CRD maintenance');
    assert.ok(proxy.requests.some((q) => q.method === 'PATCH' && q.path.includes('/customresourcedefinitions/') && q.status === 201), 'the CRDs were created through the proxy');
    st.diagnostic(`webhook on 127.0.0.1:${webhookPort}, certificate for ${served.subjectAltName ?? ''}, valid to ${served.validTo}`);
  });

  await t.test('bad input to the webhook: every malformed request gets a clear answer', async (st: TestContext) => {
    assert.ok(webhook !== undefined, 'the webhook of the previous test runs');
    const { port, op } = webhook;
    const bundle = caBundleOf((await crds(client))[0]);
    const crd = `/convert/listeners.${GROUP}`;
    const json = 'application/json';
    const cases: { what: string; req: Parameters<typeof webhookRequest>[2]; status: number; says: RegExp }[] = [
      { what: 'text/plain body', req: { path: crd, contentType: 'text/plain', body: review('u', []) }, status: 415, says: /content type must be application\/json/ },
      { what: 'no content type', req: { path: crd, body: review('u', []) }, status: 415, says: /content type must be application\/json/ },
      { what: 'not JSON', req: { path: crd, contentType: json, body: '{"apiVersion": ' }, status: 400, says: /the body is not JSON/ },
      { what: 'empty body', req: { path: crd, contentType: json, body: '' }, status: 400, says: /the body is not JSON/ },
      { what: 'a JSON array', req: { path: crd, contentType: json, body: '[]' }, status: 400, says: /not a JSON object/ },
      { what: 'deeply nested JSON', req: { path: crd, contentType: json, body: '['.repeat(200_000) + ']'.repeat(200_000) }, status: 400, says: /not a JSON object|not JSON/ },
      { what: 'an AdmissionReview', req: { path: crd, contentType: json, body: '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}' }, status: 400, says: /expected a ConversionReview/ },
      { what: 'a v1beta1 ConversionReview', req: { path: crd, contentType: json, body: '{"apiVersion":"apiextensions.k8s.io/v1beta1","kind":"ConversionReview","request":{"uid":"u"}}' }, status: 400, says: /apiextensions.k8s.io\/v1beta1/ },
      { what: 'no request', req: { path: crd, contentType: json, body: '{"apiVersion":"apiextensions.k8s.io/v1","kind":"ConversionReview"}' }, status: 400, says: /has no request/ },
      { what: 'no uid', req: { path: crd, contentType: json, body: '{"apiVersion":"apiextensions.k8s.io/v1","kind":"ConversionReview","request":{"objects":[]}}' }, status: 400, says: /has no uid/ },
      { what: 'an unserved desired version', req: { path: crd, contentType: json, body: review('u', [aListener], `${GROUP}/v9`) }, status: 200, says: /"status":"Failure".*v9.*, which is not served/ },
      { what: 'an object of another kind', req: { path: crd, contentType: json, body: review('u', [{ ...aListener, kind: 'ListenerClass' }]) }, status: 200, says: /"status":"Failure".*is not a Listener/ },
      { what: 'an object of another group', req: { path: crd, contentType: json, body: review('u', [{ ...aListener, apiVersion: 'apps/v1' }]) }, status: 200, says: /"status":"Failure".*not of the group/ },
      { what: 'a body over the limit (declared)', req: { path: crd, contentType: json, body: Buffer.alloc(17 * 1024 * 1024, 0x20) }, status: 413, says: /larger than 16777216 bytes/ },
      { what: 'an unknown CRD', req: { path: '/convert/foos.example.com', contentType: json, body: review('u', []) }, status: 404, says: /no CRD "foos.example.com"/ },
      { what: 'GET on /convert', req: { method: 'GET', path: crd }, status: 405, says: /only POST/ },
      { what: 'POST on /health', req: { path: '/health', contentType: json, body: '{}' }, status: 405, says: /only GET/ },
      { what: 'an unknown path', req: { method: 'GET', path: '/metrics' }, status: 404, says: /nothing is served at "\/metrics"/ },
    ];
    for (const c of cases) {
      const a = await webhookRequest(port, bundle, c.req);
      assert.equal(a.status, c.status, `${c.what}: ${a.body.slice(0, 300)}`);
      assert.match(a.body, c.says, c.what);
    }
    // The webhook still answers, and the process never crashed.
    const ok = await webhookRequest(port, bundle, { path: crd, contentType: json, body: review('after', [aListener]) });
    assert.match(ok.body, /"status":"Success"/);
    assert.equal(await op.stop(), 0, op.log());
    st.diagnostic(`${cases.length} malformed requests tried: each answered with its status and reason (${[...new Set(cases.map((c) => c.status))].sort().join(', ')}); no crash, no 500`);
  });

  await t.test('cluster domain detection that fails says why and stops: exit 1, one line', async () => {
    await client.create(at(NODES, undefined), { apiVersion: 'v1', kind: 'Node', metadata: { name: 'ghost' }, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] } });
    const { env } = await upstreamEnv(saKubeconfig, { KUBERNETES_NODE_NAME: 'ghost', KUBERNETES_CLUSTER_DOMAIN: '' });
    proxy.requests.length = 0;
    const op = spawnOperator(undefined, ['run', 'controller'], env);
    assert.equal(await op.exited, 1, op.log());
    const errors = op.log().split('\n').filter((l) => / ERROR /.test(l));
    assert.equal(errors.length, 1, op.log());
    assert.match(errors[0] ?? '', /cluster domain detection failed to start: cannot read the cluster domain from the kubelet of Node ghost \(\/api\/v1\/nodes\/ghost\/proxy\/configz\)/);
    assert.deepEqual(refused(), [], 'nodes/proxy is granted');
    assert.ok(proxy.requests.some((q) => q.path === '/api/v1/nodes/ghost/proxy/configz'), 'it asked the kubelet through the API server');
    assert.doesNotMatch(op.log(), /Listener controller|Caches synced/, 'nothing after it started');
  });

  await t.test('a short-lifetime rotation re-patches caBundle; a client converting all through it never fails', async (st: TestContext) => {
    const { env, webhookPort } = await upstreamEnv(cluster.kubeconfig, { WEBHOOK_CERTIFICATE_LIFETIME: '24s', WEBHOOK_CERTIFICATE_CHECK_INTERVAL: '250ms' });
    const op = spawnOperator(st, ['run', 'controller'], env);
    await op.waitLog(/Caches synced/, 'the controller running');
    // The client does what the API server does: it trusts the bundle the CRD has now.
    const fingerprints = new Set<string>();
    const bundles = new Set<string>();
    let ok = 0;
    const failures: string[] = [];
    const deadline = Date.now() + 60_000;
    let rotatedAt: number | undefined;
    while (Date.now() < deadline && (rotatedAt === undefined || Date.now() < rotatedAt + 2000)) {
      const bundle = caBundleOf((await crds(client)).find((c) => c.metadata.name === `listeners.${GROUP}`));
      bundles.add(bundle);
      try {
        const a = await webhookRequest(webhookPort, bundle, { path: `/convert/listeners.${GROUP}`, contentType: 'application/json', body: review(`r${ok}`, [aListener]) });
        if (a.status === 200 && a.body.includes('"status":"Success"')) ok++;
        else failures.push(`${a.status} ${a.body.slice(0, 200)}`);
        if (a.fingerprint !== undefined) fingerprints.add(a.fingerprint);
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e));
      }
      if (rotatedAt === undefined && fingerprints.size > 1) rotatedAt = Date.now();
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(fingerprints.size >= 2, `the served certificate rotated (certificates seen: ${fingerprints.size})`);
    assert.ok(bundles.size >= 2, 'the caBundle was re-patched');
    assert.match(op.log(), /Rotated the webhook certificate/);
    assert.deepEqual(failures, [], 'no failed conversion through the rotation');
    assert.ok(ok > 20, `conversions: ${ok}`);
    st.diagnostic(`${ok} conversions through ${fingerprints.size - 1} rotation(s), ${bundles.size} caBundles seen, 0 failures`);
  });
});
