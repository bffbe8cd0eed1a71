import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ListenerClass, ListenerClassSpec } from '../crd/listener-class.ts';
import type { Listener, ListenerSpec } from '../crd/listener.ts';
import { buildService, type DesiredService } from './service.ts';

const UID = '0b7a4f3e-9c1d-4e5f-8a6b-1c2d3e4f5a6b';
const MOUNT_KEY = 'listener.stackable.tech/mnt.0b7a4f3e9c1d4e5f8a6b1c2d3e4f5a6b';

function listener(spec: ListenerSpec = {}, metadata: Listener['metadata'] = {}): Listener {
  return {
    metadata: { name: 'web', namespace: 'prod', uid: UID, labels: { app: 'web' }, ...metadata },
    spec: { className: 'c', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], ...spec },
  };
}

function cls(spec: Partial<ListenerClassSpec> = {}): Pick<ListenerClass, 'spec'> {
  return { spec: { serviceType: 'ClusterIP', ...spec } };
}

function build(l: Listener, c: Pick<ListenerClass, 'spec'> = cls()): DesiredService {
  const result = buildService(l, c);
  if (!result.ok) assert.fail(result.error);
  return result.value;
}

test('the generated Service: name, namespace, labels, annotations, owner, selector, ports', () => {
  const svc = build(listener({ extraPodSelectorLabels: { role: 'server' } }), cls({ serviceAnnotations: { a: 'b' } }));
  assert.deepEqual(svc, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'prod',
      labels: {
        app: 'web',
        'app.kubernetes.io/name': 'listener',
        'app.kubernetes.io/instance': 'web',
        'app.kubernetes.io/managed-by': 'listeners.stackable.tech_listener',
      },
      annotations: { a: 'b' },
      ownerReferences: [
        { apiVersion: 'listeners.stackable.tech/v1alpha1', kind: 'Listener', name: 'web', uid: UID, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: {
      type: 'ClusterIP',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      selector: { role: 'server', [MOUNT_KEY]: 'web' },
      publishNotReadyAddresses: true,
    },
  });
});

test('the operator labels win over same-named Listener labels', () => {
  const svc = build(listener({}, { labels: { 'app.kubernetes.io/name': 'mine', keep: 'me' } }));
  assert.equal(svc.metadata.labels['app.kubernetes.io/name'], 'listener');
  assert.equal(svc.metadata.labels.keep, 'me');
});

test('the mount label wins over an extra selector label of the same key', () => {
  const svc = build(listener({ extraPodSelectorLabels: { [MOUNT_KEY]: 'other' } }));
  assert.deepEqual(svc.spec.selector, { [MOUNT_KEY]: 'web' });
});

const publish: [string, boolean | null | undefined, boolean][] = [
  ['unset is true', undefined, true],
  ['explicit null is false', null, false],
  ['true', true, true],
  ['false', false, false],
];
for (const [what, value, expected] of publish) {
  test(`publishNotReadyAddresses: ${what}`, () => {
    const spec: ListenerSpec = value === undefined ? {} : { publishNotReadyAddresses: value };
    assert.equal(build(listener(spec)).spec.publishNotReadyAddresses, expected);
  });
}

const typeFields: [string, Partial<ListenerClassSpec>, Record<string, unknown>][] = [
  ['ClusterIP ignores traffic policy and load-balancer fields', { serviceType: 'ClusterIP', serviceExternalTrafficPolicy: 'Local', loadBalancerClass: 'x', loadBalancerAllocateNodePorts: false }, {}],
  ['NodePort takes the traffic policy only', { serviceType: 'NodePort', serviceExternalTrafficPolicy: 'Local', loadBalancerClass: 'x' }, { externalTrafficPolicy: 'Local' }],
  ['NodePort without a policy sets none', { serviceType: 'NodePort', serviceExternalTrafficPolicy: null }, {}],
  [
    'LoadBalancer takes all three',
    { serviceType: 'LoadBalancer', serviceExternalTrafficPolicy: 'Cluster', loadBalancerClass: 'metallb', loadBalancerAllocateNodePorts: false },
    { externalTrafficPolicy: 'Cluster', loadBalancerClass: 'metallb', allocateLoadBalancerNodePorts: false },
  ],
  ['LoadBalancer allocates node ports by default', { serviceType: 'LoadBalancer' }, { allocateLoadBalancerNodePorts: true }],
];
for (const [what, spec, expected] of typeFields) {
  test(`service type fields: ${what}`, () => {
    const svc = build(listener(), cls(spec));
    assert.equal(svc.spec.type, spec.serviceType);
    const picked = Object.fromEntries(
      ['externalTrafficPolicy', 'loadBalancerClass', 'allocateLoadBalancerNodePorts'].flatMap((k) =>
        k in svc.spec ? [[k, (svc.spec as Record<string, unknown>)[k]]] : [],
      ),
    );
    assert.deepEqual(picked, expected);
  });
}

test('ports: none gives an empty list; duplicates are collapsed as upstream', () => {
  assert.deepEqual(build(listener({ ports: null })).spec.ports, []);
  assert.deepEqual(build(listener({ ports: [] })).spec.ports, []);
  assert.deepEqual(
    build(listener({ ports: [{ name: 'b', port: 2 }, { name: 'a', port: 1 }, { name: 'b', port: 3 }] })).spec.ports,
    [
      { name: 'a', port: 1, protocol: 'TCP' },
      { name: 'b', port: 3, protocol: 'TCP' },
    ],
  );
});

const invalid: [string, Listener, RegExp][] = [
  ['no name', listener({}, { name: undefined }), /the Listener has no metadata\.name/],
  ['no namespace', listener({}, { namespace: '' }), /the Listener has no metadata\.namespace/],
  ['no uid', listener({}, { uid: undefined }), /the Listener has no metadata\.uid/],
  ['an invalid port name', listener({ ports: [{ name: 'HTTP', port: 80 }] }), /port "HTTP" \(80\/TCP\): the name must be a DNS-1123 label/],
  ['a port name used twice', listener({ ports: [{ name: 'dns', port: 53 }, { name: 'dns', port: 53, protocol: 'UDP' }] }), /port names must be unique/],
  ['a port out of range', listener({ ports: [{ name: 'a', port: 70000 }] }), /between 1 and 65535/],
];
for (const [what, l, message] of invalid) {
  test(`refuses a Listener with ${what}`, () => {
    const result = buildService(l, cls());
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.match(result.error, message);
      assert.ok(result.errors.length >= 1);
    }
  });
}

test('a Listener name that is not a valid Service name gets a derived one', () => {
  const name = 'web.prod';
  const svc = build(listener({}, { name }));
  assert.match(svc.metadata.name, /^web-prod-[0-9a-f]{10}$/);
  assert.equal(svc.metadata.labels['app.kubernetes.io/instance'], name);
  assert.equal(svc.metadata.ownerReferences[0]?.name, name);
  assert.equal(svc.spec.selector?.[MOUNT_KEY], name);
});

test('a Listener name longer than a label value still gives valid label values', () => {
  const name = 'a'.repeat(100);
  const svc = build(listener({}, { name }));
  assert.ok(svc.metadata.name.length <= 63);
  assert.ok((svc.metadata.labels['app.kubernetes.io/instance'] ?? '').length <= 63);
  assert.ok((svc.spec.selector?.[MOUNT_KEY] ?? '').length <= 63);
});

test('serviceOverrides merge over the generated Service', () => {
  const svc = build(
    listener(),
    cls({
      serviceAnnotations: { a: 'class', b: 'class' },
      serviceOverrides: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { annotations: { b: 'override' }, labels: { extra: 'x' } },
        spec: { ports: [{ port: 8080, nodePort: 30080 }], sessionAffinity: 'ClientIP' },
      },
    }),
  );
  assert.deepEqual(svc.metadata.annotations, { a: 'class', b: 'override' });
  assert.equal(svc.metadata.labels.extra, 'x');
  assert.deepEqual(svc.spec.ports, [{ name: 'http', port: 8080, protocol: 'TCP', nodePort: 30080 }]);
  assert.equal(svc.spec.sessionAffinity, 'ClientIP');
});

test('objectOverrides apply after serviceOverrides, only when apiVersion, kind, namespace and name match', () => {
  const target = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'prod' } };
  const svc = build(
    listener({
      objectOverrides: [
        { ...target, metadata: { ...target.metadata, annotations: { b: 'listener' } } },
        { ...target, metadata: { name: 'web', namespace: 'other', annotations: { c: 'wrong namespace' } } },
        { ...target, metadata: { name: 'other', namespace: 'prod', annotations: { c: 'wrong name' } } },
        { ...target, kind: 'ConfigMap', metadata: { ...target.metadata, annotations: { c: 'wrong kind' } } },
        { ...target, apiVersion: 'v2', metadata: { ...target.metadata, annotations: { c: 'wrong version' } } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', annotations: { c: 'no namespace' } } },
        { ...target, spec: { type: 'LoadBalancer' } },
      ],
    }),
    cls({ serviceAnnotations: { a: 'class', b: 'class' }, serviceOverrides: { metadata: { annotations: { b: 'class override' } } } }),
  );
  assert.deepEqual(svc.metadata.annotations, { a: 'class', b: 'listener' });
  assert.equal(svc.spec.type, 'LoadBalancer');
});

test('objectOverrides match the derived Service name', () => {
  const name = 'web.prod';
  const svcName = build(listener({}, { name })).metadata.name;
  const svc = build(
    listener({ objectOverrides: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: svcName, namespace: 'prod' }, spec: { type: 'NodePort' } }] }, { name }),
  );
  assert.equal(svc.spec.type, 'NodePort');
});

test('overrides can replace the selector whole', () => {
  const svc = build(listener(), cls({ serviceOverrides: { spec: { selector: { custom: 'yes' } } } }));
  assert.deepEqual(svc.spec.selector, { custom: 'yes' });
});

test('overrides cannot move, rename or disown the Service, and status is dropped', () => {
  const svc = build(
    listener(),
    cls({
      serviceOverrides: {
        apiVersion: 'v2',
        kind: 'Other',
        metadata: {
          name: 'elsewhere',
          namespace: 'kube-system',
          ownerReferences: [
            { apiVersion: 'listeners.stackable.tech/v1alpha1', kind: 'Listener', name: 'web', uid: UID, controller: false },
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'other' },
          ],
        },
        status: { loadBalancer: {} },
      },
    }),
  );
  assert.equal(svc.apiVersion, 'v1');
  assert.equal(svc.kind, 'Service');
  assert.equal(svc.metadata.name, 'web');
  assert.equal(svc.metadata.namespace, 'prod');
  assert.deepEqual(svc.metadata.ownerReferences, [
    { apiVersion: 'listeners.stackable.tech/v1alpha1', kind: 'Listener', name: 'web', uid: UID, controller: true, blockOwnerDeletion: true },
    { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'other' },
  ]);
  assert.equal('status' in svc, false);
});

test('overrides cannot hide the Service from the controller\'s cache: the managed-by label stays ours', () => {
  // The controller's Service and EndpointSlice caches select on this label: a Service without it
  // would look missing, and every reconcile would GET it and apply it again.
  const managedBy = 'app.kubernetes.io/managed-by';
  const fromClass = build(listener(), cls({ serviceOverrides: { metadata: { labels: { [managedBy]: 'someone-else', extra: 'kept' } } } }));
  assert.equal(fromClass.metadata.labels[managedBy], 'listeners.stackable.tech_listener');
  assert.equal(fromClass.metadata.labels.extra, 'kept', 'other labels of the override still apply');
  const fromListener = build(listener({
    objectOverrides: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'prod', labels: { [managedBy]: 'helm' } } }],
  }));
  assert.equal(fromListener.metadata.labels[managedBy], 'listeners.stackable.tech_listener');
});

test('overrides that break the shape are reported', () => {
  const result = buildService(listener(), cls({ serviceOverrides: { metadata: { labels: 'x' }, spec: [] } }));
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.match(result.error, /metadata\.labels/);
    assert.match(result.error, /spec something else than an object/);
  }
});

test('the default serviceOverrides change nothing', () => {
  const plain = build(listener(), cls());
  const withDefault = build(listener(), cls({ serviceOverrides: { apiVersion: 'v1', kind: 'Service', metadata: {} } }));
  assert.deepEqual(withDefault, plain);
});

test('building does not modify the Listener or the class', () => {
  const l = listener({ objectOverrides: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'prod', labels: { x: 'y' } } }] });
  const c = cls({ serviceAnnotations: { a: 'b' }, serviceOverrides: { metadata: { labels: { z: '1' } } } });
  const [lCopy, cCopy] = [structuredClone(l), structuredClone(c)];
  const svc = build(l, c);
  svc.metadata.annotations.q = 'r';
  svc.metadata.labels.q = 'r';
  assert.deepEqual(l, lCopy);
  assert.deepEqual(c, cCopy);
});

test('the same input always gives the same Service', () => {
  assert.deepEqual(build(listener()), build(listener()));
});
