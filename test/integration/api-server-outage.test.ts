// The API server goes away and comes back: the controller neither crashes nor stalls; its watches
// reconnect and it serves what changed meanwhile. Runs on a control plane of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/cli/log.ts';
import { ListenerController } from '../../src/controller/controller.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { LISTENER_CLASSES, NAMESPACES, at } from '../../src/k8s/resources.ts';
import { startCluster } from '../support/cluster.ts';
import { installCrds } from '../support/operator.ts';
import { createListener, waitStatus, GV } from '../support/listeners.ts';

test('an API server outage: no crash, watches resume, new Listeners are served', async (t) => {
  const cluster = await startCluster({ scheduler: false, log: () => undefined });
  t.after(() => cluster.stop());
  const client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  t.after(() => { client.close(); });
  await installCrds(client);
  await client.create(at(LISTENER_CLASSES, undefined), { apiVersion: GV, kind: 'ListenerClass', metadata: { name: 'ci' }, spec: { serviceType: 'ClusterIP' } });
  await client.create(at(NAMESPACES, undefined), { metadata: { name: 'app' } });
  const warnings: string[] = [];
  const log = createLogger('warn', 'json', { write: (s: string) => { warnings.push(s); return true; } } as unknown as NodeJS.WritableStream);
  const controller = new ListenerController({ client: await KubeClient.fromKubeconfig(cluster.kubeconfig), log, clusterDomain: 'cluster.local', concurrency: 2 });
  await controller.start();
  t.after(() => controller.stop());
  await createListener(client, 'app', 'before', { className: 'ci', ports: [{ name: 'http', port: 80 }] });
  await waitStatus(client, 'app', 'before', 'served', (s) => s.serviceName === 'before');

  await cluster.restartApiServer(3000);

  await createListener(client, 'app', 'after', { className: 'ci', ports: [{ name: 'http', port: 80 }] });
  await waitStatus(client, 'app', 'after', 'served after the outage', (s) => s.serviceName === 'after');
  assert.ok(warnings.some((w) => w.includes('Watching')), `the outage was logged: ${warnings.join('')}`);
});
