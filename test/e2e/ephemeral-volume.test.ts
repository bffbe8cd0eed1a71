// Scenario 1: a Pod with an ephemeral listener volume (listener-class: cluster-internal). The PVC
// is created by the ephemeral-volume controller, provisioned through csi-provisioner (CreateVolume),
// published by kubelet (NodePublishVolume); the container reads its address and port files; the
// Pod's mount label makes it an endpoint of the Listener's Service; deleting the Pod removes PVC,
// PV, Listener, Service and PodListeners.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultAddressFiles, e2eClient, e2eState, ephemeralListenerVolume, httpGetOk, waitEndpoints, waitGone, waitPodReady, webContainer, WEB_PORT,
} from '../support/e2e.ts';
import { freshNamespace } from '../support/k8s.ts';
import type { TestListener, TestService } from '../support/listeners.ts';
import { LISTENERS, PERSISTENT_VOLUMES, PERSISTENT_VOLUME_CLAIMS, PODS, POD_LISTENERS, SERVICES, at } from '../../src/k8s/resources.ts';

interface Pvc { metadata: { annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] }; spec: { volumeName?: string } }
interface Pv { spec: { csi?: { driver: string; volumeHandle: string; volumeAttributes?: Record<string, string> } }; metadata: { labels?: Record<string, string> } }
interface PodListenersObj { spec: { listeners: Record<string, { scope: string; ingressAddresses: { address: string; addressType: string; ports: Record<string, number> }[] }> } }

test('scenario 1: an ephemeral cluster-internal listener volume is provisioned, published, served and cleaned up', async (t) => {
  const state = e2eState();
  const client = await e2eClient(t);
  const ns = await freshNamespace(t, client, 'e2e-eph');

  await client.create(at(PODS, ns), {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      containers: [webContainer(['listener'])],
      volumes: [ephemeralListenerVolume('listener', { 'listeners.stackable.tech/listener-class': 'cluster-internal' })],
      terminationGracePeriodSeconds: 1,
    },
  });
  const pod = await waitPodReady(client, ns, 'web');
  assert.equal(pod.spec.nodeName, state.nodeName);

  // The ephemeral-volume controller named the PVC <pod>-<volume> and owns it by the Pod.
  const pvc = await client.get<Pvc>(at(PERSISTENT_VOLUME_CLAIMS, ns, 'web-listener'));
  assert.equal(pvc.metadata.ownerReferences?.[0]?.kind, 'Pod');
  const pvName = pvc.spec.volumeName;
  assert.ok(pvName !== undefined && pvName !== '', 'the PVC is bound');
  const pv = await client.get<Pv>(at(PERSISTENT_VOLUMES, undefined, pvName));
  assert.equal(pv.spec.csi?.driver, 'listeners.stackable.tech');
  assert.equal(pv.spec.csi?.volumeAttributes?.['listeners.stackable.tech/listener-class'], 'cluster-internal');
  assert.equal(pv.metadata.labels?.['listeners.stackable.tech/listener-name'], 'web-listener');

  // The auto-created Listener is named after the PVC; its Service is ClusterIP.
  const listener = await client.get<TestListener>(at(LISTENERS, ns, 'web-listener'));
  const svc = await client.get<TestService>(at(SERVICES, ns, 'web-listener'));
  assert.equal(svc.spec.type, 'ClusterIP');
  assert.deepEqual(svc.spec.ports?.map((p) => [p.name, p.port]), [['http', WEB_PORT]]);

  // What the container reads: cluster-internal prefers the Service's DNS name.
  const files = await defaultAddressFiles(pod, 'listener', ['http']);
  t.diagnostic(`container files: default-address/address=${files.address} ports/http=${files.ports.http}`);
  assert.equal(files.address, `web-listener.${ns}.svc.cluster.local`);
  assert.deepEqual(files.ports, { http: WEB_PORT });

  // The mount label makes the Pod the Service's endpoint; traffic reaches it through the ClusterIP.
  const uid = listener.metadata.uid.replaceAll('-', '');
  const labelled = await client.get<{ metadata: { labels?: Record<string, string> } }>(at(PODS, ns, 'web'));
  assert.equal(labelled.metadata.labels?.[`listener.stackable.tech/mnt.${uid}`], 'web-listener');
  await waitEndpoints(client, ns, 'web-listener', ['web']);
  const r = await httpGetOk(`http://${svc.spec.clusterIP ?? ''}:${WEB_PORT}/`);
  assert.equal(r.body.trim(), 'web');

  const pl = await client.get<PodListenersObj>(at(POD_LISTENERS, ns, `pod-${pod.metadata.uid}`));
  assert.equal(pl.spec.listeners.listener?.scope, 'Cluster');
  assert.equal(pl.spec.listeners.listener?.ingressAddresses[0]?.address, files.address);

  // Deleting the Pod takes everything with it: PVC (owned by the Pod), PV (reclaim Delete through
  // the provisioner), Listener (owned by the PV), Service (owned by the Listener), PodListeners.
  const t0 = Date.now();
  const gone: string[] = [];
  await client.delete(at(PODS, ns, 'web'), { gracePeriodSeconds: 0 });
  for (const [what, ref] of [
    ['Pod', at(PODS, ns, 'web')],
    ['PVC', at(PERSISTENT_VOLUME_CLAIMS, ns, 'web-listener')],
    ['PV', at(PERSISTENT_VOLUMES, undefined, pvName)],
    ['Listener', at(LISTENERS, ns, 'web-listener')],
    ['Service', at(SERVICES, ns, 'web-listener')],
    ['PodListeners', at(POD_LISTENERS, ns, `pod-${pod.metadata.uid}`)],
  ] as const) {
    await waitGone(client, ref, what);
    gone.push(`${what} ${Date.now() - t0} ms`);
  }
  t.diagnostic(`after deleting the Pod, gone: ${gone.join(', ')}`);
});
