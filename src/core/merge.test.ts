import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeServiceOverride, type JsonMap } from './merge.ts';

const base: JsonMap = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'web',
    labels: { app: 'web', tier: 'front' },
    annotations: { a: '1' },
    finalizers: ['x'],
    ownerReferences: [{ uid: 'u1', kind: 'Listener', controller: true }],
  },
  spec: {
    type: 'NodePort',
    selector: { app: 'web', mnt: 'l' },
    ports: [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'TCP' },
      { name: 'dns-udp', port: 53, protocol: 'UDP' },
    ],
    clusterIPs: ['10.0.0.1'],
    publishNotReadyAddresses: true,
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } },
  },
};

const cases: [string, JsonMap, (r: JsonMap) => unknown, unknown][] = [
  ['scalars replace', { spec: { type: 'LoadBalancer' } }, (r) => (r.spec as JsonMap).type, 'LoadBalancer'],
  ['false replaces true', { spec: { publishNotReadyAddresses: false } }, (r) => (r.spec as JsonMap).publishNotReadyAddresses, false],
  [
    'labels merge key by key, override wins',
    { metadata: { labels: { tier: 'back', extra: 'y' } } },
    (r) => (r.metadata as JsonMap).labels,
    { app: 'web', tier: 'back', extra: 'y' },
  ],
  [
    'annotations merge key by key',
    { metadata: { annotations: { b: '2' } } },
    (r) => (r.metadata as JsonMap).annotations,
    { a: '1', b: '2' },
  ],
  ['the selector is replaced whole', { spec: { selector: { other: 'x' } } }, (r) => (r.spec as JsonMap).selector, { other: 'x' }],
  ['clusterIPs are replaced whole', { spec: { clusterIPs: ['None'] } }, (r) => (r.spec as JsonMap).clusterIPs, ['None']],
  ['externalIPs are set', { spec: { externalIPs: ['1.2.3.4'] } }, (r) => (r.spec as JsonMap).externalIPs, ['1.2.3.4']],
  [
    'nested objects merge recursively',
    { spec: { sessionAffinityConfig: { clientIP: { other: 1 } } } },
    (r) => (r.spec as JsonMap).sessionAffinityConfig,
    { clientIP: { timeoutSeconds: 10, other: 1 } },
  ],
  [
    'ports merge by port number, new ones are appended',
    { spec: { ports: [{ port: 80, nodePort: 30080 }, { name: 'https', port: 443 }] } },
    (r) => (r.spec as JsonMap).ports,
    [
      { name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 },
      { name: 'dns', port: 53, protocol: 'TCP' },
      { name: 'dns-udp', port: 53, protocol: 'UDP' },
      { name: 'https', port: 443 },
    ],
  ],
  [
    'a port override naming a protocol merges into that protocol only',
    { spec: { ports: [{ port: 53, protocol: 'UDP', nodePort: 30053 }] } },
    (r) => (r.spec as JsonMap).ports,
    [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'TCP' },
      { name: 'dns-udp', port: 53, protocol: 'UDP', nodePort: 30053 },
    ],
  ],
  [
    'a port override without protocol merges into the first entry of that number',
    { spec: { ports: [{ port: 53, nodePort: 30053 }] } },
    (r) => ((r.spec as JsonMap).ports as unknown[])[1],
    { name: 'dns', port: 53, protocol: 'TCP', nodePort: 30053 },
  ],
  [
    'a port with a protocol not in the base is a new entry',
    { spec: { ports: [{ port: 80, protocol: 'UDP', name: 'quic' }] } },
    (r) => ((r.spec as JsonMap).ports as unknown[]).length,
    4,
  ],
  ['finalizers merge as a set', { metadata: { finalizers: ['y', 'x'] } }, (r) => (r.metadata as JsonMap).finalizers, ['x', 'y']],
  [
    'owner references merge by uid',
    { metadata: { ownerReferences: [{ uid: 'u2', kind: 'Other' }, { uid: 'u1', blockOwnerDeletion: true }] } },
    (r) => (r.metadata as JsonMap).ownerReferences,
    [
      { uid: 'u1', kind: 'Listener', controller: true, blockOwnerDeletion: true },
      { uid: 'u2', kind: 'Other' },
    ],
  ],
  ['other lists replace', { spec: { ipFamilies: ['IPv6'], topologyKeys: ['a'] } }, (r) => (r.spec as JsonMap).topologyKeys, ['a']],
  ['null changes nothing', { spec: { type: null, selector: null } }, (r) => r.spec, base.spec],
  ['new top-level fields are added', { status: { x: 1 } }, (r) => r.status, { x: 1 }],
  ['an empty override changes nothing', {}, (r) => r, base],
  [
    'a scalar over an object replaces it',
    { spec: { sessionAffinityConfig: 'none' } },
    (r) => (r.spec as JsonMap).sessionAffinityConfig,
    'none',
  ],
  [
    'a selector nested deeper is not atomic',
    { metadata: { labels: { selector: 'x' } }, spec: { template: { spec: { selector: { b: 1 } } } } },
    (r) => (r.metadata as JsonMap).labels,
    { app: 'web', tier: 'front', selector: 'x' },
  ],
];

for (const [what, override, pick, expected] of cases) {
  test(`merge: ${what}`, () => {
    assert.deepEqual(pick(mergeServiceOverride(base, override)), expected);
  });
}

test('merge: neither input is modified and the result shares nothing with them', () => {
  const b = structuredClone(base);
  const o: JsonMap = { metadata: { labels: { z: '1' } }, spec: { ports: [{ port: 81 }] } };
  const oCopy = structuredClone(o);
  const r = mergeServiceOverride(b, o);
  assert.deepEqual(b, base);
  assert.deepEqual(o, oCopy);
  ((r.spec as JsonMap).ports as JsonMap[]).push({ port: 1 });
  ((r.metadata as JsonMap).labels as JsonMap).q = '2';
  assert.deepEqual(b, base);
  assert.deepEqual(o, oCopy);
});

test('merge: ports into a base without ports', () => {
  assert.deepEqual(mergeServiceOverride({ spec: {} }, { spec: { ports: [{ port: 1 }] } }), { spec: { ports: [{ port: 1 }] } });
});
