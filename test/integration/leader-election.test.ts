// Two controller replicas with --leader-elect: one acts, the other waits; when the leader stops it
// hands the Lease over at once and the standby takes over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, freshNamespace, testClient } from '../support/k8s.ts';
import { installCrds } from '../support/operator.ts';
import { SHARED_PLANE_ENV } from '../support/operator-process.ts';
import { createClass, createListener, waitStatus } from '../support/listeners.ts';

const MAIN = path.join(import.meta.dirname, '..', '..', 'src', 'main.ts');

interface Replica { child: ChildProcess; log: () => string; exited: Promise<number | null> }

async function replica(ns: string): Promise<Replica> {
  const dir = await mkdtemp(path.join(tmpdir(), 'le-'));
  const child = spawn(process.execPath, [MAIN, 'run', 'controller', '--leader-elect', `--operator-namespace=${ns}`, `--watch-namespace=${ns}`, '--listener-class-preset=none', '--http-address='], {
    env: { PATH: process.env.PATH ?? '', KUBECONFIG: process.env.KUBECONFIG ?? '', CSI_ENDPOINT: path.join(dir, 'csi.sock'), ...SHARED_PLANE_ENV },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let out = '';
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => { r(c); }));
  return { child, log: () => out, exited };
}

test('leader election: one replica acts, the standby takes over when it stops', async (t) => {
  const client = await testClient();
  await installCrds(client);
  const ns = await freshNamespace(t, client);
  await createClass(t, client, `${ns}-c`, { serviceType: 'ClusterIP' });
  const a = await replica(ns);
  await eventually('first replica leads', () => (a.log().includes('Became leader') ? true : undefined));
  const b = await replica(ns);
  t.after(() => { a.child.kill('SIGKILL'); b.child.kill('SIGKILL'); });
  await eventually('second replica waits', () => (b.log().includes('Waiting to become the leader') ? true : undefined));
  await createListener(client, ns, 'one', { className: `${ns}-c`, ports: [{ name: 'http', port: 80 }] });
  await waitStatus(client, ns, 'one', 'served by the leader', (s) => s.serviceName === 'one');
  assert.ok(!b.log().includes('Became leader'), 'the standby must not lead while the leader renews');

  a.child.kill('SIGTERM');
  assert.equal(await a.exited, 0);
  // At once when the old leader released the Lease; within the Lease's 15 s in any case.
  await eventually('standby takes over', () => (b.log().includes('Became leader') ? true : undefined), 30_000);
  await createListener(client, ns, 'two', { className: `${ns}-c`, ports: [{ name: 'http', port: 80 }] });
  await waitStatus(client, ns, 'two', 'served by the new leader', (s) => s.serviceName === 'two');
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0);
  client.close();
});
