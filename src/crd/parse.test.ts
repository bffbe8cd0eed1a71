import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Value } from 'typebox/value';
import { ListenerClassSchema } from './listener-class.ts';
import { ListenerSchema } from './listener.ts';
import { describeObject, parseListener, parseListenerClass, parsePodListeners } from './parse.ts';

const meta = { name: 'web', namespace: 'prod', uid: '0b6f-11' };

test('a minimal Listener gets the schema defaults, like the API server would', () => {
  const result = parseListener({ metadata: meta, spec: {} });
  assert.deepEqual(result, {
    ok: true,
    value: {
      metadata: meta,
      spec: { extraPodSelectorLabels: {}, publishNotReadyAddresses: true, objectOverrides: [] },
    },
  });
});

test('an explicit null publishNotReadyAddresses stays null (nullable fields are not defaulted)', () => {
  const result = parseListener({ metadata: meta, spec: { publishNotReadyAddresses: null } });
  assert.ok(result.ok);
  assert.equal(result.value.spec.publishNotReadyAddresses, null);
});

test('a full Listener round-trips unchanged', () => {
  const listener = {
    apiVersion: 'listeners.stackable.tech/v1alpha1',
    kind: 'Listener',
    metadata: { ...meta, labels: { app: 'web' } },
    spec: {
      className: 'external-unstable',
      ports: [
        { name: 'http', port: 8080, protocol: 'TCP' },
        { name: 'metrics', port: 9090, protocol: null },
        { name: 'admin', port: 9091 },
      ],
      extraPodSelectorLabels: { role: 'server' },
      publishNotReadyAddresses: false,
      objectOverrides: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'prod' }, spec: { x: [1] } }],
    },
    status: {
      ingressAddresses: [{ address: '10.0.0.1', addressType: 'IP', ports: { http: 30080 } }],
      nodePorts: { http: 30080 },
      serviceName: 'web',
    },
  };
  assert.deepEqual(parseListener(listener), { ok: true, value: listener });
});

test('parsing never mutates its input', () => {
  const input = { metadata: meta, spec: {} };
  parseListener(input);
  assert.deepEqual(input, { metadata: meta, spec: {} });
});

test('a minimal ListenerClass gets every default', () => {
  const result = parseListenerClass({ metadata: { name: 'external' }, spec: { serviceType: 'NodePort' } });
  assert.deepEqual(result, {
    ok: true,
    value: {
      metadata: { name: 'external' },
      spec: {
        serviceType: 'NodePort',
        serviceAnnotations: {},
        loadBalancerAllocateNodePorts: true,
        preferredAddressType: 'HostnameConservative',
        pinnedNodePorts: false,
        serviceOverrides: { apiVersion: 'v1', kind: 'Service', metadata: {} },
      },
    },
  });
});

test('a ListenerClass keeps free-form serviceOverrides as they are', () => {
  const overrides = { spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80, nodePort: 30080 }] }, other: 1 };
  const result = parseListenerClass({
    metadata: { name: 'lb' },
    spec: { serviceType: 'LoadBalancer', serviceExternalTrafficPolicy: 'Local', loadBalancerClass: null, serviceOverrides: overrides },
  });
  assert.ok(result.ok);
  assert.deepEqual(result.value.spec.serviceOverrides, overrides);
  assert.equal(result.value.spec.loadBalancerClass, null);
});

test('a PodListeners round-trips', () => {
  const obj = {
    metadata: { name: 'pod-1234', namespace: 'prod' },
    spec: {
      listeners: {
        listener: { scope: 'Node', ingressAddresses: [{ address: 'node-1', addressType: 'Hostname', ports: { http: 31000 } }] },
        other: { scope: 'Cluster' },
      },
    },
  };
  assert.deepEqual(parsePodListeners(obj), { ok: true, value: obj });
});

const invalid: [string, () => unknown, string][] = [
  ['not an object', () => parseListener('nope'), 'Listener <unnamed> is invalid: not an object'],
  ['an array', () => parseListener([]), 'Listener <unnamed> is invalid: not an object'],
  ['no spec', () => parseListener({ metadata: meta }), 'Listener prod/web is invalid: <root>: must have required properties spec'],
  [
    'a non-integer port',
    () => parseListener({ metadata: meta, spec: { ports: [{ name: 'http', port: 80.5 }] } }),
    'Listener prod/web is invalid: spec.ports[0].port: must be integer',
  ],
  [
    'a port without name',
    () => parseListener({ metadata: meta, spec: { ports: [{ port: 80 }] } }),
    'Listener prod/web is invalid: spec.ports[0]: must have required properties name',
  ],
  [
    'a port number beyond int32',
    () => parseListener({ metadata: meta, spec: { ports: [{ name: 'a', port: 2 ** 31 }] } }),
    'Listener prod/web is invalid: spec.ports[0].port: must be <= 2147483647',
  ],
  [
    'a className of the wrong type',
    () => parseListener({ metadata: meta, spec: { className: 3 } }),
    'Listener prod/web is invalid: spec.className: must be string or null',
  ],
  [
    'a label that is not a string',
    () => parseListener({ metadata: { ...meta, labels: { a: 1 } }, spec: {} }),
    'Listener prod/web is invalid: metadata.labels.a: must be string',
  ],
  [
    'a bad address type in the status',
    () => parseListener({ metadata: meta, spec: {}, status: { ingressAddresses: [{ address: 'a', addressType: 'IPv4', ports: {} }] } }),
    'Listener prod/web is invalid: status.ingressAddresses[0].addressType: must be one of Hostname, IP',
  ],
  [
    'an unknown service type',
    () => parseListenerClass({ metadata: { name: 'c' }, spec: { serviceType: 'ExternalName' } }),
    'ListenerClass c is invalid: spec.serviceType: must be one of NodePort, LoadBalancer, ClusterIP',
  ],
  [
    'serviceOverrides that is not an object',
    () => parseListenerClass({ metadata: { name: 'c' }, spec: { serviceType: 'ClusterIP', serviceOverrides: 'x' } }),
    'ListenerClass c is invalid: spec.serviceOverrides: must be object',
  ],
  [
    'a bad scope',
    () => parsePodListeners({ metadata: { name: 'pod-1', namespace: 'ns' }, spec: { listeners: { v: { scope: 'Pod' } } } }),
    'PodListeners ns/pod-1 is invalid: spec.listeners.v.scope: must be one of Node, Cluster',
  ],
];

for (const [what, parse, error] of invalid) {
  test(`reports ${what} with the object and the field`, () => {
    assert.deepEqual(parse(), { ok: false, error });
  });
}

test('many errors are capped', () => {
  const ports = Array.from({ length: 8 }, () => ({ name: 1, port: 'x' }));
  const result = parseListener({ metadata: meta, spec: { ports } });
  assert.ok(!result.ok);
  assert.match(result.error, /; and \d+ more$/);
});

test('describeObject names objects as namespace/name', () => {
  assert.equal(describeObject({ metadata: { name: 'a', namespace: 'b' } }), 'b/a');
  assert.equal(describeObject({ metadata: { name: 'a' } }), 'a');
  assert.equal(describeObject({ metadata: { namespace: 'b' } }), 'b/<unnamed>');
  assert.equal(describeObject(null), '<unnamed>');
});

test('property: defaults are filled as TypeBox\'s generic Value.Default fills them', () => {
  // The parser fills defaults with its own walk of the schema (parse.ts, withDefaults); TypeBox's
  // generic one is the reference. Fields are present, missing or null, at every level.
  const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> => fc.oneof(arb, fc.constant(null), fc.constant(undefined));
  const port = fc.record({ name: fc.constantFrom('http', 'metrics'), port: fc.integer({ min: 1, max: 65535 }), protocol: maybe(fc.constantFrom('TCP', 'UDP')) }, { requiredKeys: ['name', 'port'] });
  const listener = fc.record({
    metadata: fc.constant(meta),
    spec: fc.record({
      className: maybe(fc.constantFrom('a', 'b')),
      ports: maybe(fc.array(port, { maxLength: 3 })),
      extraPodSelectorLabels: fc.dictionary(fc.constantFrom('x', 'y'), fc.string({ maxLength: 3 })),
      publishNotReadyAddresses: maybe(fc.boolean()),
      objectOverrides: fc.array(fc.record({ kind: fc.constant('Service'), spec: fc.object({ maxDepth: 1 }) }), { maxLength: 2 }),
    }, { requiredKeys: [] }),
  });
  const listenerClass = fc.record({
    metadata: fc.constant({ name: 'c' }),
    spec: fc.record({
      serviceType: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
      serviceAnnotations: fc.dictionary(fc.constantFrom('a', 'b'), fc.string({ maxLength: 3 })),
      loadBalancerAllocateNodePorts: maybe(fc.boolean()),
      loadBalancerClass: maybe(fc.string({ maxLength: 3 })),
      preferredAddressType: maybe(fc.constantFrom('IP', 'Hostname', 'HostnameConservative')),
      pinnedNodePorts: maybe(fc.boolean()),
      serviceOverrides: fc.option(fc.object({ maxDepth: 2 }), { nil: undefined }),
    }, { requiredKeys: ['serviceType'] }),
  });
  const defined = (o: unknown): unknown => JSON.parse(JSON.stringify(o)) as unknown; // fields set to undefined are absent
  fc.assert(fc.property(listener, (l) => {
    const input = defined(l);
    const expected = Value.Default(ListenerSchema, structuredClone(input));
    if (Value.Check(ListenerSchema, expected)) assert.deepEqual(parseListener(input), { ok: true, value: expected });
    else assert.equal(parseListener(input).ok, false);
  }), { numRuns: 300 });
  fc.assert(fc.property(listenerClass, (c) => {
    const input = defined(c);
    const expected = Value.Default(ListenerClassSchema, structuredClone(input));
    if (Value.Check(ListenerClassSchema, expected)) assert.deepEqual(parseListenerClass(input), { ok: true, value: expected });
    else assert.equal(parseListenerClass(input).ok, false);
  }), { numRuns: 300 });
});

test('a parse is remembered for the same object, and redone for a new version of it', () => {
  const v1 = { metadata: meta, spec: { className: 'a' } };
  const first = parseListener(v1);
  assert.equal(parseListener(v1), first, 'the same object: the same result');
  const v2 = { metadata: meta, spec: { className: 'b' } };
  const second = parseListener(v2);
  assert.ok(second.ok);
  assert.equal(second.value.spec.className, 'b');
});
