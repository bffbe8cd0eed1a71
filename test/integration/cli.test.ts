// The CLI as users and the Helm chart run it: a child process of `node src/main.ts`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { eventually, freshNamespace, testClient } from '../support/k8s.ts';
import { installCrds } from '../support/operator.ts';
import { SHARED_PLANE_ENV } from '../support/operator-process.ts';

const MAIN = path.join(import.meta.dirname, '..', '..', 'src', 'main.ts');
const cli = (args: string[], env: Record<string, string> = {}): ReturnType<typeof spawnSync> =>
  spawnSync(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });

test('crd prints the three CRDs as YAML', () => {
  const r = cli(['crd']);
  assert.equal(r.status, 0);
  const docs = parseAllDocuments(String(r.stdout)).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
  assert.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort(), [
    'CustomResourceDefinition/listenerclasses.listeners.stackable.tech',
    'CustomResourceDefinition/listeners.listeners.stackable.tech',
    'CustomResourceDefinition/podlisteners.listeners.stackable.tech',
  ]);
});

test('--help documents every flag with its environment variable', () => {
  const r = cli(['run', 'controller', '--help']);
  assert.equal(r.status, 0);
  const help = String(r.stdout).replace(/\s+/g, ' ');
  for (const env of ['CSI_ENDPOINT', 'KUBERNETES_CLUSTER_DOMAIN', 'LISTENER_CLASS_PRESET', 'OPERATOR_NAMESPACE', 'OPERATOR_SERVICE_NAME', 'CONSOLE_LOG_LEVEL', 'CONSOLE_LOG_FORMAT']) {
    assert.match(help, new RegExp(`env: ${env}`), env);
  }
  assert.match(String(cli(['run', 'node', '--help']).stdout).replace(/\s+/g, ' '), /env: KUBERNETES_NODE_NAME/);
});

test('a missing required value or a bad flag exits non-zero with a one-line reason', () => {
  const missing = cli(['run', 'controller']);
  assert.notEqual(missing.status, 0);
  assert.equal(String(missing.stderr).trim().split('\n').length, 1);
  assert.match(String(missing.stderr), /--csi-endpoint/);
  const bad = cli(['run', 'controller', '--csi-endpoint=/tmp/x.sock', '--listener-class-preset=everything']);
  assert.notEqual(bad.status, 0);
  assert.match(String(bad.stderr), /everything/);
  // Malformed variables, as a chart would pass them: one line naming the variable, no stack trace.
  const upstream = { CSI_ENDPOINT: '/tmp/x.sock', OPERATOR_NAMESPACE: 'ns', OPERATOR_SERVICE_NAME: 'svc', IMAGE_REPOSITORY: 'r', KUBERNETES_NODE_NAME: 'n' };
  for (const [name, value, says] of [
    ['CONSOLE_LOG_LEVEL', 'info,rustls=debug', /CONSOLE_LOG_LEVEL.*"rustls=debug" names the target "rustls", which is none of ours/],
    ['EOS_INTERVAL', '1 day', /EOS_INTERVAL.*unexpected character/],
    ['KUBERNETES_CLUSTER_DOMAIN', 'not_a_domain', /KUBERNETES_CLUSTER_DOMAIN.*not a DNS domain/],
  ] as const) {
    const r = cli(['run', 'controller'], { ...upstream, [name]: value });
    assert.equal(r.status, 1, `${name}=${value}`);
    assert.equal(String(r.stderr).trim().split('\n').length, 1, String(r.stderr));
    assert.match(String(r.stderr), says);
    assert.doesNotMatch(String(r.stderr), /\n\s+at /);
  }
  // A kubeconfig that cannot be read: also one line, exit 1, nothing started.
  const noConfig = cli(['run', 'node'], { ...upstream, KUBECONFIG: '/nonexistent/kubeconfig' });
  assert.equal(noConfig.status, 1);
  assert.equal(String(noConfig.stderr).trim().split('\n').length, 1, String(noConfig.stderr));
  assert.match(String(noConfig.stderr), /cannot start: .*\/nonexistent\/kubeconfig/);
});

test('run controller works against the API server and exits 0 on SIGTERM', async (t) => {
  const client = await testClient();
  await installCrds(client);
  const ns = await freshNamespace(t, client);
  const dir = await mkdtemp(path.join(tmpdir(), 'cli-'));
  const child = spawn(process.execPath, [MAIN, 'run', 'controller', '--listener-class-preset=none', `--watch-namespace=${ns}`, '--http-address=127.0.0.1:0'], {
    env: { PATH: process.env.PATH ?? '', KUBECONFIG: process.env.KUBECONFIG ?? '', CSI_ENDPOINT: path.join(dir, 'csi.sock'), ...SHARED_PLANE_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => { r(code); }));
  await eventually('caches synced', () => (log.includes('Caches synced') ? true : undefined));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, log);
  assert.match(log, /Stopped/);
  client.close();
});
