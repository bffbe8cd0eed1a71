// Scenario 4: the stable-nodes preset's external-stable class (NodePort, pinned). CreateVolume
// returns the scheduler's Node as accessible topology, so the PV carries a node affinity on
// listeners.stackable.tech/hostname and the Pod is pinned to that Node; deleting and recreating
// the Pod (same PVC) keeps the address and the node port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultAddressFiles, deletePod, e2eClient, e2eState, httpGetOk, listenerClaimTemplate, waitPodReady, webContainer } from '../support/e2e.ts';
import { freshNamespace } from '../support/k8s.ts';
import { NODES, PERSISTENT_VOLUMES, PERSISTENT_VOLUME_CLAIMS, PODS, at } from '../../src/k8s/resources.ts';

interface Pv { spec: { nodeAffinity?: { required?: { nodeSelectorTerms: { matchExpressions?: { key: string; operator: string; values?: string[] }[] }[] } } } }

test('scenario 4: external-stable (stable-nodes) pins the volume to its Node and keeps the address across Pod restarts', async (t) => {
  const state = e2eState();
  const client = await e2eClient(t);
  const ns = await freshNamespace(t, client, 'e2e-stable');

  // kubelet labelled its Node with the driver's topology key (NodeGetInfo) at registration.
  const node = await client.get<{ metadata: { labels?: Record<string, string> } }>(at(NODES, undefined, state.nodeName));
  assert.equal(node.metadata.labels?.['listeners.stackable.tech/hostname'], state.nodeName);

  const template = listenerClaimTemplate({ 'listeners.stackable.tech/listener-class': 'external-stable' });
  await client.create(at(PERSISTENT_VOLUME_CLAIMS, ns), { apiVersion: 'v1', kind: 'PersistentVolumeClaim', ...template, metadata: { ...(template.metadata as object), name: 'listener' } });
  const podSpec = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' },
    spec: {
      containers: [webContainer(['listener'])],
      volumes: [{ name: 'listener', persistentVolumeClaim: { claimName: 'listener' } }],
      terminationGracePeriodSeconds: 1,
    },
  };
  await client.create(at(PODS, ns), podSpec);
  const first = await waitPodReady(client, ns, 'web');
  assert.equal(first.spec.nodeName, state.nodeName);

  const pvc = await client.get<{ spec: { volumeName?: string } }>(at(PERSISTENT_VOLUME_CLAIMS, ns, 'listener'));
  const pv = await client.get<Pv>(at(PERSISTENT_VOLUMES, undefined, pvc.spec.volumeName ?? ''));
  const terms = pv.spec.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  assert.deepEqual(terms, [{ matchExpressions: [{ key: 'listeners.stackable.tech/hostname', operator: 'In', values: [state.nodeName] }] }], 'the PV is pinned to the Node');

  const before = await defaultAddressFiles(first, 'listener', ['http']);
  assert.equal(before.address, state.nodeIp);
  await httpGetOk(`http://${before.address}:${before.ports.http}/`);

  await deletePod(client, ns, 'web');
  await client.create(at(PODS, ns), podSpec);
  const second = await waitPodReady(client, ns, 'web');
  assert.notEqual(second.metadata.uid, first.metadata.uid);
  assert.equal(second.spec.nodeName, state.nodeName);
  const after = await defaultAddressFiles(second, 'listener', ['http']);
  t.diagnostic(`address before ${before.address}:${before.ports.http}, after recreating the Pod ${after.address}:${after.ports.http}`);
  assert.deepEqual(after, before);
  assert.equal((await httpGetOk(`http://${after.address}:${after.ports.http}/`)).body.trim(), 'web');
});
