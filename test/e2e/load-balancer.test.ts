// Scenario 5: a LoadBalancer class. There is no cloud here, so the test plays it: it writes the
// Service's status.loadBalancer.ingress. Until then the Listener has no address and publishing
// is retried (UNAVAILABLE; the Pod waits in ContainerCreating); afterwards the Pod starts and its
// files carry the load balancer's address with the Service port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { defaultAddressFiles, e2eClient, ephemeralListenerVolume, waitPodReady, webContainer, WEB_PORT, type PodStatus } from '../support/e2e.ts';
import { eventually, freshNamespace } from '../support/k8s.ts';
import { createClass, waitStatus, type TestEvent, type TestService } from '../support/listeners.ts';
import { EVENTS, PODS, SERVICES, at } from '../../src/k8s/resources.ts';

const LB_HOSTNAME = 'lb-1.e2e.invalid'; // only ever written into status, never resolved or dialled

test('scenario 5: a LoadBalancer class: the Pod waits for the (test-played) load balancer, then reads its address', async (t) => {
  const client = await e2eClient(t);
  const ns = await freshNamespace(t, client, 'e2e-lb');
  const className = `e2e-lb-${randomBytes(3).toString('hex')}`;
  await createClass(t, client, className, { serviceType: 'LoadBalancer' });

  await client.create(at(PODS, ns), {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' },
    spec: {
      containers: [webContainer(['listener'])],
      volumes: [ephemeralListenerVolume('listener', { 'listeners.stackable.tech/listener-class': className })],
      terminationGracePeriodSeconds: 1,
    },
  });
  const svc = await eventually('the LoadBalancer Service', async () => {
    const s = await client.getOptional<TestService>(at(SERVICES, ns, 'web-listener'));
    return s?.spec.type === 'LoadBalancer' ? s : undefined;
  }, 60_000);
  assert.equal(svc.spec.type, 'LoadBalancer');

  // No load balancer yet: the volume cannot be published (kubelet says why), the container does not start.
  const failed = await eventually('kubelet reports the failed mount', async () => {
    const events = await client.list<TestEvent>(at(EVENTS, ns));
    return events.items.find((e) => e.reason === 'FailedMount' && e.regarding.name === 'web');
  }, 60_000);
  assert.match(failed.note, /has no ingress addresses yet/);
  const waiting = await client.get<PodStatus>(at(PODS, ns, 'web'));
  assert.equal(waiting.status?.phase, 'Pending', 'the Pod waits for its listener volume');

  // The "cloud" provisions the load balancer.
  await client.mergePatch(at(SERVICES, ns, 'web-listener', 'status'), { status: { loadBalancer: { ingress: [{ hostname: LB_HOSTNAME }] } } });
  await waitStatus(client, ns, 'web-listener', 'load balancer address', (s) => (s.ingressAddresses ?? []).length > 0);

  const pod = await waitPodReady(client, ns, 'web', 120_000);
  const files = await defaultAddressFiles(pod, 'listener', ['http']);
  t.diagnostic(`container files after the load balancer appeared: ${files.address}:${files.ports.http}`);
  assert.deepEqual(files, { address: LB_HOSTNAME, ports: { http: WEB_PORT } });
});
