// Our CRDs on the real API server: they install, the server applies the contract's defaults, and
// its schema validation rejects what the contract forbids.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../src/k8s/client.ts';
import { LISTENERS, LISTENER_CLASSES, POD_LISTENERS, at } from '../../src/k8s/resources.ts';
import { freshNamespace, testClient } from '../support/k8s.ts';
import { installCrds } from '../support/operator.ts';
import { GV } from '../support/listeners.ts';

before(async () => {
  const client = await testClient();
  await installCrds(client);
  client.close();
});

test('the server applies the ListenerClass defaults', async (t) => {
  const client = await testClient();
  const name = `defaults-${Date.now()}`;
  const created = await client.create<{ spec: Record<string, unknown> }>(at(LISTENER_CLASSES, undefined), { apiVersion: GV, kind: 'ListenerClass', metadata: { name }, spec: { serviceType: 'NodePort' } });
  t.after(() => client.delete(at(LISTENER_CLASSES, undefined, name)));
  assert.deepEqual(created.spec, {
    serviceType: 'NodePort',
    serviceAnnotations: {},
    loadBalancerAllocateNodePorts: true,
    preferredAddressType: 'HostnameConservative',
    pinnedNodePorts: false,
    serviceOverrides: { apiVersion: 'v1', kind: 'Service', metadata: {} },
  });
  client.close();
});

test('the server applies the Listener defaults and keeps explicit nulls', async (t) => {
  const client = await testClient();
  const ns = await freshNamespace(t, client);
  const l = await client.create<{ spec: Record<string, unknown> }>(at(LISTENERS, ns), { apiVersion: GV, kind: 'Listener', metadata: { name: 'l' }, spec: { className: 'x', ports: [{ name: 'http', port: 80, protocol: null }] } });
  assert.deepEqual(l.spec, { className: 'x', ports: [{ name: 'http', port: 80, protocol: null }], extraPodSelectorLabels: {}, publishNotReadyAddresses: true, objectOverrides: [] });
  const n = await client.create<{ spec: Record<string, unknown> }>(at(LISTENERS, ns), { apiVersion: GV, kind: 'Listener', metadata: { name: 'n' }, spec: { publishNotReadyAddresses: null } });
  assert.equal(n.spec.publishNotReadyAddresses, null);
  client.close();
});

test('schema validation rejects values the contract forbids', async (t) => {
  const client = await testClient();
  const ns = await freshNamespace(t, client);
  const invalid = async (p: Promise<unknown>, field: RegExp): Promise<void> => {
    await assert.rejects(p, (e: unknown) => e instanceof ApiError && e.status === 422 && field.test(e.message));
  };
  await invalid(client.create(at(LISTENER_CLASSES, undefined), { apiVersion: GV, kind: 'ListenerClass', metadata: { name: `bad-${ns}` }, spec: { serviceType: 'Foo' } }), /serviceType/);
  await invalid(client.create(at(LISTENER_CLASSES, undefined), { apiVersion: GV, kind: 'ListenerClass', metadata: { name: `bad2-${ns}` }, spec: {} }), /serviceType/);
  await invalid(client.create(at(LISTENER_CLASSES, undefined), { apiVersion: GV, kind: 'ListenerClass', metadata: { name: `bad3-${ns}` }, spec: { serviceType: 'NodePort', preferredAddressType: 'Carrier-Pigeon' } }), /preferredAddressType/);
  await invalid(client.create(at(LISTENERS, ns), { apiVersion: GV, kind: 'Listener', metadata: { name: 'p' }, spec: { ports: [{ name: 'http', port: 'eighty' }] } }), /port/);
  await invalid(client.create(at(POD_LISTENERS, ns), { apiVersion: GV, kind: 'PodListeners', metadata: { name: 'pod-x' }, spec: { listeners: { v: { scope: 'Galaxy', ingressAddresses: [] } } } }), /scope/);
  client.close();
});
