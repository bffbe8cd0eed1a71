// Least-privilege RBAC, three ways:
//  1. the chart's ClusterRole grants exactly PERMISSIONS (src/k8s/permissions.ts) plus the
//     sidecars' SIDECAR_PERMISSIONS: nothing extra, nothing missing;
//  2. every Kubernetes API call in src/ is in PERMISSIONS, and every PERMISSIONS row is called
//     (a scan of the source for the resource references, src/k8s/resources.ts's `at(...)`);
//  3. the operator runs as the chart's ServiceAccount (its ClusterRole from the rendered chart, a
//     token from the TokenRequest API) through a real scenario on the real API server, behind a
//     proxy that records each request: no request is refused, and the permissions it never used
//     are listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as resources from '../../src/k8s/resources.ts';
import { at } from '../../src/k8s/resources.ts';
import { PERMISSIONS, SIDECAR_PERMISSIONS, permissionKey, permissionKeys, type Permission, type RbacVerb } from '../../src/k8s/permissions.ts';
import { freePort } from '../support/cluster.ts';
import { eventually, freshNamespace, testClient } from '../support/k8s.ts';
import { installCrds } from '../support/operator.ts';
import { container, envOf, renderChart, type K8sObject, type RbacRule, type Rendered } from '../support/helm.ts';
import { createClass, createListener, createNode, createPinnedPv, waitEvent, waitService, waitStatus } from '../support/listeners.ts';
import { requiredPermissions, serviceAccountToken, startRecordingProxy, writeTokenKubeconfig } from '../support/rbac.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
const MAIN = path.join(ROOT, 'src', 'main.ts');

// ---- 1. the chart against the table --------------------------------------------------------------

function ruleKeys(o: K8sObject, rule: RbacRule): string[] {
  assert.equal(rule.resourceNames, undefined, `${o.kind} ${o.metadata.name}: resourceNames are not expected here`);
  const keys = (rule.apiGroups ?? []).flatMap((g) => (rule.resources ?? []).flatMap((res) => rule.verbs.map((v) => {
    assert.ok(g !== '*' && res !== '*' && v !== '*', `${o.kind} ${o.metadata.name}: no wildcards`);
    return permissionKey(g, res, v);
  })));
  return keys;
}

function grantedKeys(r: Rendered): Set<string> {
  return new Set([...r.all('ClusterRole'), ...r.all('Role')].flatMap((o) => (o as K8sObject & { rules: RbacRule[] }).rules.flatMap((rule) => ruleKeys(o, rule))));
}

const difference = (a: Set<string>, b: Set<string>): string[] => [...a].filter((k) => !b.has(k)).sort();

function explain(keys: string[], rows: readonly Permission[]): string {
  return keys.map((k) => {
    const row = rows.find((p) => permissionKeys([p]).has(k));
    return row === undefined ? `  ${k}` : `  ${k} (${row.who}: ${row.why}${row.notInCode !== undefined ? `; ${row.notInCode}` : ''}${row.notGranted !== undefined ? `; not granted: ${row.notGranted}` : ''})`;
  }).join('\n');
}

test('the chart\'s RBAC grants exactly what the code and the sidecars need', async () => {
  for (const values of [{}, { serviceAccount: { create: false, name: 'sa' } }, { fullnameOverride: 'x' }]) {
    const r = await renderChart(values);
    const granted = grantedKeys(r);
    const expected = new Set([...permissionKeys(PERMISSIONS.filter((p) => p.notGranted === undefined)), ...permissionKeys(SIDECAR_PERMISSIONS)]);
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

test('the operator runs as the chart\'s ServiceAccount with the chart\'s ClusterRole: no request refused', async (t) => {
  const admin = await testClient();
  t.after(() => { admin.close(); });
  await installCrds(admin);
  const ns = await freshNamespace(t, admin, 'rbac');
  const fullname = `lo-${ns}`;
  const r = await renderChart({ fullnameOverride: fullname }, { namespace: ns });

  // The ServiceAccount, ClusterRole and binding exactly as rendered.
  const clusterScoped = ['ClusterRole', 'ClusterRoleBinding'];
  for (const o of r.objects.filter((x) => ['ServiceAccount', ...clusterScoped].includes(x.kind))) {
    const ref = o.kind === 'ServiceAccount'
      ? at({ group: '', version: 'v1', plural: 'serviceaccounts' }, ns, o.metadata.name)
      : at({ group: 'rbac.authorization.k8s.io', version: 'v1', plural: o.kind === 'ClusterRole' ? 'clusterroles' : 'clusterrolebindings' }, undefined, o.metadata.name);
    await admin.apply(ref, { ...o, metadata: { ...o.metadata, namespace: o.kind === 'ServiceAccount' ? ns : undefined } }, 'rbac-test', true);
    if (clusterScoped.includes(o.kind)) t.after(async () => { await admin.delete(ref).catch(() => undefined); });
  }
  const sa = r.get('ServiceAccount').metadata.name;
  const token = await serviceAccountToken(admin, ns, sa);
  const proxy = await startRecordingProxy(process.env.KUBECONFIG ?? '');
  t.after(() => proxy.close());
  const dir = await mkdtemp(path.join(tmpdir(), 'rbac-'));
  const kubeconfig = await writeTokenKubeconfig(dir, proxy.url, token);

  // The permissions take effect once the authorizer's cache has them: wait until the SA can list.
  await eventually('the ServiceAccount\'s ClusterRole in effect', async () => {
    const res = await fetch(`${proxy.url}/apis/listeners.stackable.tech/v1alpha1/listeners?limit=1`, { headers: { Authorization: `Bearer ${token}` } });
    return res.status === 200 ? true : undefined;
  });
  proxy.requests.length = 0;

  // The controller container: its args and env from the rendered Deployment. Only the paths and
  // ports differ on this host, and it watches one namespace (parallel tests share the cluster).
  const controllerContainer = container(r.workload('Deployment'), 'csi-controller-service');
  const httpPort = await freePort();
  const env: Record<string, string> = {
    ...chartEnv(controllerContainer, { 'metadata.namespace': ns }),
    CSI_ENDPOINT: path.join(dir, 'controller.sock'),
    HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
    KUBECONFIG: kubeconfig,
    WATCH_NAMESPACE: ns,
  };
  assert.equal(env.LISTENER_CLASS_PRESET, 'ephemeral-nodes', 'the chart\'s default preset');
  const ctl = runLikeChart(controllerContainer.args ?? [], env);
  t.after(async () => { await ctl.stop(); });
  const readiness = controllerContainer.readinessProbe?.httpGet?.path ?? '';
  const liveness = controllerContainer.livenessProbe?.httpGet?.path ?? '';
  await eventually(`controller ready (${readiness})`, async () => ((await httpStatus(httpPort, readiness)) === 200 ? true : undefined), 30_000)
    .catch((e: unknown) => { throw new Error(`${String(e)}\n${ctl.log()}`); });
  assert.equal(await httpStatus(httpPort, liveness), 200, 'liveness probe');

  // A Listener of each service type gets its Service and status; problems get events.
  const ports = [{ name: 'http', port: 8080, protocol: 'TCP' }];
  await createClass(t, admin, `${ns}-ci`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  await createClass(t, admin, `${ns}-np`, { serviceType: 'NodePort', pinnedNodePorts: true });
  await createClass(t, admin, `${ns}-lb`, { serviceType: 'LoadBalancer' });
  await createNode(t, admin, `${ns}-n1`, [{ type: 'InternalIP', address: '10.0.0.1' }]);
  await createPinnedPv(t, admin, `${ns}-pv1`, { listenerNs: ns, listenerName: 'np', node: `${ns}-n1` });
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

  assert.equal(await ctl.stop(), 0, `graceful shutdown\n${ctl.log()}`);

  // Nothing refused; what it used is in the ClusterRole; what the ClusterRole has beyond that.
  const refused = proxy.requests.filter((q) => q.status === 401 || q.status === 403).map((q) => `${q.method} ${q.path} → ${q.status}`);
  assert.deepEqual(refused, [], `requests refused to the ServiceAccount:\n${ctl.log()}`);
  assert.doesNotMatch(ctl.log(), /forbidden/i);
  const used = new Set(proxy.requests.flatMap(requiredPermissions));
  const granted = grantedKeys(r);
  assert.deepEqual(difference(used, granted), [], 'used permissions the chart does not grant');
  // Every controller row of the table was exercised (the scenario covers the controller's code).
  const controllerRows = PERMISSIONS.filter((p) => p.who === 'controller' && p.notInCode === undefined && p.notGranted === undefined);
  assert.deepEqual(difference(permissionKeys(controllerRows), used), [], 'controller permissions the scenario did not exercise');
  const unused = difference(granted, used);
  t.diagnostic(`permissions the controller used as the ServiceAccount (${used.size}): ${[...used].sort().join(' ')}`);
  t.diagnostic(`granted but not used in this run (${unused.length}):\n${explain(unused, [...PERMISSIONS, ...SIDECAR_PERMISSIONS])}`);
  assert.equal(envOf(controllerContainer, 'OPERATOR_NAMESPACE'), undefined, 'OPERATOR_NAMESPACE comes from the downward API');
});
