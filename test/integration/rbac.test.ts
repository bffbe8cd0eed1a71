// Least-privilege RBAC, three ways:
//  1. the chart's ClusterRole grants exactly PERMISSIONS (src/k8s/permissions.ts) plus the
//     sidecars' SIDECAR_PERMISSIONS: nothing extra, nothing missing;
//  2. every Kubernetes API call in src/ is in PERMISSIONS, and every PERMISSIONS row is called
//     (a scan of the source for the resource references, src/k8s/resources.ts's `at(...)`);
//  3. the controller, the node service and the csi-provisioner sidecar run as the chart's
//     ServiceAccount (its ClusterRole from the rendered chart, a token from the TokenRequest API)
//     through a real scenario on the real API server, behind a proxy that records each request:
//     no request is refused, every row of the table is exercised, and the permissions never used
//     are listed.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeClient } from '../../src/k8s/client.ts';
import * as resources from '../../src/k8s/resources.ts';
import { at } from '../../src/k8s/resources.ts';
import { PERMISSIONS, SIDECAR_PERMISSIONS, permissionKey, permissionKeys, type Permission, type RbacVerb } from '../../src/k8s/permissions.ts';
import { freePort } from '../support/cluster.ts';
import { eventually, freshNamespace, testClient } from '../support/k8s.ts';
import { installCrds } from '../support/operator.ts';
import { container, envOf, renderChart, toolsBin, type Container, type K8sObject, type RbacRule, type Rendered } from '../support/helm.ts';
import { CsiClient, claimVolume, createPod, createPvc, publishRequest, type TestPv } from '../support/csi.ts';
import { ANNOTATION_LISTENER_CLASS, DRIVER_NAME, TOPOLOGY_KEY_HOSTNAME } from '../../src/constants.ts';
import { createClass, createListener, createNode, createPinnedPv, waitEvent, waitService, waitStatus } from '../support/listeners.ts';
import { requiredPermissions, serviceAccountToken, startRecordingProxy, writeTokenKubeconfig } from '../support/rbac.ts';
import { driverRegistration } from '../../src/cli/chart-tests.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
const STORAGE_CLASSES = { group: 'storage.k8s.io', version: 'v1', plural: 'storageclasses' };
const CSI_NODES = { group: 'storage.k8s.io', version: 'v1', plural: 'csinodes' };
const MAIN = path.join(ROOT, 'src', 'main.ts');

// ---- 1. the chart against the table --------------------------------------------------------------

/** The permission keys a rule grants; resourceNames only on the rows that say so (onlyNamed), naming exactly those objects. */
function ruleKeys(r: Rendered, o: K8sObject, rule: RbacRule): string[] {
  const keys = (rule.apiGroups ?? []).flatMap((g) => (rule.resources ?? []).flatMap((res) => rule.verbs.map((v) => {
    assert.ok(g !== '*' && res !== '*' && v !== '*', `${o.kind} ${o.metadata.name}: no wildcards`);
    return permissionKey(g, res, v);
  })));
  if (rule.resourceNames !== undefined) {
    for (const k of keys) {
      const row = PERMISSIONS.find((p) => permissionKeys([p]).has(k));
      assert.ok(row?.onlyNamed !== undefined, `${o.kind} ${o.metadata.name}: resourceNames on ${k}, whose row in src/k8s/permissions.ts is not onlyNamed`);
    }
    // Today the one such row: the chart's SecurityContextConstraints, and no other object.
    assert.deepEqual([...rule.resourceNames].sort(), r.all('SecurityContextConstraints').map((x) => x.metadata.name).sort(), `${o.kind} ${o.metadata.name}: resourceNames are the chart's SecurityContextConstraints`);
  }
  return keys;
}

function grantedKeys(r: Rendered): Set<string> {
  return new Set([...r.all('ClusterRole'), ...r.all('Role')].flatMap((o) => (o as K8sObject & { rules: RbacRule[] }).rules.flatMap((rule) => ruleKeys(r, o, rule))));
}

const difference = (a: Set<string>, b: Set<string>): string[] => [...a].filter((k) => !b.has(k)).sort();

function explain(keys: string[], rows: readonly Permission[]): string {
  return keys.map((k) => {
    const row = rows.find((p) => permissionKeys([p]).has(k));
    return row === undefined ? `  ${k}` : `  ${k} (${row.who}: ${row.why}${row.notInCode !== undefined ? `; ${row.notInCode}` : ''}${row.notGranted !== undefined ? `; not granted: ${row.notGranted}` : ''})`;
  }).join('\n');
}

/** The rows the chart grants with these values (see Permission.grantedWhen), on OpenShift or elsewhere. */
function grantedRows(values: Record<string, unknown>, openshift: boolean): Permission[] {
  const maintain = (values.maintenance as { customResourceDefinitions?: { maintain?: boolean } } | undefined)?.customResourceDefinitions?.maintain !== false;
  const detect = typeof values.kubernetesClusterDomain !== 'string' || values.kubernetesClusterDomain === '';
  return PERMISSIONS.filter((p) => p.notGranted === undefined
    && (p.grantedWhen !== 'crd-maintenance' || maintain)
    && (p.grantedWhen !== 'cluster-domain-detection' || detect)
    && (p.grantedWhen !== 'openshift' || openshift));
}

test('the chart\'s RBAC grants exactly what the code and the sidecars need', async () => {
  const valueSets: Record<string, unknown>[] = [
    {}, { serviceAccount: { create: false, name: 'sa' } }, { fullnameOverride: 'x' },
    { maintenance: { customResourceDefinitions: { maintain: false } } }, { kubernetesClusterDomain: 'example.internal' },
  ];
  // Each also as OpenShift renders it (the API has security.openshift.io/v1).
  for (const [values, openshift] of [...valueSets.map((v) => [v, false] as const), ...valueSets.map((v) => [v, true] as const)]) {
    const r = await renderChart(values, { apiVersions: openshift ? ['security.openshift.io/v1'] : [], tests: true });
    const granted = grantedKeys(r);
    // The `helm test` hooks are Pods only (`helm test --logs` reads every test hook's Pod logs), and run as the operator's ServiceAccount.
    const hooks = r.objects.filter((o) => o.metadata.annotations?.['helm.sh/hook'] !== undefined);
    assert.deepEqual([...new Set(hooks.map((o) => o.kind))], ['Pod']);
    for (const h of hooks) assert.equal((h as unknown as { spec: { serviceAccountName: string } }).spec.serviceAccountName, r.workload('Deployment').spec.template.spec.serviceAccountName);
    const expected = new Set([...permissionKeys(grantedRows(values, openshift)), ...permissionKeys(SIDECAR_PERMISSIONS)]);
    const extra = difference(granted, expected);
    const missing = difference(expected, granted);
    assert.deepEqual(extra, [], `the chart grants permissions no code needs:\n${extra.join('\n')}`);
    assert.deepEqual(missing, [], `the chart lacks permissions the code needs:\n${explain(missing, [...PERMISSIONS, ...SIDECAR_PERMISSIONS])}`);
    // What the chart deliberately leaves out is not granted through another row either.
    const withheld = difference(permissionKeys(PERMISSIONS.filter((p) => p.notGranted !== undefined)), expected);
    for (const k of withheld) assert.ok(!granted.has(k), `${k} is marked notGranted but granted`);
  }
});

// ---- 2. the source against the table -------------------------------------------------------------

type Kind = { group: string; version: string; plural: string };
const KINDS = new Map<string, Kind>(
  Object.entries(resources).filter((e): e is [string, Kind] => typeof e[1] === 'object' && e[1] !== null && 'plural' in e[1]),
);

/** Client methods (KubeClient) and the RBAC verbs of their requests. */
const METHOD_VERBS: Record<string, RbacVerb[]> = {
  get: ['get'], getOptional: ['get'], list: ['list'], watch: ['watch'], create: ['create'],
  apply: ['patch', 'create'], mergePatch: ['patch'], replace: ['update'], delete: ['delete'],
};
/** Functions that take a resource and make one kind of request with it. */
const WRAPPER_VERBS: Record<string, RbacVerb[]> = {
  Informer: ['list', 'watch'], // src/k8s/informer.ts
  fetchObject: ['get'], fetchOptional: ['get'], // src/csi/lookups.ts
  fetchKubeletConfigz: ['get'], // src/k8s/cluster-domain.ts
  labelIfMissing: ['patch'], // src/csi/node-service.ts (merge patch)
};

interface Use { key: string; where: string }

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'generated') out.push(...await sourceFiles(p));
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
      out.push(p);
    }
  }
  return out;
}

/** The call whose argument list contains position `i`: its name and whether it is a method. */
function enclosingCall(src: string, i: number): { name: string; method: boolean } | undefined {
  let depth = 0;
  for (let j = i - 1; j >= 0; j--) {
    const ch = src[j];
    if (ch === ')') depth++;
    else if (ch === '(') {
      if (depth === 0) {
        const m = /(\.|\bnew\s+)?([\w$]+)\s*(?:<[^()\n;]*>)?\s*$/.exec(src.slice(Math.max(0, j - 200), j));
        return m === null ? undefined : { name: m[2] ?? '', method: m[1] === '.' };
      }
      depth--;
    } else if ((ch === ';' || ch === '{' || ch === '}') && depth === 0) {
      return undefined;
    }
  }
  return undefined;
}

function verbsOf(call: { name: string; method: boolean } | undefined): RbacVerb[] | undefined {
  if (call === undefined) return undefined;
  return call.method ? METHOD_VERBS[call.name] : WRAPPER_VERBS[call.name];
}

/** The argument list of the call opening at `open` (the index of its '('), split at top-level commas. */
function argsAt(src: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let j = open + 1; j < src.length; j++) {
    const ch = src[j];
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') {
      if (depth === 0) { args.push(src.slice(start, j).trim()); return args; }
      depth--;
    } else if (ch === ',' && depth === 0) {
      args.push(src.slice(start, j).trim());
      start = j + 1;
    }
  }
  return args;
}

/** The verbs of the request made with the resource `at(...)` builds at `i`. */
function verbsAt(src: string, i: number): RbacVerb[] | undefined {
  const direct = verbsOf(enclosingCall(src, i));
  if (direct !== undefined) return direct;
  // `const resource = at(...)`, then calls with that variable in the next lines.
  const decl = /(?:const|let)\s+(\w+)\s*=\s*$/.exec(src.slice(Math.max(0, i - 80), i));
  if (decl?.[1] === undefined) return undefined;
  const after = src.slice(i).split('\n').slice(0, 30).join('\n');
  const found = [...after.matchAll(new RegExp(`\\b${decl[1]}\\b`, 'g'))].flatMap((v) => verbsOf(enclosingCall(src, i + v.index)) ?? []);
  return found.length > 0 ? found : undefined;
}

/** The permission keys of the `at(...)` at `i`, or the reason it cannot be told. */
function keysAt(src: string, i: number): string[] | string {
  const args = argsAt(src, i + 2);
  const kind = KINDS.get(args[0] ?? '');
  if (kind === undefined) return `at(${args[0] ?? ''}, ...) names no kind of src/k8s/resources.ts`;
  const sub = /^['"]([\w-]+)['"]$/.exec(args[3] ?? '')?.[1];
  if (args[3] !== undefined && sub === undefined) return 'at(...) with a non-literal subresource';
  const verbs = verbsAt(src, i);
  if (verbs === undefined) return `cannot tell which request at(${args.join(', ')}) is for; teach test/integration/rbac.test.ts's scanner`;
  const resource = sub === undefined ? kind.plural : `${kind.plural}/${sub}`;
  // Server-side apply to a subresource never creates the object.
  const needed = sub !== undefined && verbs.includes('patch') ? verbs.filter((v) => v !== 'create') : verbs;
  return needed.map((v) => permissionKey(kind.group, resource, v));
}

function scanFile(rel: string, src: string, uses: Use[], problems: string[]): void {
  const lineOf = (i: number): string => `${rel}:${src.slice(0, i).split('\n').length}`;
  // Resource references are built by at() from resources.ts, never as literals.
  for (const m of src.matchAll(/\{[^{}]*\bgroup\s*:\s*['"`][^{}]*\bplural\s*:[^{}]*\}/g)) problems.push(`${lineOf(m.index)}: a resource literal; use at() with a kind from src/k8s/resources.ts`);
  for (const m of src.matchAll(/(?<![.\w])at\(/g)) {
    if (/function\s+$/.test(src.slice(Math.max(0, m.index - 20), m.index))) continue;
    const keys = keysAt(src, m.index);
    if (typeof keys === 'string') problems.push(`${lineOf(m.index)}: ${keys}`);
    else for (const key of keys) uses.push({ key, where: lineOf(m.index) });
  }
}

async function scanSource(): Promise<{ uses: Use[]; problems: string[] }> {
  const uses: Use[] = [];
  const problems: string[] = [];
  for (const file of await sourceFiles(path.join(ROOT, 'src'))) {
    const rel = path.relative(ROOT, file);
    if (rel !== path.join('src', 'k8s', 'resources.ts')) scanFile(rel, await readFile(file, 'utf8'), uses, problems);
  }
  return { uses, problems };
}

test('every Kubernetes API call in src/ is in the permissions table, and every row is called', async (t) => {
  const { uses, problems } = await scanSource();
  assert.deepEqual(problems, []);
  assert.ok(uses.length > 10, 'the scan finds the calls');
  const table = permissionKeys(PERMISSIONS);
  const unlisted = uses.filter((u) => !table.has(u.key)).map((u) => `${u.where}: ${u.key}`);
  assert.deepEqual(unlisted, [], 'calls whose permission src/k8s/permissions.ts does not list (add a row)');
  const used = new Set(uses.map((u) => u.key));
  const uncalled = PERMISSIONS.filter((p) => p.notInCode === undefined).flatMap((p) => [...permissionKeys([p])].filter((k) => !used.has(k)));
  assert.deepEqual(uncalled, [], 'rows no call in src/ needs (remove them, or say why in notInCode)');
  const nowCalled = PERMISSIONS.filter((p) => p.notInCode !== undefined && [...permissionKeys([p])].every((k) => used.has(k)));
  for (const p of nowCalled) t.diagnostic(`now called in src/, drop its notInCode: ${p.who} ${p.group}/${p.resource} ${p.verbs.join(',')}`);
});

// ---- 3. the operator as the chart's ServiceAccount -----------------------------------------------

interface Child {
  log: () => string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Runs `node src/main.ts <args>` as the chart's container does: its args and environment. */
function runLikeChart(args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => { log += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
  const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code); }); });
  return {
    log: () => log,
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => { child.kill('SIGKILL'); }, 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The container's environment as the kubelet would set it, with the downward API resolved. */
function chartEnv(c: ReturnType<typeof container>, fields: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const path_ = e.valueFrom?.fieldRef?.fieldPath;
    const value = e.value ?? (path_ !== undefined ? fields[path_] : undefined);
    assert.ok(value !== undefined, `env ${e.name}: no value for ${path_ ?? '?'}`);
    env[e.name] = value;
  }
  return env;
}

async function httpStatus(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', () => { resolve(0); });
    req.on('timeout', () => { req.destroy(); resolve(0); });
  });
}

/** Starts a chart container's process (its args and env, the downward API resolved) and waits for its readiness probe. */
async function startContainer(t: TestContext, c: Container, fields: Record<string, string>, overrides: Record<string, string>): Promise<Child> {
  const httpPort = await freePort();
  const env = { ...chartEnv(c, fields), ...overrides, HTTP_ADDRESS: `127.0.0.1:${httpPort}` };
  const child = runLikeChart(c.args ?? [], env);
  t.after(async () => { await child.stop(); });
  const readiness = c.readinessProbe?.httpGet?.path ?? '';
  await eventually(`${c.name} ready (${readiness})`, async () => ((await httpStatus(httpPort, readiness)) === 200 ? true : undefined), 30_000)
    .catch((e: unknown) => { throw new Error(`${String(e)}\n${child.log()}`); });
  assert.equal(await httpStatus(httpPort, c.livenessProbe?.httpGet?.path ?? ''), 200, `${c.name}: liveness probe`);
  return child;
}

/** The csi-provisioner binary with the chart's sidecar arguments (only the socket path differs). */
function startProvisioner(t: TestContext, c: Container, socket: string, kubeconfig: string): Child {
  const args = (c.args ?? []).map((a) => (a.startsWith('--csi-address=') ? `--csi-address=${socket}` : a));
  const child = spawn(path.join(toolsBin(), 'csi-provisioner'), [...args, `--kubeconfig=${kubeconfig}`], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => { log += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
  const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code); }); });
  const proc: Child = { log: () => log, exited, stop: async () => { child.kill('SIGTERM'); return exited; } };
  t.after(async () => { await proc.stop(); });
  return proc;
}

test('the operator and its provisioner run as the chart\'s ServiceAccount with the chart\'s ClusterRole: no request refused', async (t) => {
  const admin = await testClient();
  t.after(() => { admin.close(); });
  await installCrds(admin);
  const ns = await freshNamespace(t, admin, 'rbac');
  // Parallel test files share this API server and its CRDs: no CRD maintenance here (its
  // permissions are exercised by crd-maintenance.test.ts on a control plane of its own), and no
  // kubelet to read the cluster domain from.
  const values = { fullnameOverride: `lo-${ns}`, kubernetesClusterDomain: 'cluster.local', maintenance: { customResourceDefinitions: { maintain: false } } };
  const r = await renderChart(values, { namespace: ns });

  // The ServiceAccount, ClusterRole and binding exactly as rendered.
  const clusterScoped = ['ClusterRole', 'ClusterRoleBinding'];
  for (const o of r.objects.filter((x) => ['ServiceAccount', ...clusterScoped].includes(x.kind))) {
    const ref = o.kind === 'ServiceAccount'
      ? at({ group: '', version: 'v1', plural: 'serviceaccounts' }, ns, o.metadata.name)
      : at({ group: 'rbac.authorization.k8s.io', version: 'v1', plural: o.kind === 'ClusterRole' ? 'clusterroles' : 'clusterrolebindings' }, undefined, o.metadata.name);
    await admin.apply(ref, { ...o, metadata: { ...o.metadata, namespace: o.kind === 'ServiceAccount' ? ns : undefined } }, 'rbac-test', true);
    if (clusterScoped.includes(o.kind)) t.after(async () => { await admin.delete(ref).catch(() => undefined); });
  }
  const token = await serviceAccountToken(admin, ns, r.get('ServiceAccount').metadata.name);
  const dir = await mkdtemp(path.join(tmpdir(), 'rbac-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const proxy = await startRecordingProxy(process.env.KUBECONFIG ?? '', dir);
  t.after(() => proxy.close());
  const kubeconfig = await writeTokenKubeconfig(dir, proxy.url, proxy.caPem, token);
  // The permissions take effect once the authorizer's cache has them: wait until the SA can list.
  const sa = await KubeClient.fromKubeconfig(kubeconfig);
  t.after(() => { sa.close(); });
  await eventually('the ServiceAccount\'s ClusterRole in effect', async () => ((await sa.list(at(resources.LISTENERS, undefined), { limit: 1 })).items.length >= 0 ? true : undefined));
  proxy.requests.length = 0;

  // The chart's containers: their args and env; only paths and ports differ on this host, and the
  // controller watches one namespace (parallel tests share the cluster).
  const nodeName = `${ns}-n1`;
  await createNode(t, admin, nodeName, [{ type: 'InternalIP', address: '10.0.0.1' }]);
  const controllerContainer = container(r.workload('Deployment'), 'csi-controller-service');
  const controllerSocket = path.join(dir, 'controller.sock');
  const nodeSocket = path.join(dir, 'node.sock');
  assert.equal(envOf(controllerContainer, 'LISTENER_CLASS_PRESET'), 'ephemeral-nodes', 'the chart\'s default preset');
  const image = { "metadata.annotations['internal.stackable.tech/image']": controllerContainer.image ?? '' };
  // The webhook on a free port: parallel test files may run other controllers on this host.
  const ctl = await startContainer(t, controllerContainer, { 'metadata.namespace': ns, 'spec.nodeName': nodeName, ...image }, { CSI_ENDPOINT: controllerSocket, KUBECONFIG: kubeconfig, WATCH_NAMESPACE: ns, WEBHOOK_ADDRESS: `127.0.0.1:${await freePort()}` });
  const nodePlugin = await startContainer(t, container(r.workload('DaemonSet'), 'csi-node-service'), { 'metadata.namespace': ns, 'spec.nodeName': nodeName, ...image }, { CSI_ENDPOINT: nodeSocket, KUBECONFIG: kubeconfig });
  const provisioner = startProvisioner(t, container(r.workload('Deployment'), 'external-provisioner'), controllerSocket, kubeconfig);
  const logs = (): string => `--- controller\n${ctl.log()}\n--- node\n${nodePlugin.log()}\n--- provisioner\n${provisioner.log().slice(-4000)}`;

  await createClass(t, admin, `${ns}-np`, { serviceType: 'NodePort', pinnedNodePorts: true });
  await createClass(t, admin, `${ns}-lb`, { serviceType: 'LoadBalancer' });
  await createClass(t, admin, `${ns}-ci`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });

  await t.test('the controller: a Listener of each service type, and the events of two broken ones', async (t) => {
    const ports = [{ name: 'http', port: 8080, protocol: 'TCP' }];
    await createPinnedPv(t, admin, `${ns}-pv1`, { listenerNs: ns, listenerName: 'np', node: nodeName });
    await createListener(admin, ns, 'ci', { className: `${ns}-ci`, ports });
    await createListener(admin, ns, 'np', { className: `${ns}-np`, ports });
    await createListener(admin, ns, 'lb', { className: `${ns}-lb`, ports });
    await createListener(admin, ns, 'no-class', { className: `${ns}-missing`, ports });
    await admin.create(at(resources.SERVICES, ns), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'taken' }, spec: { ports: [{ port: 80 }] } });
    await createListener(admin, ns, 'taken', { className: `${ns}-ci`, ports });
    await waitStatus(admin, ns, 'ci', 'an address', (s) => (s.ingressAddresses?.length ?? 0) > 0);
    await waitStatus(admin, ns, 'np', 'the pinned Node\'s address', (s) => s.ingressAddresses?.[0]?.address === '10.0.0.1' && s.nodePorts?.http !== undefined);
    await waitService(admin, ns, 'lb', 'type LoadBalancer', (s) => s.spec.type === 'LoadBalancer');
    await admin.mergePatch(at(resources.SERVICES, ns, 'lb', 'status'), { status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } });
    await waitStatus(admin, ns, 'lb', 'the load balancer\'s address', (s) => s.ingressAddresses?.[0]?.address === '192.0.2.10');
    await waitEvent(admin, ns, 'no-class', 'ListenerClassNotFound');
    await waitEvent(admin, ns, 'taken', 'ServiceNotOwned');
  });

  await t.test('listener volumes (ClusterIP, pinned NodePort): provisioned by csi-provisioner through CreateVolume, published by the node service, deleted', async (t) => {
    // What the chart and the kubelet provide: the StorageClass, the Node's CSINode entry.
    const storageClass = at(STORAGE_CLASSES, undefined, DRIVER_NAME);
    if ((await admin.getOptional(storageClass)) === undefined) {
      await admin.apply(storageClass, { ...r.get('StorageClass'), metadata: { name: DRIVER_NAME } }, 'rbac-test', true);
      t.after(async () => { await admin.delete(storageClass).catch(() => undefined); });
    }
    await admin.create(at(CSI_NODES, undefined), {
      apiVersion: 'storage.k8s.io/v1', kind: 'CSINode', metadata: { name: nodeName },
      spec: { drivers: [{ name: DRIVER_NAME, nodeID: nodeName, topologyKeys: [TOPOLOGY_KEY_HOSTNAME] }] },
    });
    t.after(async () => { await admin.delete(at(CSI_NODES, undefined, nodeName)).catch(() => undefined); });
    // The chart's `helm test` check runs as this ServiceAccount too.
    assert.match(JSON.stringify(await driverRegistration(sa, nodeName, DRIVER_NAME)), /registered with its kubelet/);
    // Claims of a Pod bound to the Node; the scheduler's part (the selected Node) done by hand.
    const claims = { 'web-ci': `${ns}-ci`, 'web-np': `${ns}-np` };
    const pvcs = await Promise.all(Object.entries(claims).map(([name, cls]) => createPvc(admin, ns, name, { annotations: { [ANNOTATION_LISTENER_CLASS]: cls, 'volume.kubernetes.io/selected-node': nodeName } })));
    const pod = await createPod(admin, ns, 'web', { nodeName, ports: [{ name: 'http', containerPort: 8080 }], volumes: Object.keys(claims).map((c) => claimVolume(c, c)) });
    const csi = new CsiClient(nodeSocket);
    t.after(() => { csi.close(); });
    const pvNames: string[] = [];
    for (const pvc of pvcs) {
      const claim = pvc.metadata.name;
      const pvName = await eventually(`${claim} bound to a provisioned PV`, async () => {
        const got = await admin.get<{ spec: { volumeName?: string }; status?: { phase?: string } }>(at(resources.PERSISTENT_VOLUME_CLAIMS, ns, claim));
        return got.status?.phase === 'Bound' ? got.spec.volumeName : undefined;
      }, 60_000).catch((e: unknown) => { throw new Error(`${String(e)}\n${logs()}`); });
      pvNames.push(pvName);
      const pv = await admin.get<TestPv & { spec: { csi: { volumeAttributes?: Record<string, string> } } }>(at(resources.PERSISTENT_VOLUMES, undefined, pvName));
      // The kubelet's part: NodePublishVolume with the PV's volume attributes and the Pod's identity.
      const target = path.join(dir, 'pods', pod.metadata.uid, 'volumes', 'kubernetes.io~csi', pvName, 'mount');
      const request = publishRequest(pv, { ...pvc, metadata: { ...pvc.metadata, annotations: pv.spec.csi.volumeAttributes ?? {} } }, pod, target);
      await eventually(`NodePublishVolume of ${claim}`, async () => { await csi.call('Node', 'NodePublishVolume', request); return true; }, 30_000)
        .catch((e: unknown) => { throw new Error(`${String(e)}\n${logs()}`); });
      assert.ok((await lstat(path.join(target, 'default-address'))).isSymbolicLink(), `${claim}: the volume's files are written`);
      await csi.call('Node', 'NodeUnpublishVolume', { volume_id: pvName, target_path: target });
    }

    // Deleting the claims: the provisioner calls DeleteVolume and deletes the PVs.
    await admin.delete(at(resources.PODS, ns, 'web'), { gracePeriodSeconds: 0 });
    for (const claim of Object.keys(claims)) await admin.delete(at(resources.PERSISTENT_VOLUME_CLAIMS, ns, claim));
    for (const pvName of pvNames) {
      await eventually(`PV ${pvName} deleted`, async () => ((await admin.getOptional(at(resources.PERSISTENT_VOLUMES, undefined, pvName))) === undefined ? true : undefined), 60_000)
        .catch((e: unknown) => { throw new Error(`${String(e)}\n${logs()}`); });
    }
  });

  assert.equal(await ctl.stop(), 0, `controller: graceful shutdown\n${ctl.log()}`);
  assert.equal(await nodePlugin.stop(), 0, `node service: graceful shutdown\n${nodePlugin.log()}`);
  await provisioner.stop();

  // Nothing refused; what they used is in the ClusterRole; what the ClusterRole has beyond that.
  const refused = proxy.requests.filter((q) => q.status === 401 || q.status === 403).map((q) => `${q.method} ${q.path} → ${q.status}`);
  assert.deepEqual(refused, [], `requests refused to the ServiceAccount:\n${logs()}`);
  const used = new Set(proxy.requests.flatMap(requiredPermissions));
  const granted = grantedKeys(r);
  assert.deepEqual(difference(used, granted), [], 'used permissions the chart does not grant');
  // Every row of our code's table was exercised, but for what the run cannot reach.
  const rows = grantedRows(values, false).filter((p) => p.notInCode === undefined);
  assert.deepEqual(difference(permissionKeys(rows), used), [], 'permissions of the code that the scenario did not exercise');
  const unused = difference(granted, used);
  t.diagnostic(`permissions used as the ServiceAccount (${used.size}): ${[...used].sort().join(' ')}`);
  t.diagnostic(`granted but not used in this run (${unused.length}):\n${explain(unused, [...PERMISSIONS, ...SIDECAR_PERMISSIONS])}`);
});
