// Scenario 7: the node plugin (node service + registration sidecar, the chart's DaemonSet Pod) is
// restarted while Pods run. The registration sidecar removes its socket on SIGTERM, so kubelet
// deregisters the driver; the new one registers again (kubelet answers
// NotifyRegistrationStatus{plugin_registered: true} and the CSINode lists the driver); the Pod
// that was running keeps its files, and a new Pod still gets its volume published.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { defaultAddressFiles, e2eClient, e2eState, ephemeralListenerVolume, waitPodReady, webContainer, WEB_PORT } from '../support/e2e.ts';
import { eventually, freshNamespace } from '../support/k8s.ts';
import { PODS, at } from '../../src/k8s/resources.ts';

function registrations(logFile: string): number {
  return readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"plugin_registered":true')).length;
}

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

test('scenario 7: restarting the node plugin re-registers it with kubelet; new Pods still publish', async (t) => {
  const before = e2eState();
  const client = await e2eClient(t);
  const ns = await freshNamespace(t, client, 'e2e-restart');
  const csiNodeRef = at({ group: 'storage.k8s.io', version: 'v1', plural: 'csinodes' }, undefined, before.nodeName);
  const driverOf = (n: CsiNode | undefined): NonNullable<CsiNode['spec']['drivers']>[number] | undefined => n?.spec.drivers?.find((d) => d.name === 'listeners.stackable.tech');

  const initial = driverOf(await client.getOptional<CsiNode>(csiNodeRef));
  assert.ok(initial !== undefined, 'kubelet registered the driver in the CSINode');
  assert.deepEqual(initial.topologyKeys, ['listeners.stackable.tech/hostname']);
  assert.equal(initial.nodeID, before.nodeName);

  await client.create(at(PODS, ns), podSpec('before'));
  const running = await waitPodReady(client, ns, 'before');
  const expected = { address: `before-listener.${ns}.svc.cluster.local`, ports: { http: WEB_PORT } };
  assert.deepEqual(await defaultAddressFiles(running, 'listener', ['http']), expected);

  // Restart the DaemonSet Pod: each of its containers gets SIGTERM; the supervisor starts them again.
  const PLUGIN = Object.keys(before.components).filter((n) => before.components[n]?.workload === 'DaemonSet');
  assert.deepEqual([...PLUGIN].sort(), ['csi-node-service', 'node-driver-registrar']);
  const registrarLog = before.components['node-driver-registrar']?.logFile ?? '';
  const registeredBefore = registrations(registrarLog);
  for (const name of PLUGIN) {
    const c = before.components[name];
    assert.ok(c !== undefined, `${name} runs`);
    process.kill(c.pid, 'SIGTERM'); // guard.sh passes one SIGTERM on, as kubelet stopping a container
  }
  const after = await eventually('the node plugin restarted', () => {
    const s = e2eState();
    return PLUGIN.every((n) => (s.components[n]?.starts ?? 0) > (before.components[n]?.starts ?? 0)) ? s : undefined;
  }, 30_000);
  t.diagnostic(`restarted: ${PLUGIN.map((n) => `${n} pid ${before.components[n]?.pid} -> ${after.components[n]?.pid}`).join(', ')}`);

  await eventually('kubelet registered the driver again', () => registrations(registrarLog) > registeredBefore ? true : undefined, 60_000);
  const csiNode = await eventually('the CSINode lists the driver', async () => driverOf(await client.getOptional<CsiNode>(csiNodeRef)), 30_000);
  assert.equal(csiNode.nodeID, before.nodeName);

  // The running Pod is untouched; a new Pod gets its volume published by the new plugin.
  assert.deepEqual(await defaultAddressFiles(running, 'listener', ['http']), expected);
  await client.create(at(PODS, ns), podSpec('after'));
  const fresh = await waitPodReady(client, ns, 'after');
  assert.deepEqual(await defaultAddressFiles(fresh, 'listener', ['http']), { address: `after-listener.${ns}.svc.cluster.local`, ports: { http: WEB_PORT } });
});
