// Scenario 6: one Pod with two listener volumes of different classes (cluster-internal and the
// NodePort class external-unstable): two Listeners and Services, two mount labels on the Pod, two
// entries in its PodListeners (scope Cluster and Node), each volume's files its own, and traffic
// reaching the Pod through both Services.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultAddressFiles, e2eClient, e2eState, ephemeralListenerVolume, httpGetOk, waitEndpoints, waitPodReady, webContainer, WEB_PORT,
} from '../support/e2e.ts';
import { freshNamespace } from '../support/k8s.ts';
import type { TestListener, TestService } from '../support/listeners.ts';
import { LISTENERS, PODS, POD_LISTENERS, SERVICES, at } from '../../src/k8s/resources.ts';

interface PodListenersObj { spec: { listeners: Record<string, { scope: string; ingressAddresses: { address: string; ports: Record<string, number> }[] }> } }

test('scenario 6: a Pod with two listener volumes of different classes', async (t) => {
  const state = e2eState();
  const client = await e2eClient(t);
  const ns = await freshNamespace(t, client, 'e2e-two');

  await client.create(at(PODS, ns), {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' },
    spec: {
      containers: [webContainer(['internal', 'external'])],
      volumes: [
        ephemeralListenerVolume('internal', { 'listeners.stackable.tech/listener-class': 'cluster-internal' }),
        ephemeralListenerVolume('external', { 'listeners.stackable.tech/listener-class': 'external-unstable' }),
      ],
      terminationGracePeriodSeconds: 1,
    },
  });
  const pod = await waitPodReady(client, ns, 'web');

  const internal = await client.get<TestListener>(at(LISTENERS, ns, 'web-internal'));
  const external = await client.get<TestListener>(at(LISTENERS, ns, 'web-external'));
  const internalSvc = await client.get<TestService>(at(SERVICES, ns, 'web-internal'));
  const externalSvc = await client.get<TestService>(at(SERVICES, ns, 'web-external'));
  assert.equal(internalSvc.spec.type, 'ClusterIP');
  assert.equal(externalSvc.spec.type, 'NodePort');
  const nodePort = externalSvc.spec.ports?.find((p) => p.name === 'http')?.nodePort;
  assert.ok(nodePort !== undefined);

  const labels = (await client.get<{ metadata: { labels?: Record<string, string> } }>(at(PODS, ns, 'web'))).metadata.labels ?? {};
  assert.equal(labels[`listener.stackable.tech/mnt.${internal.metadata.uid.replaceAll('-', '')}`], 'web-internal');
  assert.equal(labels[`listener.stackable.tech/mnt.${external.metadata.uid.replaceAll('-', '')}`], 'web-external');

  const internalFiles = await defaultAddressFiles(pod, 'internal', ['http']);
  const externalFiles = await defaultAddressFiles(pod, 'external', ['http']);
  t.diagnostic(`internal: ${internalFiles.address}:${internalFiles.ports.http}; external: ${externalFiles.address}:${externalFiles.ports.http}`);
  assert.deepEqual(internalFiles, { address: `web-internal.${ns}.svc.cluster.local`, ports: { http: WEB_PORT } });
  assert.deepEqual(externalFiles, { address: state.nodeIp, ports: { http: nodePort } });

  const pl = await client.get<PodListenersObj>(at(POD_LISTENERS, ns, `pod-${pod.metadata.uid}`));
  assert.deepEqual(Object.keys(pl.spec.listeners).sort(), ['external', 'internal']);
  assert.equal(pl.spec.listeners.internal?.scope, 'Cluster');
  assert.equal(pl.spec.listeners.external?.scope, 'Node');

  await waitEndpoints(client, ns, 'web-internal', ['web']);
  await waitEndpoints(client, ns, 'web-external', ['web']);
  assert.equal((await httpGetOk(`http://${internalSvc.spec.clusterIP ?? ''}:${WEB_PORT}/`)).body.trim(), 'web');
  assert.equal((await httpGetOk(`http://${externalFiles.address}:${externalFiles.ports.http}/`)).body.trim(), 'web');
});
