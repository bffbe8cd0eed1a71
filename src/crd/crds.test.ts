import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { Value } from 'typebox/value';
import { buildCrds, crdsYaml } from './crds.ts';
import { ListenerClassCrdSchema } from './listener-class.ts';
import { ListenerCrdSchema } from './listener.ts';
import { PodListenersCrdSchema } from './pod-listeners.ts';

type Json = Record<string, unknown>;

function get(obj: unknown, path: string): unknown {
  let node: unknown = obj;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = Array.isArray(node) ? node[Number(key)] : (node as Json)[key];
  }
  return node;
}

function crd(plural: string): Json {
  const found = buildCrds().find((c) => get(c, 'spec.names.plural') === plural);
  assert.ok(found, `no CRD ${plural}`);
  return found;
}

function spec(plural: string): unknown {
  return get(crd(plural), 'spec.versions.0.schema.openAPIV3Schema.properties.spec');
}

test('three CRDs with the contract names, group, version and scope', () => {
  const crds = buildCrds();
  assert.equal(crds.length, 3);
  const expected = [
    ['listenerclasses', 'listenerclass', 'ListenerClass', 'Cluster'],
    ['listeners', 'listener', 'Listener', 'Namespaced'],
    ['podlisteners', 'podlisteners', 'PodListeners', 'Namespaced'],
  ];
  for (const [plural, singular, kind, scope] of expected) {
    const c = crd(plural ?? '');
    assert.equal(c.apiVersion, 'apiextensions.k8s.io/v1');
    assert.equal(c.kind, 'CustomResourceDefinition');
    assert.equal(get(c, 'metadata.name'), `${plural}.listeners.stackable.tech`);
    assert.equal(get(c, 'spec.group'), 'listeners.stackable.tech');
    assert.equal(get(c, 'spec.names.singular'), singular);
    assert.equal(get(c, 'spec.names.kind'), kind);
    assert.equal(get(c, 'spec.scope'), scope);
    assert.equal((get(c, 'spec.versions') as unknown[]).length, 1);
    assert.equal(get(c, 'spec.versions.0.name'), 'v1alpha1');
    assert.equal(get(c, 'spec.versions.0.served'), true);
    assert.equal(get(c, 'spec.versions.0.storage'), true);
    assert.deepEqual(get(c, 'spec.versions.0.schema.openAPIV3Schema.required'), ['spec']);
  }
});

test('only Listener has the status subresource', () => {
  assert.deepEqual(get(crd('listeners'), 'spec.versions.0.subresources'), { status: {} });
  assert.deepEqual(get(crd('listenerclasses'), 'spec.versions.0.subresources'), {});
  assert.deepEqual(get(crd('podlisteners'), 'spec.versions.0.subresources'), {});
});

test('ListenerClass spec: required, enums, defaults, nullability', () => {
  const s = spec('listenerclasses');
  assert.deepEqual(get(s, 'required'), ['serviceType']);
  assert.deepEqual(get(s, 'properties.serviceType.enum'), ['NodePort', 'LoadBalancer', 'ClusterIP']);
  assert.deepEqual(get(s, 'properties.serviceAnnotations'), {
    additionalProperties: { type: 'string' },
    default: {},
    description: 'Annotations copied onto the Service.',
    type: 'object',
  });
  assert.deepEqual(get(s, 'properties.serviceExternalTrafficPolicy.enum'), ['Cluster', 'Local']);
  assert.equal(get(s, 'properties.serviceExternalTrafficPolicy.nullable'), true);
  assert.equal(get(s, 'properties.serviceExternalTrafficPolicy.default'), undefined);
  assert.equal(get(s, 'properties.loadBalancerClass.nullable'), true);
  assert.equal(get(s, 'properties.loadBalancerClass.type'), 'string');
  assert.equal(get(s, 'properties.loadBalancerAllocateNodePorts.default'), true);
  assert.equal(get(s, 'properties.loadBalancerAllocateNodePorts.type'), 'boolean');
  assert.deepEqual(get(s, 'properties.preferredAddressType.enum'), ['Hostname', 'IP', 'HostnameConservative']);
  assert.equal(get(s, 'properties.preferredAddressType.default'), 'HostnameConservative');
  assert.equal(get(s, 'properties.pinnedNodePorts.default'), false);
  assert.equal(get(s, 'properties.serviceOverrides.x-kubernetes-preserve-unknown-fields'), true);
  assert.equal(get(s, 'properties.serviceOverrides.type'), 'object');
  assert.deepEqual(get(s, 'properties.serviceOverrides.default'), { apiVersion: 'v1', kind: 'Service', metadata: {} });
});

test('Listener spec: ports, defaults, nullability', () => {
  const s = spec('listeners');
  assert.equal(get(s, 'required'), undefined);
  assert.equal(get(s, 'properties.className.nullable'), true);
  assert.equal(get(s, 'properties.ports.nullable'), true);
  assert.equal(get(s, 'properties.ports.type'), 'array');
  assert.deepEqual(get(s, 'properties.ports.items.required'), ['name', 'port']);
  assert.equal(get(s, 'properties.ports.items.properties.port.type'), 'integer');
  assert.equal(get(s, 'properties.ports.items.properties.port.format'), 'int32');
  assert.equal(get(s, 'properties.ports.items.properties.protocol.nullable'), true);
  assert.deepEqual(get(s, 'properties.extraPodSelectorLabels.default'), {});
  assert.equal(get(s, 'properties.publishNotReadyAddresses.default'), true);
  assert.equal(get(s, 'properties.publishNotReadyAddresses.nullable'), true);
  assert.deepEqual(get(s, 'properties.objectOverrides.default'), []);
  assert.equal(get(s, 'properties.objectOverrides.items.x-kubernetes-preserve-unknown-fields'), true);
});

test('Listener status: addresses, node ports, service name', () => {
  const s = get(crd('listeners'), 'spec.versions.0.schema.openAPIV3Schema.properties.status');
  assert.equal(get(s, 'nullable'), true);
  const ingress = get(s, 'properties.ingressAddresses.items');
  assert.deepEqual(get(ingress, 'required'), ['address', 'addressType', 'ports']);
  assert.deepEqual(get(ingress, 'properties.addressType.enum'), ['Hostname', 'IP']);
  assert.equal(get(ingress, 'properties.ports.additionalProperties.format'), 'int32');
  assert.equal(get(s, 'properties.nodePorts.nullable'), true);
  assert.equal(get(s, 'properties.nodePorts.additionalProperties.type'), 'integer');
  assert.equal(get(s, 'properties.serviceName.nullable'), true);
});

test('PodListeners spec: listeners by volume name with scope', () => {
  const s = spec('podlisteners');
  assert.deepEqual(get(s, 'required'), ['listeners']);
  const listener = get(s, 'properties.listeners.additionalProperties');
  assert.deepEqual(get(listener, 'required'), ['scope']);
  assert.deepEqual(get(listener, 'properties.scope.enum'), ['Node', 'Cluster']);
  assert.equal(get(listener, 'properties.ingressAddresses.nullable'), true);
});

test('Listener printer columns point at existing fields', () => {
  const columns = get(crd('listeners'), 'spec.versions.0.additionalPrinterColumns') as Json[];
  const paths = columns.map((c) => c.jsonPath);
  assert.ok(paths.includes('.spec.className'));
  assert.ok(paths.includes('.status.serviceName'));
  assert.ok(paths.includes('.metadata.creationTimestamp'));
});

// Walks a schema node and everything below it.
function* nodes(node: unknown, path = ''): Generator<[string, Json]> {
  if (typeof node !== 'object' || node === null) return;
  const n = node as Json;
  yield [path, n];
  for (const [name, child] of Object.entries((n.properties ?? {}) as Json)) yield* nodes(child, `${path}.${name}`);
  if (typeof n.additionalProperties === 'object') yield* nodes(n.additionalProperties, `${path}.*`);
  if (n.items !== undefined) yield* nodes(n.items, `${path}[]`);
}

test('every schema is structural: typed, no unions, no patternProperties, described fields', () => {
  for (const c of buildCrds()) {
    for (const [path, n] of nodes(get(c, 'spec.versions.0.schema.openAPIV3Schema'))) {
      const where = `${String(get(c, 'metadata.name'))}${path}`;
      assert.equal(typeof n.type, 'string', `${where} has no type`);
      for (const forbidden of ['anyOf', 'oneOf', 'allOf', 'not', 'const', 'patternProperties', '$ref']) {
        assert.equal(forbidden in n, false, `${where} uses ${forbidden}`);
      }
      assert.ok(!('properties' in n && 'additionalProperties' in n), `${where} mixes properties and additionalProperties`);
      assert.notEqual(n.additionalProperties, false, `${where} sets additionalProperties: false`);
    }
    for (const [path, n] of nodes(get(c, 'spec.versions.0.schema.openAPIV3Schema'))) {
      for (const [name, child] of Object.entries((n.properties ?? {}) as Json)) {
        assert.equal(typeof get(child, 'description'), 'string', `${path}.${name} has no description`);
      }
    }
  }
});

test('every default is valid for its own schema', () => {
  let checked = 0;
  for (const schema of [ListenerClassCrdSchema, ListenerCrdSchema, PodListenersCrdSchema]) {
    const stack: unknown[] = [schema];
    while (stack.length > 0) {
      const node = stack.pop();
      if (typeof node !== 'object' || node === null) continue;
      const n = node as Json;
      if ('default' in n) {
        checked++;
        assert.ok(Value.Check(n as never, n.default), `default ${JSON.stringify(n.default)} is invalid`);
      }
      stack.push(...Object.values(n).filter((v) => typeof v === 'object'));
    }
  }
  assert.ok(checked >= 8, `only ${checked} defaults found`);
});

test('crdsYaml is the same three CRDs as a multi-document stream', () => {
  const text = crdsYaml();
  assert.ok(text.startsWith('---\n'));
  const docs = parseAllDocuments(text);
  assert.ok(Array.isArray(docs));
  assert.deepEqual(
    docs.map((doc) => doc.toJS() as unknown),
    buildCrds(),
  );
});

test('buildCrds returns fresh objects (callers may mutate them)', () => {
  const first = buildCrds();
  (first[0] as Json).kind = 'Changed';
  assert.equal(buildCrds()[0]?.kind, 'CustomResourceDefinition');
});
