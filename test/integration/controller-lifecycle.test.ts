// The Listener controller over time: class changes, overrides, foreign Services, garbage
// collection, restarts that write nothing, and bad input that never stops the others.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { LISTENERS, LISTENER_CLASSES, SERVICES, at } from '../../src/k8s/resources.ts';
import { eventually, freshNamespace, testClient } from '../support/k8s.ts';
import type { ListenerController } from '../../src/controller/controller.ts';
import { controllerTest, installCrds, startController } from '../support/operator.ts';
import { createClass, createListener, getService, waitEvent, waitService, waitStatus } from '../support/listeners.ts';

before(async () => {
  const client = await testClient();
  await installCrds(client);
  client.close();
});

const ports = [{ name: 'http', port: 8080 }];

/**
 * Waits until the controller has seen the echo of everything its reconciles of `names` wrote and
 * caused (each Listener's status, its Service, and the EndpointSlice the cluster made for that
 * Service, each of which wakes the Listener again) and its queue is idle: from then on nothing is
 * left that could still make it write, so write counts are final.
 */
async function settled(controller: ListenerController, ns: string, names: string[]): Promise<void> {
  const c = controller.caches;
  await eventually(`the controller has seen its own writes for ${names.length} Listeners and is idle`, () => {
    const seen = names.every((name) => {
      const key = `${ns}/${name}`;
      const status = (c.listeners.get(key)?.status ?? {}) as { serviceName?: unknown };
      return status.serviceName !== undefined && c.services.get(key) !== undefined && c.slicesByService.get(key).length > 0;
    });
    return seen && controller.queue.isIdle() ? true : undefined;
  });
}

test('changing the Listener\'s class, and editing the class itself, moves the Service', async (t) => {
  const { client, ns } = await controllerTest(t);
  await createClass(t, client, `${ns}-a`, { serviceType: 'ClusterIP' });
  await createClass(t, client, `${ns}-b`, { serviceType: 'NodePort' });
  await createListener(client, ns, 'web', { className: `${ns}-a`, ports });
  await waitService(client, ns, 'web', 'ClusterIP', (s) => s.spec.type === 'ClusterIP');
  await client.mergePatch(at(LISTENERS, ns, 'web'), { spec: { className: `${ns}-b` } });
  await waitService(client, ns, 'web', 'NodePort after the class change', (s) => s.spec.type === 'NodePort');
  await client.mergePatch(at(LISTENER_CLASSES, undefined, `${ns}-b`), { spec: { serviceType: 'LoadBalancer', serviceAnnotations: { 'example.com/x': 'y' } } });
  const svc = await waitService(client, ns, 'web', 'LoadBalancer after the class edit', (s) => s.spec.type === 'LoadBalancer');
  assert.equal(svc.metadata.annotations?.['example.com/x'], 'y');
  client.close();
});

test('serviceOverrides and objectOverrides land on the Service, Listener override first', async (t) => {
  const { client, ns } = await controllerTest(t);
  await createClass(t, client, `${ns}-o`, {
    serviceType: 'ClusterIP',
    serviceAnnotations: { a: 'class-annotation', b: 'class-annotation', c: 'class-annotation' },
    serviceOverrides: { metadata: { annotations: { b: 'class-override', c: 'class-override' }, labels: { extra: 'from-class' } }, spec: { sessionAffinity: 'ClientIP' } },
  });
  await createListener(client, ns, 'web', {
    className: `${ns}-o`, ports,
    objectOverrides: [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns, annotations: { c: 'listener-override' } } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'other', namespace: ns, annotations: { c: 'not-for-us' } } },
    ],
  });
  const svc = await waitService(client, ns, 'web', 'overrides', (s) => s.metadata.annotations?.c !== undefined);
  assert.equal(svc.metadata.annotations?.a, 'class-annotation');
  assert.equal(svc.metadata.annotations?.b, 'class-override');
  assert.equal(svc.metadata.annotations?.c, 'listener-override');
  assert.equal(svc.metadata.labels?.extra, 'from-class');
  assert.equal((svc.spec as { sessionAffinity?: string }).sessionAffinity, 'ClientIP');
  client.close();
});

test('a foreign Service with the Listener\'s name is left untouched, and an event says why', async (t) => {
  const { client, ns } = await controllerTest(t);
  await createClass(t, client, `${ns}-c`, { serviceType: 'NodePort' });
  const foreign = await client.create<{ metadata: { resourceVersion: string } }>(at(SERVICES, ns), {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'taken', labels: { owner: 'someone-else' } },
    spec: { type: 'ClusterIP', ports: [{ port: 1 }], selector: { app: 'theirs' } },
  });
  await createListener(client, ns, 'taken', { className: `${ns}-c`, ports });
  const ev = await waitEvent(client, ns, 'taken', 'ServiceNotOwned');
  assert.match(ev.note, /not controlled by this Listener/);
  const after = await getService(client, ns, 'taken');
  assert.equal((after?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion, foreign.metadata.resourceVersion);
  assert.deepEqual(after?.spec.selector, { app: 'theirs' });
  client.close();
});

test('deleting the Listener garbage-collects its Service', async (t) => {
  const { client, ns } = await controllerTest(t);
  await createClass(t, client, `${ns}-g`, { serviceType: 'ClusterIP' });
  await createListener(client, ns, 'gone', { className: `${ns}-g`, ports });
  await waitService(client, ns, 'gone', 'exists', () => true);
  await client.delete(at(LISTENERS, ns, 'gone'));
  // The garbage collector learns about new CRDs by periodic discovery (every 30 s).
  await eventually('Service garbage-collected', async () => ((await getService(client, ns, 'gone')) === undefined ? true : undefined), 90_000);
  client.close();
});

test('a new Listener costs one Service apply, one status write and one reconcile, even when its cache lags our write', async (t) => {
  const { client, ns, ctl } = await controllerTest(t);
  await createClass(t, client, `${ns}-w`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  const writes = { service: 0, status: 0, other: 0 };
  ctl.client.onRequest((verb, path) => {
    if (verb === 'get' || verb === 'list' || verb === 'watch') return;
    if (path.endsWith('/status')) writes.status++;
    else if (path.includes('/services/')) writes.service++;
    else writes.other++;
  });
  // The Service's own watch event re-queues the Listener right after the apply, usually before the
  // Listener watch has delivered the status write: that reconcile must not write the status again.
  const n = 20;
  for (let i = 0; i < n; i++) await createListener(client, ns, `w${i}`, { className: `${ns}-w`, ports });
  for (let i = 0; i < n; i++) await waitStatus(client, ns, `w${i}`, 'addresses', (s) => (s.ingressAddresses?.length ?? 0) > 0);
  await settled(ctl.controller, ns, Array.from({ length: n }, (_, i) => `w${i}`));
  assert.deepEqual(writes, { service: n, status: n, other: 0 });
  // Nothing that followed could change a Listener: the echoes of its own status write and Service
  // apply (also those that arrive while its reconcile still runs), the cluster's empty
  // EndpointSlice for the new Service. None of them wakes it again. (A stray event from elsewhere
  // may: two in all are allowed; waking for each of those would make about 3 per Listener.)
  const reconciles = Array.from({ length: n }, (_, i) => ctl.controller.reconcilesOf(`${ns}/w${i}`)).reduce((a, b) => a + b, 0);
  assert.ok(reconciles <= n + 2, `${reconciles} reconciles for ${n} new Listeners`);
});

test('a restart over an unchanged namespace performs no writes, and an unchanged reconcile no requests', async (t) => {
  const client = await testClient();
  const ns = await freshNamespace(t, client);
  await createClass(t, client, `${ns}-r1`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  await createClass(t, client, `${ns}-r2`, { serviceType: 'NodePort' });
  await createClass(t, client, `${ns}-r3`, { serviceType: 'LoadBalancer' });
  const first = await startController(ns);
  for (let i = 0; i < 6; i++) await createListener(client, ns, `l${i}`, { className: `${ns}-r${(i % 3) + 1}`, ports });
  await waitStatus(client, ns, 'l0', 'converged', (s) => (s.ingressAddresses?.length ?? 0) > 0);
  await waitStatus(client, ns, 'l1', 'converged', (s) => s.nodePorts !== undefined && s.nodePorts !== null);
  await waitStatus(client, ns, 'l2', 'converged', (s) => s.serviceName === 'l2');
  await settled(first.controller, ns, Array.from({ length: 6 }, (_, i) => `l${i}`));
  await first.stop();

  const second = await startController(ns);
  t.after(() => second.stop());
  await eventually('second controller reconciled all', () => (second.controller.reconciles >= 6 && second.controller.queue.isIdle() ? true : undefined));
  const c = second.client.counts;
  const writes = c.create + c.apply + c.patch + c.update + c.delete;
  t.diagnostic(`restart: ${second.controller.reconciles} reconciles, ${writes} writes, requests ${JSON.stringify(c)}`);
  assert.equal(writes, 0, `writes on restart: ${JSON.stringify(c)}`);

  // An unchanged Listener's reconcile makes no API request at all.
  const before = second.client.totalRequests() - c.watch;
  second.controller.queue.add(`${ns}/l0`);
  second.controller.queue.add(`${ns}/l1`);
  await second.controller.queue.idle();
  assert.equal(second.client.totalRequests() - second.client.counts.watch, before);
  client.close();
});

test('bad input: clear events, no crash, and the other Listeners still served', async (t) => {
  const { client, ns } = await controllerTest(t);
  await createClass(t, client, `${ns}-ok`, { serviceType: 'ClusterIP' });
  await createListener(client, ns, 'no-class', { ports });
  await createListener(client, ns, 'unknown-class', { className: `${ns}-missing`, ports });
  await createListener(client, ns, 'dup-ports', { className: `${ns}-ok`, ports: [{ name: 'http', port: 1 }, { name: 'http', port: 3, protocol: 'TCP' }] });
  await createListener(client, ns, 'name-clash', { className: `${ns}-ok`, ports: [{ name: 'http', port: 1 }, { name: 'http', port: 2, protocol: 'UDP' }] });
  await createListener(client, ns, 'bad-port-name', { className: `${ns}-ok`, ports: [{ name: 'Not_Valid!', port: 1 }] });
  const name63 = `l${'x'.repeat(62)}`;
  const name80 = `l${'y'.repeat(79)}`;
  const l63 = await createListener(client, ns, name63, { className: `${ns}-ok`, ports });
  await createListener(client, ns, name80, { className: `${ns}-ok`, ports });
  await createListener(client, ns, 'fine', { className: `${ns}-ok`, ports });

  assert.match((await waitEvent(client, ns, 'no-class', 'NoListenerClass')).note, /no spec.className/);
  assert.match((await waitEvent(client, ns, 'unknown-class', 'ListenerClassNotFound')).note, /does not exist/);
  const notReady = await waitStatus(client, ns, 'unknown-class', 'a Ready condition', (s) => (s.conditions?.length ?? 0) > 0);
  assert.deepEqual(notReady.conditions?.map((c) => [c.status, c.reason]), [['False', 'ListenerClassNotFound']]);
  assert.match(notReady.conditions?.[0]?.message ?? '', /does not exist/);
  assert.match((await waitEvent(client, ns, 'bad-port-name', 'InvalidListener')).note, /Not_Valid!/);
  assert.match((await waitEvent(client, ns, 'name-clash', 'InvalidListener')).note, /unique/);
  await waitStatus(client, ns, 'fine', 'served', (s) => (s.ingressAddresses?.length ?? 0) > 0);

  const dup = await waitService(client, ns, 'dup-ports', 'exists', () => true);
  // De-duplicated by (protocol, name), the last one winning, as upstream.
  assert.deepEqual(dup.spec.ports?.map((p) => [p.name, p.protocol, p.port]), [['http', 'TCP', 3]]);

  const s63 = await waitService(client, ns, name63, 'exists', () => true);
  const selector = Object.entries(s63.spec.selector ?? {});
  assert.deepEqual(selector, [[`listener.stackable.tech/mnt.${l63.metadata.uid.replaceAll('-', '')}`, name63]]);

  const st80 = await waitStatus(client, ns, name80, 'served', (s) => (s.ingressAddresses?.length ?? 0) > 0);
  assert.ok(st80.serviceName !== undefined && st80.serviceName !== null && st80.serviceName.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(st80.serviceName), `derived name ${String(st80.serviceName)}`);
  assert.ok(await getService(client, ns, st80.serviceName));
  client.close();
});
