// A reconcile whose API request hangs (the real API server behind a proxy that holds the
// Service apply) is aborted at its deadline: its worker slot serves other Listeners, it is retried
// and served once requests flow again, and stopping the controller is bounded by its grace period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/cli/log.ts';
import { ListenerController } from '../../src/controller/controller.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { tempDir } from '../support/csi.ts';
import { eventually, freshNamespace, settlesWithin, testClient } from '../support/k8s.ts';
import { createClass, createListener, waitStatus } from '../support/listeners.ts';
import { installCrds } from '../support/operator.ts';
import { sharedStallProxy, type StallProxy } from '../support/stall-proxy.ts';

const ports = [{ name: 'http', port: 80 }];
// Requests that would otherwise wait this long: only the reconcile's own deadline can end them.
const PATIENT_CLIENT = { readTimeoutMs: 120_000, listTimeoutMs: 120_000, writeTimeoutMs: 120_000 };

async function stalledController(t: Parameters<typeof sharedStallProxy>[0], ns: string, proxy: StallProxy, reconcileTimeoutMs: number): Promise<{ controller: ListenerController; logs: string[] }> {
  const logs: string[] = [];
  const log = createLogger('warn', 'json', { write: (s: string) => { logs.push(s); return true; } } as unknown as NodeJS.WritableStream);
  const client = await KubeClient.fromKubeconfig(proxy.kubeconfig, PATIENT_CLIENT);
  const controller = new ListenerController({ client, log, clusterDomain: 'cluster.local', concurrency: 1, namespace: ns, reconcileTimeoutMs });
  await controller.start();
  t.after(async () => {
    proxy.resume();
    await controller.stop(1000);
    client.close();
  });
  return { controller, logs };
}

test('a reconcile stalled on the API server is aborted at its deadline, frees its slot, and is retried', async (t) => {
  const client = await testClient();
  t.after(() => { client.close(); });
  await installCrds(client);
  const ns = await freshNamespace(t, client);
  await createClass(t, client, `${ns}-c`, { serviceType: 'ClusterIP' });
  const proxy = await sharedStallProxy(t, await tempDir(t, 'lo-stall-'));
  const { controller, logs } = await stalledController(t, ns, proxy, 1000);

  proxy.stall((r) => r.method === 'PATCH' && r.path.endsWith('/services/stalled'));
  await createListener(client, ns, 'stalled', { className: `${ns}-c`, ports });
  await eventually('the Service apply is held', () => (proxy.held() > 0 ? true : undefined), 10_000);
  await eventually('the stalled reconcile gives up its only worker slot', () => (controller.queue.active === 0 ? true : undefined), 5000);
  await eventually('its request is cancelled', () => (proxy.held() === 0 ? true : undefined), 5000);
  assert.ok(logs.some((l) => l.includes('deadline')), `the deadline was logged: ${logs.join('')}`);

  // The one worker slot serves another Listener while the stalled one keeps failing.
  await createListener(client, ns, 'other', { className: `${ns}-c`, ports });
  await waitStatus(client, ns, 'other', 'served while the other reconcile is stalled', (s) => s.serviceName === 'other');

  proxy.resume();
  await waitStatus(client, ns, 'stalled', 'served once the API server answers again', (s) => s.serviceName === 'stalled');
});

test('stopping the controller is bounded while a reconcile hangs', async (t) => {
  const client = await testClient();
  t.after(() => { client.close(); });
  await installCrds(client);
  const ns = await freshNamespace(t, client);
  await createClass(t, client, `${ns}-c`, { serviceType: 'ClusterIP' });
  const proxy = await sharedStallProxy(t, await tempDir(t, 'lo-stall-'));
  const { controller } = await stalledController(t, ns, proxy, 60_000);

  proxy.stall((r) => r.method === 'PATCH' && r.path.includes('/services/'));
  await createListener(client, ns, 'hangs', { className: `${ns}-c`, ports });
  await eventually('the Service apply is held', () => (proxy.held() > 0 ? true : undefined), 10_000);
  const started = Date.now();
  await settlesWithin(controller.stop(500), 5000, 'stop(500)');
  const ms = Date.now() - started;
  assert.ok(ms >= 450 && ms < 3000, `stop took ${ms} ms`);
  await eventually('the hanging request is cancelled', () => (proxy.held() === 0 ? true : undefined), 5000);
});
