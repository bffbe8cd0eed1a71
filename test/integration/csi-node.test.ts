// The CSI Node service through its real socket, against the real API server, writing into a real
// directory: NodePublishVolume for every kind of listener volume, the "no address yet" retry, the
// NodePort case, re-publishing, a foreign Listener, malformed requests, NodeUnpublishVolume.
// Pods are real API objects bound to a registered Node; no kubelet runs them.
import { test, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { labelValueFor, mountLabelKey } from '../../src/core/names.ts';
import type { KubeClient } from '../../src/k8s/client.ts';
import { LISTENERS, PERSISTENT_VOLUMES, POD_LISTENERS, PODS, SERVICES, at } from '../../src/k8s/resources.ts';
import type { NodePublishVolumeRequest } from '../../src/csi/proto/generated/csi/v1/NodePublishVolumeRequest.ts';
import {
  claimVolume, createPod, createPv, createPvc, ephemeralVolume, expectCode, mountCapability, publishRequest, startCsi, tempDir,
  type ContainerPort, type RunningCsi, type TestPod, type TestPv, type TestPvc,
} from '../support/csi.ts';
import { eventually, freshNamespace, testClient } from '../support/k8s.ts';
import { createClass, createListener, createNode, waitStatus, type TestListener } from '../support/listeners.ts';
import { installCrds, startController } from '../support/operator.ts';

before(async () => {
  const client = await testClient();
  await installCrds(client);
  client.close();
});

const CLASS = 'listeners.stackable.tech/listener-class';
const NAME = 'listeners.stackable.tech/listener-name';

interface Frame { client: KubeClient; ns: string; nodeName: string; plugin: RunningCsi; dir: string }

/** A namespace, a registered Node, our node plugin for it, and a directory for target paths. */
async function nodeTest(t: TestContext, addresses = [{ type: 'InternalIP', address: '10.1.2.3' }, { type: 'ExternalIP', address: '203.0.113.9' }, { type: 'Hostname', address: 'node-a.example' }]): Promise<Frame> {
  const client = await testClient();
  t.after(() => { client.close(); });
  const ns = await freshNamespace(t, client);
  const nodeName = `${ns}-node`;
  await createNode(t, client, nodeName, addresses);
  const plugin = await startCsi(t, { nodeName });
  const dir = await tempDir(t, 'lo-pods-');
  return { client, ns, nodeName, plugin, dir };
}

async function withController(t: TestContext, ns: string): Promise<void> {
  const ctl = await startController(ns);
  t.after(() => ctl.stop());
}

interface VolumeSpec { volume: string; annotations: Record<string, string>; labels?: Record<string, string>; claimName?: string }
interface PodVolume { pvc: TestPvc; pv: TestPv; volume: string; target: string; request: NodePublishVolumeRequest }

/** A Pod with listener volumes, each with its claim and a bound PV, as the provisioner and binder leave them. */
async function listenerPod(t: TestContext, f: Frame, name: string, ports: ContainerPort[], volumes: VolumeSpec[]): Promise<{ pod: TestPod; vols: PodVolume[] }> {
  const pod = await createPod(f.client, f.ns, name, {
    nodeName: f.nodeName,
    ports,
    volumes: volumes.map((v) => (v.claimName === undefined ? ephemeralVolume(v.volume, v.annotations, v.labels) : claimVolume(v.volume, v.claimName))),
  });
  const vols: PodVolume[] = [];
  for (const v of volumes) {
    const claimName = v.claimName ?? `${name}-${v.volume}`;
    const pvc = await createPvc(f.client, f.ns, claimName, { annotations: v.annotations, labels: v.labels, ownerPod: v.claimName === undefined ? pod : undefined });
    const pv = await createPv(t, f.client, `${f.ns}-${claimName}`, pvc);
    const target = path.join(f.dir, pod.metadata.uid, 'volumes', 'kubernetes.io~csi', pv.metadata.name, 'mount');
    vols.push({ pvc, pv, volume: v.volume, target, request: publishRequest(pv, pvc, pod, target) });
  }
  return { pod, vols };
}

function publish(f: Frame, v: PodVolume): Promise<unknown> {
  return f.plugin.csi.call('Node', 'NodePublishVolume', v.request);
}

/** Publishes until it succeeds, as kubelet retries (the last error is in the timeout message). */
async function publishEventually(f: Frame, v: PodVolume): Promise<void> {
  await eventually(`publish of ${v.pv.metadata.name}`, async () => {
    await publish(f, v);
    return true;
  }, 30_000);
}

/** The tree a Pod sees: every file under addresses/ (through the symlink) and the default-address link. */
async function readTree(target: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const address of (await readdir(path.join(target, 'addresses'))).sort()) {
    out[`addresses/${address}/address`] = await readFile(path.join(target, 'addresses', address, 'address'), 'utf8');
    for (const port of (await readdir(path.join(target, 'addresses', address, 'ports'))).sort()) {
      out[`addresses/${address}/ports/${port}`] = await readFile(path.join(target, 'addresses', address, 'ports', port), 'utf8');
    }
  }
  out['default-address ->'] = await readlink(path.join(target, 'default-address'));
  return out;
}

interface TestPodListeners { metadata: { name: string; ownerReferences?: { kind: string; name: string; uid: string }[] }; spec: { listeners: Record<string, { scope: string; ingressAddresses: { address: string; addressType: string; ports: Record<string, number> }[] }> } }
interface FullListener extends TestListener { metadata: TestListener['metadata'] & { labels?: Record<string, string>; resourceVersion: string; ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[] }; spec: { className?: string; ports?: { name: string; port: number; protocol?: string }[]; publishNotReadyAddresses?: boolean } }

async function podLabels(client: KubeClient, ns: string, name: string): Promise<Record<string, string>> {
  return (await client.get<TestPod>(at(PODS, ns, name))).metadata.labels ?? {};
}

test('NodeGetInfo: the Node name and its topology; NodeGetCapabilities: none', async (t) => {
  const f = await nodeTest(t);
  const info = await f.plugin.csi.call('Node', 'NodeGetInfo', {});
  assert.equal(info.node_id, f.nodeName);
  assert.deepEqual(info.accessible_topology?.segments, { 'listeners.stackable.tech/hostname': f.nodeName });
  assert.deepEqual((await f.plugin.csi.call('Node', 'NodeGetCapabilities', {})).capabilities, []);
});

test('an ephemeral listener-class volume: the auto Listener, labels, UNAVAILABLE until the controller writes status, then the files and PodListeners', async (t) => {
  const f = await nodeTest(t);
  await createClass(t, f.client, `${f.ns}-internal`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  const { pod, vols: [vol] } = await listenerPod(t, f, 'web-0', [{ name: 'http', containerPort: 8080 }, { containerPort: 9090, protocol: 'TCP' }], [
    { volume: 'listener', annotations: { [CLASS]: `${f.ns}-internal` }, labels: { app: 'web' } },
  ]);
  assert.ok(vol);

  // No controller yet: no address.
  await expectCode(publish(f, vol), status.UNAVAILABLE, new RegExp(`Listener "${f.ns}/web-0-listener" has no ingress addresses yet`));
  assert.equal(await lstat(vol.target).catch(() => undefined), undefined, 'nothing written before there is an address');

  const listener = await f.client.get<FullListener>(at(LISTENERS, f.ns, 'web-0-listener'));
  assert.deepEqual(listener.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'PersistentVolume', name: vol.pv.metadata.name, uid: vol.pv.metadata.uid, controller: true }]);
  assert.deepEqual(listener.metadata.labels, { app: 'web' });
  assert.equal(listener.spec.className, `${f.ns}-internal`);
  assert.equal(listener.spec.publishNotReadyAddresses, true);
  assert.deepEqual(listener.spec.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'port-9090', port: 9090, protocol: 'TCP' }]);
  const pv = await f.client.get<TestPv>(at(PERSISTENT_VOLUMES, undefined, vol.pv.metadata.name));
  assert.equal(pv.metadata.labels?.['listeners.stackable.tech/listener-namespace'], f.ns);
  assert.equal(pv.metadata.labels?.['listeners.stackable.tech/listener-name'], 'web-0-listener');
  assert.equal((await podLabels(f.client, f.ns, 'web-0'))[mountLabelKey(listener.metadata.uid)], 'web-0-listener');

  // The controller writes the status; kubelet's retry then succeeds.
  await withController(t, f.ns);
  const st = await waitStatus(f.client, f.ns, 'web-0-listener', 'an address', (s) => (s.ingressAddresses?.length ?? 0) > 0);
  const clusterIp = st.ingressAddresses?.[0]?.address ?? '';
  assert.match(clusterIp, /^\d+\.\d+\.\d+\.\d+$/);
  await publishEventually(f, vol);
  assert.deepEqual(await readTree(vol.target), {
    [`addresses/${clusterIp}/address`]: clusterIp,
    [`addresses/${clusterIp}/ports/http`]: '8080',
    [`addresses/${clusterIp}/ports/port-9090`]: '9090',
    'default-address ->': `addresses/${clusterIp}`,
  });
  const pl = await f.client.get<TestPodListeners>(at(POD_LISTENERS, f.ns, `pod-${pod.metadata.uid}`));
  assert.deepEqual(pl.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}/${o.uid}`), [`Pod/web-0/${pod.metadata.uid}`]);
  assert.deepEqual(pl.spec.listeners, { listener: { scope: 'Cluster', ingressAddresses: [{ address: clusterIp, addressType: 'IP', ports: { http: 8080, 'port-9090': 9090 } }] } });
  // The Service selects this Pod by the mount label.
  const svc = await f.client.get<{ spec: { selector: Record<string, string> } }>(at(SERVICES, f.ns, 'web-0-listener'));
  assert.equal(svc.spec.selector[mountLabelKey(listener.metadata.uid)], 'web-0-listener');
});

test('a StatefulSet-style claim (persistentVolumeClaim volume): the Listener is named after the claim', async (t) => {
  const f = await nodeTest(t);
  await withController(t, f.ns);
  await createClass(t, f.client, `${f.ns}-hostname`, { serviceType: 'ClusterIP', preferredAddressType: 'Hostname' });
  const { pod, vols: [vol] } = await listenerPod(t, f, 'kafka-0', [{ name: 'kafka', containerPort: 9092 }], [
    { volume: 'listener', claimName: 'listener-kafka-0', annotations: { [CLASS]: `${f.ns}-hostname` } },
  ]);
  assert.ok(vol);
  await publishEventually(f, vol);
  const fqdn = `listener-kafka-0.${f.ns}.svc.cluster.local`;
  assert.deepEqual(await readTree(vol.target), {
    [`addresses/${fqdn}/address`]: fqdn,
    [`addresses/${fqdn}/ports/kafka`]: '9092',
    'default-address ->': `addresses/${fqdn}`,
  });
  const pl = await f.client.get<TestPodListeners>(at(POD_LISTENERS, f.ns, `pod-${pod.metadata.uid}`));
  assert.deepEqual(Object.keys(pl.spec.listeners), ['listener']);
});

test('two Pods sharing one named Listener: both labelled for it, both get its address, the Listener is not taken over', async (t) => {
  const f = await nodeTest(t);
  await withController(t, f.ns);
  await createClass(t, f.client, `${f.ns}-internal`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  const created = await createListener(f.client, f.ns, 'shared', { className: `${f.ns}-internal`, ports: [{ name: 'http', port: 80 }] });
  const a = await listenerPod(t, f, 'a', [], [{ volume: 'listener', annotations: { [NAME]: 'shared' } }]);
  const b = await listenerPod(t, f, 'b', [], [{ volume: 'listener', annotations: { [NAME]: 'shared' } }]);
  const [va, vb] = [a.vols[0], b.vols[0]];
  assert.ok(va && vb);
  await publishEventually(f, va);
  await publishEventually(f, vb);
  const key = mountLabelKey(created.metadata.uid);
  assert.equal((await podLabels(f.client, f.ns, 'a'))[key], 'shared');
  assert.equal((await podLabels(f.client, f.ns, 'b'))[key], 'shared');
  assert.deepEqual(await readTree(va.target), await readTree(vb.target));
  const listener = await f.client.get<FullListener>(at(LISTENERS, f.ns, 'shared'));
  assert.equal(listener.metadata.ownerReferences, undefined, 'a named Listener gets no owner');
  assert.deepEqual(listener.spec.ports, [{ name: 'http', port: 80 }]);
  for (const v of [va, vb]) {
    const pv = await f.client.get<TestPv>(at(PERSISTENT_VOLUMES, undefined, v.pv.metadata.name));
    assert.equal(pv.metadata.labels?.['listeners.stackable.tech/listener-name'], 'shared');
  }
});

test('a Pod with two listener volumes (published at once): two mount labels, two PodListeners keys; NodePort gets the Pod\'s own Node address', async (t) => {
  const f = await nodeTest(t);
  await withController(t, f.ns);
  await createClass(t, f.client, `${f.ns}-internal`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  await createClass(t, f.client, `${f.ns}-external`, { serviceType: 'NodePort' });
  const { pod, vols } = await listenerPod(t, f, 'broker-0', [{ name: 'kafka', containerPort: 9092 }], [
    { volume: 'internal', annotations: { [CLASS]: `${f.ns}-internal` } },
    { volume: 'external', annotations: { [CLASS]: `${f.ns}-external` } },
  ]);
  const [internal, external] = vols;
  assert.ok(internal && external);
  await Promise.all([publishEventually(f, internal), publishEventually(f, external)]);

  const labels = await podLabels(f.client, f.ns, 'broker-0');
  const internalListener = await f.client.get<FullListener>(at(LISTENERS, f.ns, 'broker-0-internal'));
  const externalListener = await f.client.get<FullListener>(at(LISTENERS, f.ns, 'broker-0-external'));
  assert.equal(labels[mountLabelKey(internalListener.metadata.uid)], 'broker-0-internal');
  assert.equal(labels[mountLabelKey(externalListener.metadata.uid)], 'broker-0-external');

  const nodePort = externalListener.status?.nodePorts?.kafka;
  assert.ok(typeof nodePort === 'number' && nodePort > 0, `node port in ${JSON.stringify(externalListener.status)}`);
  // HostnameConservative on NodePort: the Node's IP, its ExternalIP first.
  assert.deepEqual(await readTree(external.target), {
    'addresses/203.0.113.9/address': '203.0.113.9',
    'addresses/203.0.113.9/ports/kafka': String(nodePort),
    'default-address ->': 'addresses/203.0.113.9',
  });
  const pl = await f.client.get<TestPodListeners>(at(POD_LISTENERS, f.ns, `pod-${pod.metadata.uid}`));
  assert.deepEqual(Object.keys(pl.spec.listeners).sort(), ['external', 'internal']);
  assert.deepEqual(pl.spec.listeners['external'], { scope: 'Node', ingressAddresses: [{ address: '203.0.113.9', addressType: 'IP', ports: { kafka: nodePort } }] });
  assert.equal(pl.spec.listeners['internal']?.scope, 'Cluster');
});

test('NodePort with a Hostname preference writes the Node\'s hostname; a Node without addresses is UNAVAILABLE', async (t) => {
  const f = await nodeTest(t, []);
  await withController(t, f.ns);
  await createClass(t, f.client, `${f.ns}-np`, { serviceType: 'NodePort', preferredAddressType: 'Hostname' });
  const { vols: [vol] } = await listenerPod(t, f, 'p', [{ name: 'http', containerPort: 80 }], [{ volume: 'listener', annotations: { [CLASS]: `${f.ns}-np` } }]);
  assert.ok(vol);
  // The first publishes create the Listener; once the controller has given it node ports, the Node is asked for its address.
  const details = await eventually('NodeHasNoAddress', async () => {
    const d = await expectCode(publish(f, vol), status.UNAVAILABLE);
    return d.includes('has no address to publish') ? d : undefined;
  });
  assert.match(details, new RegExp(`Node "${f.nodeName}" has no address to publish for Listener "${f.ns}/p-listener"`));
  await f.client.mergePatch(at({ group: '', version: 'v1', plural: 'nodes' }, undefined, f.nodeName, 'status'), { status: { addresses: [{ type: 'InternalIP', address: '10.1.2.3' }, { type: 'Hostname', address: 'node-a.example' }] } });
  await publishEventually(f, vol);
  const tree = await readTree(vol.target);
  assert.equal(tree['addresses/node-a.example/address'], 'node-a.example');
  assert.equal(tree['default-address ->'], 'addresses/node-a.example');
});

test('re-publishing replaces the tree (stale address folders gone, symlink replaced), writes nothing new, and readers never see a partial file', async (t) => {
  const f = await nodeTest(t);
  await withController(t, f.ns);
  await createClass(t, f.client, `${f.ns}-np`, { serviceType: 'NodePort' });
  const { vols: [vol] } = await listenerPod(t, f, 'p', [{ name: 'http', containerPort: 80 }], [{ volume: 'listener', annotations: { [CLASS]: `${f.ns}-np` } }]);
  assert.ok(vol);
  // What upstream leaves in place after a previous publish: real directories and a link to an old address.
  await mkdir(path.join(vol.target, 'addresses', '198.51.100.7', 'ports'), { recursive: true });
  await writeFile(path.join(vol.target, 'addresses', '198.51.100.7', 'address'), '198.51.100.7');
  await writeFile(path.join(vol.target, 'addresses', '198.51.100.7', 'ports', 'http'), '30000');
  await symlink('addresses/198.51.100.7', path.join(vol.target, 'default-address'));

  await publishEventually(f, vol);
  const first = await readTree(vol.target);
  assert.equal(first['default-address ->'], 'addresses/203.0.113.9');
  assert.deepEqual(Object.keys(first).filter((k) => k.includes('198.51.100.7')), [], 'the stale address folder is gone');
  assert.deepEqual((await readdir(vol.target)).filter((n) => !n.startsWith('.addresses-')).sort(), ['addresses', 'default-address']);

  // Publishing again: same tree; no PV or Pod write (labels already there), only the PodListeners merge.
  const before = { ...f.plugin.kube.counts };
  await publish(f, vol);
  assert.deepEqual(await readTree(vol.target), first);
  assert.equal(f.plugin.kube.counts.patch - before.patch, 1, `patches: ${JSON.stringify(f.plugin.kube.counts)} vs ${JSON.stringify(before)}`);

  // Readers during re-publishes see the whole address or nothing (ENOENT while an old version goes), never a partial file.
  let stop = false;
  const reads = { whole: 0, missing: 0 };
  const reader = (async (): Promise<void> => {
    while (!stop) {
      try {
        assert.equal(await readFile(path.join(vol.target, 'default-address', 'address'), 'utf8'), '203.0.113.9');
        reads.whole++;
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOENT') throw e;
        reads.missing++;
      }
    }
  })();
  for (let i = 0; i < 10; i++) await publish(f, vol);
  stop = true;
  await reader;
  t.diagnostic(`reads during 10 re-publishes: ${reads.whole} whole, ${reads.missing} ENOENT`);
  assert.ok(reads.whole > 0);
});

test('an auto Listener never takes over a same-named Listener the PV does not own: FAILED_PRECONDITION, nothing changed', async (t) => {
  const f = await nodeTest(t);
  await createClass(t, f.client, `${f.ns}-internal`, { serviceType: 'ClusterIP' });
  const foreign = await createListener(f.client, f.ns, 'p-listener', { className: `${f.ns}-internal`, ports: [{ name: 'theirs', port: 1 }] }, { owner: 'someone-else' }) as FullListener;
  const { vols: [vol] } = await listenerPod(t, f, 'p', [{ name: 'http', containerPort: 80 }], [{ volume: 'listener', annotations: { [CLASS]: `${f.ns}-internal` } }]);
  assert.ok(vol);
  await expectCode(publish(f, vol), status.FAILED_PRECONDITION, new RegExp(`Listener "${f.ns}/p-listener" already exists and is not owned by PersistentVolume "${vol.pv.metadata.name}"`));
  const after = await f.client.get<FullListener>(at(LISTENERS, f.ns, 'p-listener'));
  assert.equal(after.metadata.resourceVersion, foreign.metadata.resourceVersion, 'the Listener is unchanged');
  assert.deepEqual(after.spec.ports, [{ name: 'theirs', port: 1 }]);
  const pv = await f.client.get<TestPv>(at(PERSISTENT_VOLUMES, undefined, vol.pv.metadata.name));
  assert.equal(pv.metadata.labels, undefined, 'the PV is not labelled');
  assert.deepEqual(Object.keys(await podLabels(f.client, f.ns, 'p')), [], 'the Pod is not labelled');
  assert.equal(await lstat(vol.target).catch(() => undefined), undefined);
});

test('a Listener name over 63 characters: valid label values that the Service selects on', async (t) => {
  const f = await nodeTest(t);
  await withController(t, f.ns);
  await createClass(t, f.client, `${f.ns}-internal`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  const long = `very-long-listener-name-${'x'.repeat(50)}`;
  const created = await createListener(f.client, f.ns, long, { className: `${f.ns}-internal`, ports: [{ name: 'http', port: 80 }] });
  const { vols: [vol] } = await listenerPod(t, f, 'p', [], [{ volume: 'listener', annotations: { [NAME]: long } }]);
  assert.ok(vol);
  await publishEventually(f, vol);
  const key = mountLabelKey(created.metadata.uid);
  assert.equal((await podLabels(f.client, f.ns, 'p'))[key], labelValueFor(long));
  const st = await waitStatus(f.client, f.ns, long, 'service name', (s) => s.serviceName !== undefined && s.serviceName !== null);
  const svc = await f.client.get<{ spec: { selector: Record<string, string> } }>(at(SERVICES, f.ns, st.serviceName ?? ''));
  assert.equal(svc.spec.selector[key], labelValueFor(long));
  const pv = await f.client.get<TestPv>(at(PERSISTENT_VOLUMES, undefined, vol.pv.metadata.name));
  assert.equal(pv.metadata.labels?.['listeners.stackable.tech/listener-name'], labelValueFor(long));
});

test('the world not being ready or wrong: missing Pod, PV or named Listener is UNAVAILABLE; unknown class, unbound PV, unmounted claim FAILED_PRECONDITION', async (t) => {
  const f = await nodeTest(t);
  await createClass(t, f.client, `${f.ns}-internal`, { serviceType: 'ClusterIP' });
  const { pod, vols: [vol] } = await listenerPod(t, f, 'p', [], [{ volume: 'listener', annotations: { [CLASS]: `${f.ns}-internal` } }]);
  assert.ok(vol);
  const ctx = vol.request.volume_context ?? {};
  const call = (patch: Partial<NodePublishVolumeRequest>): Promise<unknown> => f.plugin.csi.call('Node', 'NodePublishVolume', { ...vol.request, ...patch });
  await expectCode(call({ volume_context: { ...ctx, 'csi.storage.k8s.io/pod.name': 'gone' } }), status.UNAVAILABLE, new RegExp(`failed to get Pod "${f.ns}/gone"`));
  await expectCode(call({ volume_id: `${f.ns}-no-pv` }), status.UNAVAILABLE, new RegExp(`failed to get PersistentVolume "${f.ns}-no-pv"`));
  await expectCode(call({ volume_context: { ...ctx, [CLASS]: `${f.ns}-nope` } }), status.FAILED_PRECONDITION, new RegExp(`ListenerClass "${f.ns}-nope" does not exist`));
  const named = Object.fromEntries(Object.entries({ ...ctx, [NAME]: 'not-yet' }).filter(([k]) => k !== CLASS));
  await expectCode(call({ volume_context: named }), status.UNAVAILABLE, new RegExp(`failed to get Listener "${f.ns}/not-yet"`));
  // A claim the Pod does not mount.
  const other = await createPvc(f.client, f.ns, 'other', { annotations: { [CLASS]: `${f.ns}-internal` } });
  const otherPv = await createPv(t, f.client, `${f.ns}-other`, other);
  await expectCode(call({ volume_id: otherPv.metadata.name }), status.FAILED_PRECONDITION, new RegExp(`Pod "${f.ns}/p" has no volume using PersistentVolumeClaim "${f.ns}/other"`));
  // A PV without a claim.
  await f.client.create(at(PERSISTENT_VOLUMES, undefined), {
    apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: `${f.ns}-unbound` },
    spec: { capacity: { storage: '1' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', csi: { driver: 'listeners.stackable.tech', volumeHandle: 'x' } },
  });
  t.after(async () => { await f.client.delete(at(PERSISTENT_VOLUMES, undefined, `${f.ns}-unbound`)).catch(() => undefined); });
  await expectCode(call({ volume_id: `${f.ns}-unbound` }), status.FAILED_PRECONDITION, /is not bound to a PersistentVolumeClaim/);
  assert.equal(await lstat(vol.target).catch(() => undefined), undefined);
  assert.equal(pod.metadata.labels, undefined);
});

test('malformed requests: INVALID_ARGUMENT with a clear message, before any API call or file write', async (t) => {
  const f = await nodeTest(t);
  const target = path.join(f.dir, 'never', 'mount');
  const ctx = { [CLASS]: 'c', 'csi.storage.k8s.io/pod.name': 'p', 'csi.storage.k8s.io/pod.namespace': f.ns };
  const good: NodePublishVolumeRequest = { volume_id: 'pv-1', target_path: target, volume_capability: mountCapability, volume_context: ctx };
  const cases: [string, NodePublishVolumeRequest, RegExp][] = [
    ['empty request', {}, /volume_id is missing/],
    ['no target path', { ...good, target_path: '' }, /target_path is missing/],
    ['relative target path', { ...good, target_path: 'rel/mount' }, /target path "rel\/mount" is invalid: must be an absolute path/],
    ['target path with ..', { ...good, target_path: `${f.dir}/../etc` }, /must not contain "\." or "\.\." segments/],
    ['target path /', { ...good, target_path: '/' }, /must not be the root directory/],
    ['no capability', { ...good, volume_capability: null }, /volume_capability is missing/],
    ['block capability', { ...good, volume_capability: { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } }, /raw block access is not supported/],
    ['no access mode', { ...good, volume_capability: { mount: {} } }, /access_mode is missing/],
    ['no Pod info', { ...good, volume_context: { [CLASS]: 'c' } }, /PersistentVolume "pv-1" does not identify the Pod: .*pod.name is missing \(is podInfoOnMount enabled/],
    ['bad Pod namespace', { ...good, volume_context: { ...ctx, 'csi.storage.k8s.io/pod.namespace': 'Not_A_Namespace' } }, /not a valid namespace name/],
    ['both annotations', { ...good, volume_context: { ...ctx, [NAME]: 'l' } }, /PersistentVolume "pv-1" does not choose a listener: both/],
    ['neither annotation', { ...good, volume_context: { 'csi.storage.k8s.io/pod.name': 'p', 'csi.storage.k8s.io/pod.namespace': f.ns } }, /neither/],
    ['class name that is no object name', { ...good, volume_context: { ...ctx, [CLASS]: '../../etc' } }, /not a valid object name/],
  ];
  const before = f.plugin.kube.totalRequests();
  for (const [what, request, message] of cases) {
    await t.test(what, async () => { await expectCode(f.plugin.csi.call('Node', 'NodePublishVolume', request), status.INVALID_ARGUMENT, message); });
  }
  await expectCode(f.plugin.csi.call('Node', 'NodeUnpublishVolume', {}), status.INVALID_ARGUMENT, /volume_id is missing/);
  await expectCode(f.plugin.csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'pv-1' }), status.INVALID_ARGUMENT, /target_path is missing/);
  await expectCode(f.plugin.csi.call('Node', 'NodeUnpublishVolume', { volume_id: 'pv-1', target_path: 'rel' }), status.INVALID_ARGUMENT, /absolute/);
  assert.equal(f.plugin.kube.totalRequests(), before, 'no API request');
  assert.equal(await lstat(path.join(f.dir, 'never')).catch(() => undefined), undefined, 'no file written');
});

test('NodeUnpublishVolume removes the target path; a missing path is success', async (t) => {
  const f = await nodeTest(t);
  await withController(t, f.ns);
  await createClass(t, f.client, `${f.ns}-internal`, { serviceType: 'ClusterIP' });
  const { vols: [vol] } = await listenerPod(t, f, 'p', [{ name: 'http', containerPort: 80 }], [{ volume: 'listener', annotations: { [CLASS]: `${f.ns}-internal` } }]);
  assert.ok(vol);
  await publishEventually(f, vol);
  assert.ok((await lstat(vol.target)).isDirectory());
  const req = { volume_id: vol.pv.metadata.name, target_path: vol.target };
  assert.deepEqual(await f.plugin.csi.call('Node', 'NodeUnpublishVolume', req), {});
  assert.equal(await lstat(vol.target).catch(() => undefined), undefined);
  assert.deepEqual(await f.plugin.csi.call('Node', 'NodeUnpublishVolume', req), {}, 'again: still success');
});

test('property: hostile NodePublishVolume requests through the socket never crash the plugin or write anything', async (t) => {
  const f = await nodeTest(t);
  const root = path.join(f.dir, 'targets');
  const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('', '.', '..', '../..', 'a/b', 'x\0y', 'ok-name', 'UPPER', 'a'.repeat(300)));
  const targetPath = fc.oneof(
    text.map((s) => path.join(root, encodeURIComponent(s) || 'empty', 'mount')),
    text.map((s) => `${root}/${s}`),
    fc.constantFrom('', '/', 'relative/mount', `${root}/../escape`, `${root}/./x`, `${root}\0/x`),
  );
  const often = <T,>(value: T): fc.Arbitrary<string | T> => fc.oneof({ weight: 1, arbitrary: text }, { weight: 4, arbitrary: fc.constant(value) });
  const selector = fc.oneof(
    { weight: 4, arbitrary: often('c').map((c) => ({ [CLASS]: c })) },
    { weight: 2, arbitrary: often('shared').map((n) => ({ [NAME]: n })) },
    { weight: 1, arbitrary: fc.tuple(text, text).map(([c, n]) => ({ [CLASS]: c, [NAME]: n })) },
    { weight: 1, arbitrary: fc.constant({}) },
  );
  const context = fc.tuple(
    fc.record({ 'csi.storage.k8s.io/pod.name': often('p'), 'csi.storage.k8s.io/pod.namespace': often(f.ns), extra: text }, { requiredKeys: ['csi.storage.k8s.io/pod.name', 'csi.storage.k8s.io/pod.namespace'] }),
    selector,
  ).map(([pod, sel]) => ({ ...pod, ...sel }));
  const capability = fc.constantFrom(mountCapability, mountCapability, mountCapability, null, { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } }, { mount: {} }, { mount: {}, access_mode: { mode: 'UNKNOWN' as const } });
  const request = fc.record({ volume_id: often(`${f.ns}-pv`), target_path: targetPath, volume_capability: capability, volume_context: context, readonly: fc.boolean() });
  const codes = new Map<string, number>();
  // A listener-name volume's PV is read through its label patch: every patch must be one of those,
  // on a PV that does not exist (so nothing was written).
  const patched = new Set<string>();
  f.plugin.kube.onRequest((verb, p) => { if (verb === 'patch') patched.add(p); });
  await fc.assert(
    fc.asyncProperty(request, async (req) => {
      try {
        await f.plugin.csi.call('Node', 'NodePublishVolume', req);
        assert.fail('no hostile request can be published (none of its objects exist)');
      } catch (e) {
        const code = (e as { code?: status }).code;
        const name = code === undefined ? 'none' : status[code];
        codes.set(name, (codes.get(name) ?? 0) + 1);
        assert.ok(code === status.INVALID_ARGUMENT || code === status.UNAVAILABLE || code === status.FAILED_PRECONDITION, `${name}: ${(e as Error).message}`);
      }
    }),
    { numRuns: 300 },
  );
  t.diagnostic(`codes: ${JSON.stringify(Object.fromEntries(codes))}`);
  assert.equal(await lstat(root).catch(() => undefined), undefined, 'nothing was written');
  assert.equal(await lstat(path.join(f.dir, 'escape')).catch(() => undefined), undefined);
  assert.equal(f.plugin.kube.counts.create, 0, 'no API create');
  for (const p of patched) {
    assert.match(p, /^\/api\/v1\/persistentvolumes\/[^/]+$/, 'only PV label patches (a listener-name volume\'s read)');
    assert.equal(await f.client.getOptional({ group: '', version: 'v1', plural: 'persistentvolumes', name: decodeURIComponent(p.split('/').pop() ?? '') }), undefined, `${p} does not exist: nothing written`);
  }
  assert.deepEqual((await f.plugin.csi.call('Identity', 'Probe', {})).ready, { value: true }, 'still serving');
});

test('a Pod recreated under the same name: UNAVAILABLE naming the Pod and both UIDs, and no side effect', async (t) => {
  const f = await nodeTest(t);
  await createClass(t, f.client, `${f.ns}-internal`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  const { pod, vols: [vol] } = await listenerPod(t, f, 'web-0', [{ name: 'http', containerPort: 8080 }], [
    { volume: 'listener', annotations: { [CLASS]: `${f.ns}-internal` } },
  ]);
  assert.ok(vol);
  // kubelet publishes for an earlier incarnation of the Pod: the volume context carries its UID.
  const staleUid = '00000000-0000-4000-8000-000000000000';
  const request = { ...vol.request, volume_context: { ...vol.request.volume_context, 'csi.storage.k8s.io/pod.uid': staleUid } };
  const c = f.plugin.kube.counts;
  const writesBefore = c.create + c.apply + c.patch + c.update + c.delete;
  await expectCode(f.plugin.csi.call('Node', 'NodePublishVolume', request), status.UNAVAILABLE,
    new RegExp(`Pod "${f.ns}/web-0" has UID "${pod.metadata.uid}", but the volume is published for UID "${staleUid}"`));
  assert.equal(c.create + c.apply + c.patch + c.update + c.delete, writesBefore, 'no API write');
  assert.equal(await f.client.getOptional(at(LISTENERS, f.ns, 'web-0-listener')), undefined, 'no Listener created');
  assert.deepEqual(await podLabels(f.client, f.ns, 'web-0'), {}, 'the Pod is not labelled');
  assert.equal(await f.client.getOptional(at(POD_LISTENERS, f.ns, `pod-${pod.metadata.uid}`)), undefined, 'no PodListeners');
  assert.equal(await lstat(vol.target).catch(() => undefined), undefined, 'no files');
});

/** The plugin's API requests during one publish, by verb (the call's outcome is the caller's). */
async function requestsOf(f: Frame, call: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = { ...f.plugin.kube.counts };
  await call().catch(() => undefined);
  const out: Record<string, number> = {};
  for (const [verb, n] of Object.entries(f.plugin.kube.counts)) {
    const d = n - before[verb as keyof typeof before];
    if (d !== 0) out[verb] = d;
  }
  return out;
}

test('API requests per publish of a listener-name volume: 5, in two rounds, and 5 again for a re-publish', async (t) => {
  const f = await nodeTest(t);
  await withController(t, f.ns);
  await createClass(t, f.client, `${f.ns}-internal`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  await createListener(f.client, f.ns, 'shared', { className: `${f.ns}-internal`, ports: [{ name: 'http', port: 80 }] });
  await waitStatus(f.client, f.ns, 'shared', 'an address', (s) => (s.ingressAddresses?.length ?? 0) > 0);
  const { vols: [named] } = await listenerPod(t, f, 'named', [], [{ volume: 'listener', annotations: { [NAME]: 'shared' } }]);
  assert.ok(named);
  // GET the Pod and the Listener, PATCH the PV (its read and its labels at once); then PATCH the
  // Pod's label and POST PodListeners.
  assert.deepEqual(await requestsOf(f, () => publish(f, named)), { get: 2, patch: 2, create: 1 });
  assert.equal((await readTree(named.target))['default-address ->']?.startsWith('addresses/'), true, 'published');
  // Again: the same reads and the PV's no-op patch, no Pod patch (labelled), PodListeners refused as existing and merged.
  assert.deepEqual(await requestsOf(f, () => publish(f, named)), { get: 2, patch: 2, create: 1 });
});

test('API requests of a listener-class volume\'s first publish (no address yet): 7, and nothing for PodListeners', async (t) => {
  const f = await nodeTest(t);
  await createClass(t, f.client, `${f.ns}-internal`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  const { vols: [auto] } = await listenerPod(t, f, 'auto', [{ name: 'http', containerPort: 80 }], [{ volume: 'listener', annotations: { [CLASS]: `${f.ns}-internal` } }]);
  assert.ok(auto);
  // GET PV, Pod and ListenerClass (the plugin's cache is cold) at once, GET the claim, POST the
  // Listener; PATCH the PV and Pod labels; no address yet, so no PodListeners and UNAVAILABLE.
  assert.deepEqual(await requestsOf(f, () => expectCode(publish(f, auto), status.UNAVAILABLE, /has no ingress addresses yet/)), { get: 4, create: 1, patch: 2 });
});

test('a listener-name volume whose PV is not this driver\'s volume with that handle: FAILED_PRECONDITION, the PV untouched', async (t) => {
  const f = await nodeTest(t);
  await createClass(t, f.client, `${f.ns}-internal`, { serviceType: 'ClusterIP' });
  await createListener(f.client, f.ns, 'shared', { className: `${f.ns}-internal`, ports: [{ name: 'http', port: 80 }] });
  const { vols: [vol] } = await listenerPod(t, f, 'p', [], [{ volume: 'listener', annotations: { [NAME]: 'shared' } }]);
  assert.ok(vol);
  const foreign = `${f.ns}-foreign`;
  await f.client.create(at(PERSISTENT_VOLUMES, undefined), {
    apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: foreign },
    spec: { capacity: { storage: '1' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', csi: { driver: 'other.example.com', volumeHandle: foreign } },
  });
  t.after(async () => { await f.client.delete(at(PERSISTENT_VOLUMES, undefined, foreign)).catch(() => undefined); });
  await expectCode(f.plugin.csi.call('Node', 'NodePublishVolume', { ...vol.request, volume_id: foreign }), status.FAILED_PRECONDITION,
    new RegExp(`PersistentVolume "${foreign}".*not a volume of listeners.stackable.tech with handle "${foreign}"`));
  const pv = await f.client.get<TestPv>(at(PERSISTENT_VOLUMES, undefined, foreign));
  assert.equal(pv.metadata.labels, undefined, 'not labelled');
  assert.deepEqual(await podLabels(f.client, f.ns, 'p'), {}, 'the Pod is not labelled');
});

test('a listener-name volume of a recreated Pod: UNAVAILABLE; only the PV\'s own Listener labels were written, no Pod, PodListeners or file write', async (t) => {
  const f = await nodeTest(t);
  await createClass(t, f.client, `${f.ns}-internal`, { serviceType: 'ClusterIP' });
  await createListener(f.client, f.ns, 'shared', { className: `${f.ns}-internal`, ports: [{ name: 'http', port: 80 }] });
  const { pod, vols: [vol] } = await listenerPod(t, f, 'p', [], [{ volume: 'listener', annotations: { [NAME]: 'shared' } }]);
  assert.ok(vol);
  const staleUid = '00000000-0000-4000-8000-000000000000';
  await expectCode(f.plugin.csi.call('Node', 'NodePublishVolume', { ...vol.request, volume_context: { ...vol.request.volume_context, 'csi.storage.k8s.io/pod.uid': staleUid } }), status.UNAVAILABLE,
    new RegExp(`Pod "${f.ns}/p" has UID "${pod.metadata.uid}", but the volume is published for UID "${staleUid}"`));
  const pv = await f.client.get<TestPv>(at(PERSISTENT_VOLUMES, undefined, vol.pv.metadata.name));
  assert.equal(pv.metadata.labels?.['listeners.stackable.tech/listener-name'], 'shared', 'the PV names the Listener its own volume attributes name');
  assert.deepEqual(await podLabels(f.client, f.ns, 'p'), {}, 'the Pod is not labelled');
  assert.equal(await f.client.getOptional(at(POD_LISTENERS, f.ns, `pod-${pod.metadata.uid}`)), undefined, 'no PodListeners');
  assert.equal(await lstat(vol.target).catch(() => undefined), undefined, 'no files');
});
