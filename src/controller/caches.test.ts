// What the caches keep of EndpointSlices, PVs and Nodes must be enough for every decision made
// from them: the same backing Nodes and addresses as from the whole objects, the same keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LABEL_PV_LISTENER_NAME, LABEL_PV_LISTENER_NAMESPACE, LABEL_SERVICE_NAME } from '../constants.ts';
import { nodeAddresses } from '../core/addresses.ts';
import { backingNodeNames } from '../core/status.ts';
import { objectKey, withoutMetadata } from '../k8s/informer.ts';
import { endpointsAsSlice, keepListener, keepNode, keepPv, keepService, keepSlice, pvListenerKey, type EndpointSlice, type Node, type PersistentVolume, type Service } from './caches.ts';

const nodeName = fc.constantFrom('n1', 'n2', 'n3');

const apiSlice = fc.record({
  endpoints: fc.option(fc.array(fc.record({
    addresses: fc.constant(['10.2.0.1']),
    nodeName: fc.option(nodeName, { nil: undefined }),
    conditions: fc.record({ ready: fc.option(fc.boolean(), { nil: undefined }), serving: fc.boolean(), terminating: fc.boolean() }, { requiredKeys: [] }),
    targetRef: fc.constant({ kind: 'Pod', name: 'p', namespace: 'ns', uid: 'u' }),
  }, { requiredKeys: ['addresses'] }), { maxLength: 4 }), { nil: null }),
}).map((s): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
  metadata: {
    name: 'web-abcde', namespace: 'ns', uid: 'uid-1', resourceVersion: '42', generation: 1,
    labels: { [LABEL_SERVICE_NAME]: 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
    annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-11-24T17:19:20Z' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true }],
  },
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  ...s,
} as EndpointSlice));

const term = fc.array(fc.record({
  key: fc.constantFrom('listeners.stackable.tech/hostname', 'kubernetes.io/hostname'),
  operator: fc.constantFrom('In', 'NotIn'),
  values: fc.array(nodeName, { maxLength: 2 }),
}), { maxLength: 3 });

const apiPv = fc.array(term.map((matchExpressions) => ({ matchExpressions })), { maxLength: 2 }).map((nodeSelectorTerms): PersistentVolume => ({
  apiVersion: 'v1', kind: 'PersistentVolume',
  metadata: { name: 'pvc-1', uid: 'pv-uid', resourceVersion: '7', labels: { [LABEL_PV_LISTENER_NAME]: 'web', [LABEL_PV_LISTENER_NAMESPACE]: 'ns', other: 'x' } },
  spec: {
    nodeAffinity: { required: { nodeSelectorTerms } },
    capacity: { storage: '1' }, accessModes: ['ReadWriteMany'], csi: { driver: 'listeners.stackable.tech', volumeHandle: 'pvc-1' },
  },
} as PersistentVolume));

test('a kept EndpointSlice and PV give the same backing Nodes and keys as the whole objects', () => {
  fc.assert(fc.property(fc.array(apiPv, { maxLength: 3 }), fc.array(apiSlice, { maxLength: 3 }), (pvs, slices) => {
    const keptPvs = pvs.map(keepPv);
    const keptSlices = slices.map(keepSlice);
    assert.deepEqual(backingNodeNames(keptPvs, keptSlices), backingNodeNames(pvs, slices));
    for (const [i, pv] of pvs.entries()) {
      assert.equal(objectKey(keptPvs[i] ?? {}), objectKey(pv));
      assert.equal(pvListenerKey(keptPvs[i] ?? {}), pvListenerKey(pv));
      assert.equal(keptPvs[i]?.metadata?.resourceVersion, pv.metadata?.resourceVersion);
    }
    for (const [i, s] of slices.entries()) {
      assert.equal(objectKey(keptSlices[i] ?? {}), objectKey(s));
      assert.equal(keptSlices[i]?.metadata?.labels?.[LABEL_SERVICE_NAME], 'web');
    }
  }), { numRuns: 1000 });
});

test('what is kept is small: no annotations, owner references, ports, capacity or foreign labels', () => {
  const [slice] = fc.sample(apiSlice, { numRuns: 1, seed: 1 });
  const [pv] = fc.sample(apiPv, { numRuns: 1, seed: 1 });
  assert.deepEqual(Object.keys(keepSlice(slice ?? {}).metadata ?? {}).sort(), ['labels', 'name', 'namespace', 'resourceVersion']);
  assert.deepEqual(keepSlice(slice ?? {}).metadata?.labels, { [LABEL_SERVICE_NAME]: 'web' });
  assert.deepEqual(Object.keys(keepPv(pv ?? {}).spec ?? {}), ['nodeAffinity']);
  assert.deepEqual(keepPv(pv ?? {}).metadata?.labels, { [LABEL_PV_LISTENER_NAME]: 'web', [LABEL_PV_LISTENER_NAMESPACE]: 'ns' });
});

test('a kept Node keeps its name, version and addresses, and gives the same addresses', () => {
  const node: Node = {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: 'n1', uid: 'u', resourceVersion: '9', labels: { 'kubernetes.io/hostname': 'n1' } },
    status: {
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'ExternalIP', address: '2001:db8::1' }, { type: 'Hostname', address: 'n1' }],
      // What a real Node also carries, and the cache does not keep.
      images: [{ names: ['registry.example/big:1'], sizeBytes: 1 }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  } as Node;
  const kept = keepNode(node);
  assert.deepEqual(kept, { metadata: { name: 'n1', resourceVersion: '9' }, status: { addresses: node.status?.addresses } });
  for (const preferred of ['IP', 'Hostname'] as const) assert.deepEqual(nodeAddresses(kept, preferred), nodeAddresses(node, preferred));
});

test('a kept Listener or Service loses only metadata no reconcile reads, and the received object is not changed', () => {
  const metadata = {
    name: 'web', namespace: 'ns', uid: 'u', resourceVersion: '3', generation: 2, creationTimestamp: '2026-11-24T17:19:20Z',
    labels: { a: 'b' }, annotations: { c: 'd' }, ownerReferences: [{ apiVersion: 'listeners.stackable.tech/v1alpha1', kind: 'Listener', name: 'web', uid: 'lu', controller: true }],
  };
  const listener = { apiVersion: 'listeners.stackable.tech/v1alpha1', kind: 'Listener', metadata: { ...metadata }, spec: { className: 'c' }, status: { serviceName: 'web' } };
  const kept = { name: 'web', namespace: 'ns', resourceVersion: '3', labels: { a: 'b' }, annotations: { c: 'd' }, ownerReferences: metadata.ownerReferences };
  assert.deepEqual(keepListener(listener), { ...listener, metadata: { ...kept, uid: 'u', generation: 2 } });
  assert.deepEqual(listener.metadata, metadata, 'the received object is left as it was');
  const service: Service = { apiVersion: 'v1', kind: 'Service', metadata: { ...kept, uid: 'su', generation: 1 }, spec: { type: 'ClusterIP', clusterIP: '10.0.0.1' } };
  assert.deepEqual(keepService(service), { ...service, metadata: kept });
  const bare = { metadata: { name: 'x' } };
  assert.equal(withoutMetadata(bare, ['uid']), bare, 'nothing to drop: the same object');
});

test('v1 Endpoints read as the EndpointSlice the controller reads (where EndpointSlices are forbidden)', () => {
  const slice = endpointsAsSlice({
    metadata: { name: 'web', namespace: 'ns', resourceVersion: '7', labels: { 'app.kubernetes.io/managed-by': 'x' }, uid: 'u' },
    subsets: [
      { addresses: [{ nodeName: 'n1' }, { nodeName: 'n2' }], notReadyAddresses: [{ nodeName: 'n3' }] },
      { addresses: [{}], notReadyAddresses: null },
    ],
  });
  assert.deepEqual(slice, {
    metadata: { name: 'web', namespace: 'ns', resourceVersion: '7', labels: { 'kubernetes.io/service-name': 'web' } },
    endpoints: [
      { nodeName: 'n1', conditions: { ready: true } }, { nodeName: 'n2', conditions: { ready: true } },
      { nodeName: 'n3', conditions: { ready: false } }, { nodeName: undefined, conditions: { ready: true } },
    ],
  });
  assert.deepEqual(endpointsAsSlice({ metadata: { name: 'empty', namespace: 'ns' } }).endpoints, []);
});
