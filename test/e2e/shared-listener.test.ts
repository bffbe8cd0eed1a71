// Scenario 3: a pre-created Listener shared by two Pods through `listener-name`: one Service, both
// Pods selected (each carries the mount label), both read the same address, and traffic through
// the Service reaches both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  collectBodies, defaultAddressFiles, e2eClient, ephemeralListenerVolume, waitEndpoints, waitPodReady, webContainer, WEB_PORT,
} from '../support/e2e.ts';
import { freshNamespace } from '../support/k8s.ts';
import { createListener, type TestService } from '../support/listeners.ts';
import { LISTENERS, PODS, SERVICES, at } from '../../src/k8s/resources.ts';

test('scenario 3: a pre-created Listener shared by two Pods: one Service selecting both', async (t) => {
  const client = await e2eClient(t);
  const ns = await freshNamespace(t, client, 'e2e-shared');
  const listener = await createListener(client, ns, 'shared', { className: 'cluster-internal', ports: [{ name: 'http', port: WEB_PORT, protocol: 'TCP' }] });

  for (const name of ['a', 'b']) {
    await client.create(at(PODS, ns), {
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: {
        containers: [webContainer(['listener'])],
        volumes: [ephemeralListenerVolume('listener', { 'listeners.stackable.tech/listener-name': 'shared' })],
        terminationGracePeriodSeconds: 1,
      },
    });
  }
  const pods = [await waitPodReady(client, ns, 'a'), await waitPodReady(client, ns, 'b')];

  // No Listener was created for the volumes: the one Listener, the one Service.
  const listeners = await client.list<{ metadata: { name: string } }>(at(LISTENERS, ns));
  assert.deepEqual(listeners.items.map((l) => l.metadata.name), ['shared']);
  const services = await client.list<TestService>(at(SERVICES, ns));
  assert.deepEqual(services.items.map((s) => s.metadata.name), ['shared']);
  const mountLabel = `listener.stackable.tech/mnt.${listener.metadata.uid.replaceAll('-', '')}`;
  assert.equal(services.items[0]?.spec.selector?.[mountLabel], 'shared');

  for (const pod of pods) {
    const live = await client.get<{ metadata: { labels?: Record<string, string> } }>(at(PODS, ns, pod.metadata.name));
    assert.equal(live.metadata.labels?.[mountLabel], 'shared', `Pod ${pod.metadata.name} carries the mount label`);
    assert.deepEqual(await defaultAddressFiles(pod, 'listener', ['http']), { address: `shared.${ns}.svc.cluster.local`, ports: { http: WEB_PORT } });
  }
  await waitEndpoints(client, ns, 'shared', ['a', 'b']);

  // Through the ClusterIP, new connections land on both Pods (bounded: at most 40 requests).
  const seen = await collectBodies(`http://${services.items[0]?.spec.clusterIP ?? ''}:${WEB_PORT}/`, ['a', 'b'], 40);
  t.diagnostic(`answers through the shared Service: ${JSON.stringify(Object.fromEntries(seen))}`);
  assert.deepEqual([...seen.keys()].sort(), ['a', 'b']);
});
