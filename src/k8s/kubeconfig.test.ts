import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadClientConfig } from './kubeconfig.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubeconfig-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function config(o: { context?: string; server?: string; cluster?: Record<string, unknown>; user?: Record<string, unknown>; name?: string }): string {
  const name = o.name ?? 'c';
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': o.context ?? name,
    clusters: [{ name, cluster: { server: o.server ?? 'https://127.0.0.1:6443', ...o.cluster } }],
    users: [{ name, user: o.user ?? {} }],
    contexts: [{ name, context: { cluster: name, user: name } }],
  });
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const noEnv = { env: {}, home: '/nonexistent-home', serviceAccountDir: '/nonexistent-sa' };

test('inline certificates and a token; the server keeps its path prefix', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'config');
  await writeFile(file, config({
    server: 'https://api.example:8443/k8s/clusters/x',
    cluster: { 'certificate-authority-data': b64('CA'), 'tls-server-name': 'kubernetes' },
    user: { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY'), token: 'abc' },
  }));
  const cfg = await loadClientConfig({ ...noEnv, kubeconfig: file });
  assert.equal(cfg.server.href, 'https://api.example:8443/k8s/clusters/x');
  assert.equal(cfg.tls.ca?.toString(), 'CA');
  assert.equal(cfg.tls.cert?.toString(), 'CERT');
  assert.equal(cfg.tls.key?.toString(), 'KEY');
  assert.equal(cfg.tls.servername, 'kubernetes');
  assert.equal(cfg.tls.rejectUnauthorized, true);
  assert.deepEqual(await cfg.headers(), { Authorization: 'Bearer abc' });
});

test('file references are relative to the kubeconfig that names them; YAML is read too', async (t) => {
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'pki'));
  await writeFile(path.join(dir, 'pki', 'ca.crt'), 'CA-FILE');
  await writeFile(path.join(dir, 'pki', 'c.crt'), 'CERT-FILE');
  await writeFile(path.join(dir, 'pki', 'c.key'), 'KEY-FILE');
  const file = path.join(dir, 'config');
  await writeFile(file, [
    'apiVersion: v1', 'kind: Config', 'current-context: c',
    'clusters: [{name: c, cluster: {server: "https://h:1", certificate-authority: pki/ca.crt, insecure-skip-tls-verify: true}}]',
    'users: [{name: c, user: {client-certificate: pki/c.crt, client-key: pki/c.key, username: u, password: p}}]',
    'contexts: [{name: c, context: {cluster: c, user: c}}]',
  ].join('\n'));
  const cfg = await loadClientConfig({ ...noEnv, kubeconfig: file });
  assert.equal(cfg.tls.ca?.toString(), 'CA-FILE');
  assert.equal(cfg.tls.cert?.toString(), 'CERT-FILE');
  assert.equal(cfg.tls.key?.toString(), 'KEY-FILE');
  assert.equal(cfg.tls.rejectUnauthorized, false);
  assert.deepEqual(await cfg.headers(), { Authorization: `Basic ${b64('u:p')}` });
});

test('several files (KUBECONFIG): the first current-context and the first definition of a name win', async (t) => {
  const dir = await tempDir(t);
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  await writeFile(a, JSON.stringify({ 'current-context': 'b', users: [{ name: 'b', user: { token: 'from-a' } }] }));
  await writeFile(b, config({ name: 'b', context: 'other', server: 'https://b:1', user: { token: 'from-b' } }));
  const cfg = await loadClientConfig({ ...noEnv, kubeconfig: [a, b].join(path.delimiter) });
  assert.equal(cfg.server.host, 'b:1');
  assert.deepEqual(await cfg.headers(), { Authorization: 'Bearer from-a' });
});

test('a token file is re-read once a minute (kubelet rotates projected tokens)', async (t) => {
  const dir = await tempDir(t);
  const tokenFile = path.join(dir, 'token');
  await writeFile(tokenFile, 'one\n');
  const file = path.join(dir, 'config');
  await writeFile(file, config({ user: { tokenFile: 'token' } }));
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  const cfg = await loadClientConfig({ ...noEnv, kubeconfig: file });
  assert.deepEqual(await cfg.headers(), { Authorization: 'Bearer one' });
  await writeFile(tokenFile, 'two\n');
  t.mock.timers.tick(59_000);
  assert.deepEqual(await cfg.headers(), { Authorization: 'Bearer one' });
  t.mock.timers.tick(1_000);
  assert.deepEqual(await cfg.headers(), { Authorization: 'Bearer two' });
  await rm(tokenFile);
  t.mock.timers.tick(60_000);
  assert.deepEqual(await cfg.headers(), { Authorization: 'Bearer two' }, 'a vanished file keeps the last token');
});

test('in a Pod: the service account, the API server from the environment (IPv6 too)', async (t) => {
  const sa = await tempDir(t);
  await writeFile(path.join(sa, 'token'), 'sa-token');
  await writeFile(path.join(sa, 'ca.crt'), 'SA-CA');
  const cfg = await loadClientConfig({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, home: '/nonexistent-home', serviceAccountDir: sa });
  assert.equal(cfg.server.href, 'https://[fd00::1]/');
  assert.equal(cfg.tls.ca?.toString(), 'SA-CA');
  assert.deepEqual(await cfg.headers(), { Authorization: 'Bearer sa-token' });
});

test('~/.kube/config comes before the service account', async (t) => {
  const home = await tempDir(t);
  await mkdir(path.join(home, '.kube'));
  await writeFile(path.join(home, '.kube', 'config'), config({ server: 'https://from-home:1' }));
  const cfg = await loadClientConfig({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, home, serviceAccountDir: '/nonexistent-sa' });
  assert.equal(cfg.server.host, 'from-home:1');
});

test('an exec plugin is run (through @kubernetes/client-node, loaded only for it)', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'config');
  const credential = { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-exec' } };
  await writeFile(file, config({
    user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', `console.log(${JSON.stringify(JSON.stringify(credential))})`], interactiveMode: 'Never' } },
  }));
  const cfg = await loadClientConfig({ ...noEnv, kubeconfig: file });
  assert.deepEqual(await cfg.headers(), { Authorization: 'Bearer from-exec' });
});

test('bad configurations fail with the file and the reason', async (t) => {
  const dir = await tempDir(t);
  const cases: [string, string, RegExp][] = [
    ['not yaml', 'clusters: [unclosed', /kubeconfig .*not-yaml/],
    ['no context', JSON.stringify({ clusters: [] }), /no current-context/],
    ['unknown context', config({ context: 'missing' }), /current-context "missing" is not among its contexts/],
    ['no cluster', JSON.stringify({ 'current-context': 'x', contexts: [{ name: 'x', context: { cluster: 'nope' } }] }), /names cluster "nope", which is not defined/],
    ['bad server', config({ server: 'not a url' }), /no valid server URL/],
    ['proxy', config({ cluster: { 'proxy-url': 'http://proxy:3128' } }), /"proxy-url", which this operator does not support/],
    ['impersonation', config({ user: { as: 'admin' } }), /"as", which this operator does not support/],
    ['missing ca file', config({ cluster: { 'certificate-authority': 'nowhere.crt' } }), /ENOENT.*nowhere\.crt/],
    ['clusters not a list', JSON.stringify({ 'current-context': 'c', clusters: { c: {} } }), /clusters is not a list/],
  ];
  for (const [name, text, expected] of cases) {
    const file = path.join(dir, name.replaceAll(' ', '-'));
    await writeFile(file, text);
    await assert.rejects(loadClientConfig({ ...noEnv, kubeconfig: file }), expected, name);
  }
  await assert.rejects(loadClientConfig(noEnv), /no Kubernetes client configuration/);
});
