// Scenario 7: the node plugin, the chart's DaemonSet Pod (run node + the registration sidecar), is
// restarted while Pods run: the test deletes it and the DaemonSet controller makes a new one. The
// old sidecar removes its registration socket on SIGTERM, so kubelet deregisters the driver; the
// new one registers again (kubelet answers NotifyRegistrationStatus{plugin_registered: true} and
// the CSINode lists the driver); the Pod that was running keeps its files, and a new Pod still
// gets its volume published.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultAddressFiles, e2eClient, e2eState, ephemeralListenerVolume, waitGone, waitPodReady, webContainer, WEB_PORT } from '../support/e2e.ts';
import { containerLog, waitWorkloadPod } from '../support/e2e-operator.ts';
import { eventually, freshNamespace } from '../support/k8s.ts';
import { PODS, at } from '../../src/k8s/resources.ts';

interface CsiNode { spec: { drivers: { name: string; nodeID: string; topologyKeys?: string[] }[] | null } }

function podSpec(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: {
      containers: [webContainer(['listener'])],
      volumes: [ephemeralListenerVolume('listener', { 'listeners.stackable.tech/listener-class': 'cluster-internal' })],
      terminationGracePeriodSeconds: 1,
    },
  };
}

test('scenario 7: restarting the node plugin Pod re-registers the driver with kubelet; new Pods still publish', async (t) => {
  const state = e2eState();
  const client = await e2eClient(t);
  const ns = await freshNamespace(t, client, 'e2e-restart');
  const csiNodeRef = at({ group: 'storage.k8s.io', version: 'v1', plural: 'csinodes' }, undefined, state.nodeName);
  const driverOf = (n: CsiNode | undefined): NonNullable<CsiNode['spec']['drivers']>[number] | undefined => n?.spec.drivers?.find((d) => d.name === 'listeners.stackable.tech');

  const initial = driverOf(await client.getOptional<CsiNode>(csiNodeRef));
  assert.ok(initial !== undefined, 'kubelet registered the driver in the CSINode');
  assert.deepEqual(initial.topologyKeys, ['listeners.stackable.tech/hostname']);
  assert.equal(initial.nodeID, state.nodeName);

  await client.create(at(PODS, ns), podSpec('before'));
  const running = await waitPodReady(client, ns, 'before');
  const expected = { address: `before-listener.${ns}.svc.cluster.local`, ports: { http: WEB_PORT } };
  assert.deepEqual(await defaultAddressFiles(running, 'listener', ['http']), expected);

  // Delete the DaemonSet's Pod (its containers get SIGTERM); the DaemonSet controller replaces it.
  const ons = state.operatorNamespace;
  const old = await waitWorkloadPod(client, ons, state.daemonSet.selector, 'node plugin');
  // (kubelet removes a Pod's logs with the Pod: read the first sidecar's now)
  assert.match(await containerLog(state.podLogsDir, ons, old, 'node-driver-registrar'), /"plugin_registered":true/, 'the first sidecar was registered');
  await client.delete(at(PODS, ons, old.metadata.name));
  await waitGone(client, at(PODS, ons, old.metadata.name), `Pod ${old.metadata.name}`);
  const fresh = await waitWorkloadPod(client, ons, state.daemonSet.selector, 'new node plugin');
  assert.notEqual(fresh.metadata.uid, old.metadata.uid);
  t.diagnostic(`node plugin Pod ${old.metadata.name} replaced by ${fresh.metadata.name}`);

  await eventually('kubelet registered the driver with the new sidecar', async () =>
    /"plugin_registered":true/.test(await containerLog(state.podLogsDir, ons, fresh, 'node-driver-registrar')) ? true : undefined, 60_000);
  const csiNode = await eventually('the CSINode lists the driver', async () => driverOf(await client.getOptional<CsiNode>(csiNodeRef)), 30_000);
  assert.equal(csiNode.nodeID, state.nodeName);

  // The running Pod is untouched; a new Pod gets its volume published by the new plugin.
  assert.deepEqual(await defaultAddressFiles(running, 'listener', ['http']), expected);
  await client.create(at(PODS, ns), podSpec('after'));
  const after = await waitPodReady(client, ns, 'after');
  assert.deepEqual(await defaultAddressFiles(after, 'listener', ['http']), { address: `after-listener.${ns}.svc.cluster.local`, ports: { http: WEB_PORT } });
});
