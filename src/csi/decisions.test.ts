import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from './kube-types.ts';
import { isLabelValue, labelValueFor, mountLabel, pvListenerLabels } from '../core/names.ts';
import {
  buildAutoListener,
  buildListenerPorts,
  buildPodLabelPatch,
  buildPodListenersPatch,
  buildPvLabelPatch,
  createVolumeTopology,
  hasLabels,
  isListenerOwnedByVolume,
  listenerNameFor,
  podAddresses,
  volumeNameForPvc,
} from './decisions.ts';

const pvc: PersistentVolumeClaim = {
  metadata: { name: 'listener-broker-0', namespace: 'kafka', uid: 'pvc-uid', labels: { app: 'kafka', role: 'broker' }, annotations: { 'listeners.stackable.tech/listener-class': 'external-unstable' } },
};
const pv: PersistentVolume = { metadata: { name: 'pvc-5a1b', uid: 'pv-uid' }, spec: { claimRef: { namespace: 'kafka', name: 'listener-broker-0' } } };
const pod: Pod = {
  metadata: { name: 'broker-0', namespace: 'kafka', uid: '7d1c-42' },
  spec: {
    nodeName: 'n1',
    containers: [
      { name: 'kafka', ports: [{ name: 'kafka', containerPort: 9092, protocol: 'TCP' }, { containerPort: 9093, protocol: 'TCP' }] },
      { name: 'metrics', ports: [{ name: 'metrics', containerPort: 9606 }, { name: 'kafka', containerPort: 19092, protocol: 'TCP' }, { name: 'dup-number', containerPort: 9093, protocol: 'TCP' }, { containerPort: 9093, protocol: 'UDP' }] },
      { name: 'sidecar' },
    ],
    volumes: [
      { name: 'config', configMap: { name: 'c' } },
      { name: 'listener', ephemeral: { volumeClaimTemplate: { spec: {} } } },
      { name: 'data', persistentVolumeClaim: { claimName: 'data-broker-0' } },
    ],
  },
};
const node = (addresses: { type: string; address: string }[]): Node => ({ metadata: { name: 'n1' }, status: { addresses } });
const listenerRef = { kind: 'Listener', namespace: 'kafka', name: 'listener-broker-0' };

// Compile-time: objects typed with the client's model classes can be handed to the decisions.
function acceptsClientTypes(pod: V1Pod, pv: V1PersistentVolume, pvc: V1PersistentVolumeClaim, node: V1Node): unknown[] {
  const p: Pod = pod;
  const v: PersistentVolume = pv;
  const c: PersistentVolumeClaim = pvc;
  const n: Node = node;
  return [p, v, c, n];
}

test('client model objects are assignable to the plain types', () => {
  assert.equal(typeof acceptsClientTypes, 'function');
});

test('buildAutoListener: named after the PVC, in the Pod namespace, owned by the PV, PVC labels, class, ports', () => {
  assert.deepEqual(buildAutoListener({ pvc, pv, pod, className: 'external-unstable' }), {
    apiVersion: 'listeners.stackable.tech/v1alpha1',
    kind: 'Listener',
    metadata: {
      name: 'listener-broker-0',
      namespace: 'kafka',
      labels: { app: 'kafka', role: 'broker' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'PersistentVolume', name: 'pvc-5a1b', uid: 'pv-uid', controller: true }],
    },
    spec: {
      className: 'external-unstable',
      publishNotReadyAddresses: true,
      // 19092 reuses the name "kafka", "dup-number" reuses 9093/TCP, and the unnamed 9093/UDP
      // would be a second "port-9093": all three are dropped.
      ports: [
        { name: 'kafka', port: 9092, protocol: 'TCP' },
        { name: 'port-9093', port: 9093, protocol: 'TCP' },
        { name: 'metrics', port: 9606 },
      ],
    },
  });
});

test('buildListenerPorts: duplicates by name or by (number, protocol) are dropped, first wins', () => {
  assert.deepEqual(buildListenerPorts(pod), [
    { name: 'kafka', port: 9092, protocol: 'TCP' },
    { name: 'port-9093', port: 9093, protocol: 'TCP' },
    { name: 'metrics', port: 9606 },
  ]);
  const udp: Pod = { spec: { containers: [{ name: 'a', ports: [{ containerPort: 53, protocol: 'TCP' }, { name: 'dns-udp', containerPort: 53, protocol: 'UDP' }] }] } };
  assert.deepEqual(buildListenerPorts(udp), [{ name: 'port-53', port: 53, protocol: 'TCP' }, { name: 'dns-udp', port: 53, protocol: 'UDP' }]);
  assert.deepEqual(buildListenerPorts({ spec: { containers: [] } }), []);
});

test('buildAutoListener: a PVC without labels gives empty labels; missing metadata is a programming error', () => {
  const l = buildAutoListener({ pvc: { metadata: { name: 'x' } }, pv, pod, className: 'c' });
  assert.deepEqual(l.metadata.labels, {});
  assert.throws(() => buildAutoListener({ pvc, pv: { metadata: { name: 'p' } }, pod, className: 'c' }), /PersistentVolume metadata.uid is missing/);
});

test('isListenerOwnedByVolume: only an owner reference to this very PV', () => {
  const owned = buildAutoListener({ pvc, pv, pod, className: 'c' });
  assert.ok(isListenerOwnedByVolume(owned, pv));
  assert.ok(!isListenerOwnedByVolume(owned, { metadata: { name: 'pvc-5a1b', uid: 'other-uid' } }));
  assert.ok(!isListenerOwnedByVolume({ metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'x', uid: 'pv-uid' }] } }, pv));
  assert.ok(!isListenerOwnedByVolume({ metadata: {} }, pv));
  assert.ok(!isListenerOwnedByVolume(owned, { metadata: { name: 'pvc-5a1b' } }));
});

test('listenerNameFor', () => {
  assert.equal(listenerNameFor({ kind: 'class', className: 'c' }, 'my-pvc'), 'my-pvc');
  assert.equal(listenerNameFor({ kind: 'name', listenerName: 'shared' }, 'my-pvc'), 'shared');
});

test('createVolumeTopology: only a pinned NodePort class pins, to the first preferred topology', () => {
  const preferredTopology = [{ 'listeners.stackable.tech/hostname': 'n2' }, { 'listeners.stackable.tech/hostname': 'n1' }];
  const cls = (serviceType: 'NodePort' | 'LoadBalancer' | 'ClusterIP', pinnedNodePorts?: boolean) => ({
    spec: pinnedNodePorts === undefined ? { serviceType } : { serviceType, pinnedNodePorts },
  });
  assert.deepEqual(createVolumeTopology({ listenerClass: cls('NodePort', true), preferredTopology }), [{ segments: { 'listeners.stackable.tech/hostname': 'n2' } }]);
  assert.deepEqual(createVolumeTopology({ listenerClass: cls('NodePort', false), preferredTopology }), []);
  assert.deepEqual(createVolumeTopology({ listenerClass: cls('NodePort'), preferredTopology }), []);
  assert.deepEqual(createVolumeTopology({ listenerClass: cls('LoadBalancer', true), preferredTopology }), []);
  assert.deepEqual(createVolumeTopology({ listenerClass: cls('ClusterIP', true), preferredTopology }), []);
  assert.deepEqual(createVolumeTopology({ listenerClass: cls('NodePort', true), preferredTopology: [] }), []);
});

test('podAddresses: nodePorts → the Pod\'s Node with the node ports, scope Node', () => {
  const r = podAddresses({
    listener: listenerRef,
    listenerStatus: { nodePorts: { kafka: 31234 }, ingressAddresses: [{ address: '10.9.9.9', addressType: 'IP', ports: { kafka: 31234 } }] },
    node: node([{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'n1' }]),
    preferredAddressType: 'HostnameConservative',
  });
  assert.deepEqual(r, { ok: true, value: { scope: 'Node', addresses: [{ address: '10.0.0.1', addressType: 'IP', ports: { kafka: 31234 } }] } });
});

test('podAddresses: the Node address is the controller\'s choice (ExternalIP > InternalIP, preference with fallback, dual-stack second)', () => {
  const listenerStatus = { nodePorts: { http: 30080 } };
  const full = node([
    { type: 'InternalIP', address: '10.0.0.1' },
    { type: 'Hostname', address: 'n1.example' },
    { type: 'ExternalIP', address: '203.0.113.7' },
    { type: 'ExternalIP', address: '203.0.113.8' },
  ]);
  const addressesOf = (n: Node, preferredAddressType: 'IP' | 'Hostname' | 'HostnameConservative' | undefined): unknown => {
    const r = podAddresses({ listener: listenerRef, listenerStatus, node: n, preferredAddressType });
    return r.ok ? r.value.addresses.map((a) => `${a.addressType}:${a.address}`) : r.error.kind;
  };
  assert.deepEqual(addressesOf(full, 'IP'), ['IP:203.0.113.7']);
  assert.deepEqual(addressesOf(full, 'HostnameConservative'), ['IP:203.0.113.7'], 'HostnameConservative is IP for node ports');
  assert.deepEqual(addressesOf(full, undefined), ['IP:203.0.113.7']);
  assert.deepEqual(addressesOf(full, 'Hostname'), ['Hostname:n1.example']);
  assert.deepEqual(addressesOf(node([{ type: 'InternalIP', address: '10.0.0.1' }]), 'Hostname'), ['IP:10.0.0.1'], 'fallback to the other kind');
  assert.deepEqual(addressesOf(node([{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '' }]), 'IP'), ['Hostname:n1']);
  const dual = node([{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'InternalIP', address: 'fd00::1' }]);
  assert.deepEqual(addressesOf(dual, 'IP'), ['IP:10.0.0.1', 'IP:fd00::1'], 'upstream\'s address first, then the other family');
  assert.equal(addressesOf({ metadata: { name: 'bare' } }, 'IP'), 'NodeHasNoAddress');
});

test('podAddresses: no nodePorts → the Listener ingress addresses, scope Cluster', () => {
  const ingressAddresses = [
    { address: 'lb.example', addressType: 'Hostname' as const, ports: { http: 80 } },
    { address: '198.51.100.1', addressType: 'IP' as const, ports: { http: 80 } },
  ];
  const r = podAddresses({ listener: listenerRef, listenerStatus: { ingressAddresses, nodePorts: null }, node: node([]), preferredAddressType: 'IP' });
  assert.deepEqual(r, { ok: true, value: { scope: 'Cluster', addresses: ingressAddresses } });
});

test('podAddresses: nothing yet → NoAddresses; a Node without address → NodeHasNoAddress', () => {
  for (const listenerStatus of [undefined, null, {}, { ingressAddresses: [] }]) {
    const r = podAddresses({ listener: listenerRef, listenerStatus, node: node([]), preferredAddressType: 'IP' });
    assert.deepEqual(r, { ok: false, error: { kind: 'NoAddresses', listener: listenerRef } });
  }
  const r = podAddresses({ listener: listenerRef, listenerStatus: { nodePorts: {} }, node: node([]), preferredAddressType: 'IP' });
  assert.deepEqual(r, { ok: false, error: { kind: 'NodeHasNoAddress', node: { kind: 'Node', name: 'n1' }, listener: listenerRef } });
});

test('buildPodListenersPatch: pod-<uid>, owned by the Pod, only this volume\'s entry', () => {
  const ingressAddresses = [{ address: '10.0.0.1', addressType: 'IP' as const, ports: { kafka: 31234 } }];
  assert.deepEqual(buildPodListenersPatch({ pod, volumeName: 'listener', scope: 'Node', ingressAddresses }), {
    apiVersion: 'listeners.stackable.tech/v1alpha1',
    kind: 'PodListeners',
    metadata: {
      name: 'pod-7d1c-42',
      namespace: 'kafka',
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'broker-0', uid: '7d1c-42', controller: true }],
    },
    spec: { listeners: { listener: { scope: 'Node', ingressAddresses } } },
  });
});

test('label patches: the Pod mount label (singular prefix, dashes removed) and the PV labels', () => {
  assert.deepEqual(buildPodLabelPatch({ name: 'web', uid: '0a1b-2c3d-4e' }), { metadata: { labels: { 'listener.stackable.tech/mnt.0a1b2c3d4e': 'web' } } });
  assert.deepEqual(buildPvLabelPatch({ namespace: 'kafka', name: 'web' }), {
    metadata: { labels: { 'listeners.stackable.tech/listener-namespace': 'kafka', 'listeners.stackable.tech/listener-name': 'web' } },
  });
});

test('label patches: a Listener name over 63 characters gives the same valid label value as the controller and Service use', () => {
  const long = `${'a'.repeat(70)}.example`;
  const uid = '0a1b2c3d-0000-4000-8000-000000000001';
  const podPatch = buildPodLabelPatch({ name: long, uid });
  const mount = mountLabel(long, uid);
  assert.deepEqual(podPatch.metadata.labels, { [mount.key]: mount.value });
  assert.equal(mount.value, labelValueFor(long));
  assert.ok(isLabelValue(mount.value) && mount.value.length <= 63);
  const pvPatch = buildPvLabelPatch({ namespace: 'kafka', name: long });
  assert.deepEqual(pvPatch.metadata.labels, pvListenerLabels('kafka', long));
  assert.equal(pvPatch.metadata.labels['listeners.stackable.tech/listener-name'], labelValueFor(long));
});

test('hasLabels: every label of the patch already set, with the same value', () => {
  const patch = buildPvLabelPatch({ namespace: 'kafka', name: 'web' });
  assert.ok(hasLabels({ metadata: { labels: { ...patch.metadata.labels, other: 'x' } } }, patch));
  assert.ok(!hasLabels({ metadata: { labels: { 'listeners.stackable.tech/listener-namespace': 'kafka' } } }, patch));
  assert.ok(!hasLabels({ metadata: { labels: { ...patch.metadata.labels, 'listeners.stackable.tech/listener-name': 'other' } } }, patch));
  assert.ok(!hasLabels({}, patch));
  assert.ok(hasLabels({}, { metadata: { labels: {} } }));
});

test('volumeNameForPvc: persistentVolumeClaim volumes (incl. StatefulSet claims) and ephemeral <pod>-<volume>', () => {
  assert.equal(volumeNameForPvc({ pod, pvcName: 'data-broker-0' }), 'data');
  assert.equal(volumeNameForPvc({ pod, pvcName: 'broker-0-listener' }), 'listener');
  assert.equal(volumeNameForPvc({ pod, pvcName: 'broker-0-config' }), undefined, 'a configMap volume has no claim');
  assert.equal(volumeNameForPvc({ pod, pvcName: 'unrelated' }), undefined);
  assert.equal(volumeNameForPvc({ pod: { spec: { containers: [] } }, pvcName: 'x' }), undefined);
});
