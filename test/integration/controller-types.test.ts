// The Listener controller against a real API server: one Service per Listener and the status for
// each service type and address preference.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { ENDPOINT_SLICES, SERVICES, at } from '../../src/k8s/resources.ts';
import { testClient } from '../support/k8s.ts';
import { controllerTest, installCrds } from '../support/operator.ts';
import { createClass, createListener, createNode, createPinnedPv, waitService, waitStatus } from '../support/listeners.ts';

before(async () => {
  const client = await testClient();
  await installCrds(client);
  client.close();
});

const ports = [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'admin', port: 9090 }];

test('ClusterIP with IP preference: every clusterIP, the Service ports, an owned Service', async (t) => {
  const { client, ns } = await controllerTest(t);
  await createClass(t, client, `${ns}-ip`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  const l = await createListener(client, ns, 'web', { className: `${ns}-ip`, ports }, { team: 'a' });
  const status = await waitStatus(client, ns, 'web', 'an address', (s) => (s.ingressAddresses?.length ?? 0) > 0);
  const svc = await waitService(client, ns, 'web', 'exists', () => true);
  assert.equal(svc.spec.type, 'ClusterIP');
  assert.deepEqual(status.ingressAddresses, (svc.spec.clusterIPs ?? []).map((ip) => ({ address: ip, addressType: 'IP', ports: { http: 8080, admin: 9090 } })));
  assert.equal(status.serviceName, 'web');
  assert.deepEqual(status.conditions?.map((c) => [c.type, c.status, c.reason, c.observedGeneration]), [['Ready', 'True', 'AddressesAvailable', 1]]);
  assert.equal(svc.metadata.labels?.team, 'a');
  assert.equal(svc.metadata.labels?.['app.kubernetes.io/managed-by'], 'listeners.stackable.tech_listener');
  assert.equal(svc.metadata.labels?.['app.kubernetes.io/instance'], 'web');
  const owner = svc.metadata.ownerReferences?.[0];
  assert.equal(owner?.uid, l.metadata.uid);
  assert.equal(owner?.controller, true);
  assert.deepEqual(svc.spec.selector, { [`listener.stackable.tech/mnt.${l.metadata.uid.replaceAll('-', '')}`]: 'web' });
  assert.equal(svc.spec.publishNotReadyAddresses, true);
  client.close();
});

test('ClusterIP with Hostname preference: the service FQDN in the configured cluster domain', async (t) => {
  const { client, ns } = await controllerTest(t, { clusterDomain: 'example.internal' });
  await createClass(t, client, `${ns}-host`, { serviceType: 'ClusterIP' }); // HostnameConservative → Hostname
  await createListener(client, ns, 'web', { className: `${ns}-host`, ports });
  const status = await waitStatus(client, ns, 'web', 'an address', (s) => (s.ingressAddresses?.length ?? 0) > 0);
  assert.deepEqual(status.ingressAddresses, [{ address: `web.${ns}.svc.example.internal`, addressType: 'Hostname', ports: { http: 8080, admin: 9090 } }]);
  client.close();
});

test('LoadBalancer: status follows the ingress a cloud writes, hostname and IP', async (t) => {
  const { client, ns } = await controllerTest(t);
  await createClass(t, client, `${ns}-lb`, { serviceType: 'LoadBalancer', loadBalancerClass: 'example.com/lb', loadBalancerAllocateNodePorts: false, serviceExternalTrafficPolicy: 'Local' });
  await createListener(client, ns, 'lb', { className: `${ns}-lb`, ports });
  const svc = await waitService(client, ns, 'lb', 'type LoadBalancer', (s) => s.spec.type === 'LoadBalancer');
  assert.equal(svc.spec.loadBalancerClass, 'example.com/lb');
  assert.equal(svc.spec.allocateLoadBalancerNodePorts, false);
  assert.equal(svc.spec.externalTrafficPolicy, 'Local');
  const pending = await waitStatus(client, ns, 'lb', 'a Ready condition', (s) => (s.conditions?.length ?? 0) > 0);
  assert.deepEqual(pending.conditions?.map((c) => [c.status, c.reason]), [['False', 'LoadBalancerPending']]);
  // The cloud controller's part: publish the load balancer's addresses.
  await client.mergePatch(at(SERVICES, ns, 'lb', 'status'), { status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }, { ip: '192.0.2.10' }] } } });
  const status = await waitStatus(client, ns, 'lb', 'two addresses', (s) => (s.ingressAddresses?.length ?? 0) === 2);
  assert.deepEqual(status.ingressAddresses, [
    { address: 'lb.example.com', addressType: 'Hostname', ports: { http: 8080, admin: 9090 } },
    { address: '192.0.2.10', addressType: 'IP', ports: { http: 8080, admin: 9090 } },
  ]);
  assert.equal(status.nodePorts ?? undefined, undefined);
  assert.deepEqual(status.conditions?.map((c) => [c.status, c.reason]), [['True', 'AddressesAvailable']]);
  client.close();
});

test('NodePort: addresses of the pinned Nodes, ExternalIP over InternalIP, Hostname when preferred, nodePorts', async (t) => {
  const { client, ns } = await controllerTest(t);
  await createNode(t, client, `${ns}-n1`, [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'ExternalIP', address: '203.0.113.1' }, { type: 'Hostname', address: 'n1.example' }]);
  await createNode(t, client, `${ns}-n2`, [{ type: 'InternalIP', address: '10.0.0.2' }, { type: 'Hostname', address: 'n2.example' }]);
  await createClass(t, client, `${ns}-np`, { serviceType: 'NodePort', pinnedNodePorts: true });
  await createClass(t, client, `${ns}-np-host`, { serviceType: 'NodePort', preferredAddressType: 'Hostname' });
  await createListener(client, ns, 'np', { className: `${ns}-np`, ports });
  await createListener(client, ns, 'nph', { className: `${ns}-np-host`, ports });
  await createPinnedPv(t, client, `${ns}-pv1`, { listenerNs: ns, listenerName: 'np', node: `${ns}-n1` });
  await createPinnedPv(t, client, `${ns}-pv2`, { listenerNs: ns, listenerName: 'np', node: `${ns}-n2` });
  await createPinnedPv(t, client, `${ns}-pv3`, { listenerNs: ns, listenerName: 'nph', node: `${ns}-n1` });

  const svc = await waitService(client, ns, 'np', 'node ports', (s) => s.spec.type === 'NodePort' && (s.spec.ports ?? []).every((p) => p.nodePort !== undefined));
  const nodePorts = Object.fromEntries((svc.spec.ports ?? []).map((p) => [p.name ?? '', p.nodePort ?? 0]));
  const status = await waitStatus(client, ns, 'np', 'two node addresses', (s) => (s.ingressAddresses?.length ?? 0) === 2);
  assert.deepEqual(status.nodePorts, nodePorts);
  assert.deepEqual(status.ingressAddresses, [
    { address: '203.0.113.1', addressType: 'IP', ports: nodePorts },
    { address: '10.0.0.2', addressType: 'IP', ports: nodePorts },
  ]);
  const hostStatus = await waitStatus(client, ns, 'nph', 'a hostname', (s) => (s.ingressAddresses?.length ?? 0) === 1);
  assert.equal(hostStatus.ingressAddresses?.[0]?.address, 'n1.example');
  assert.equal(hostStatus.ingressAddresses?.[0]?.addressType, 'Hostname');

  // A ready endpoint on a third Node adds that Node (the EndpointSlice controller copies the
  // Service's labels onto its slices; this slice is written as it would be).
  await createNode(t, client, `${ns}-n3`, [{ type: 'InternalIP', address: '10.0.0.3' }]);
  await client.create(at(ENDPOINT_SLICES, ns), {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'np-pods', labels: { 'kubernetes.io/service-name': 'np', 'app.kubernetes.io/managed-by': 'listeners.stackable.tech_listener' } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080 }],
    endpoints: [
      { addresses: ['10.244.0.5'], nodeName: `${ns}-n3`, conditions: { ready: true } },
      { addresses: ['10.244.0.6'], nodeName: `${ns}-not-ready`, conditions: { ready: false } },
    ],
  });
  const withEndpoint = await waitStatus(client, ns, 'np', 'the endpoint\'s node', (s) => (s.ingressAddresses?.length ?? 0) === 3);
  assert.deepEqual(withEndpoint.ingressAddresses?.map((a) => a.address), ['203.0.113.1', '10.0.0.2', '10.0.0.3']);

  // A Node's address change reaches the status of the Listeners it backs.
  await client.mergePatch(at({ group: '', version: 'v1', plural: 'nodes' }, undefined, `${ns}-n2`, 'status'), { status: { addresses: [{ type: 'ExternalIP', address: '203.0.113.2' }] } });
  await waitStatus(client, ns, 'np', 'the new node address', (s) => s.ingressAddresses?.some((a) => a.address === '203.0.113.2') === true);
  client.close();
});
