import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ListenerClassSpec } from '../crd/listener-class.ts';
import type { V1EndpointSlice, V1PersistentVolume } from '@kubernetes/client-node';
import type { Node, Plain, Service } from './kube.ts';

type ApiPersistentVolume = Plain<V1PersistentVolume>;
type ApiEndpointSlice = Plain<V1EndpointSlice>;
import { backingNodeNames, buildListenerStatus } from './status.ts';

const DOMAIN = 'cluster.local';

function service(spec: Service['spec'] = {}, status: Service['status'] = {}): Service {
  return {
    metadata: { name: 'web', namespace: 'prod' },
    spec: {
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 },
        { name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 },
      ],
      clusterIP: '10.0.0.10',
      clusterIPs: ['10.0.0.10'],
      ...spec,
    },
    status,
  };
}

function node(name: string, ...addresses: [string, string][]): Node {
  return { metadata: { name }, status: { addresses: addresses.map(([type, address]) => ({ type, address })) } };
}

function status(spec: Partial<ListenerClassSpec> & Pick<ListenerClassSpec, 'serviceType'>, svc: Service, nodes: Node[] = []) {
  return buildListenerStatus({ listenerClass: { spec }, service: svc, nodes, clusterDomain: DOMAIN });
}

const servicePorts = { http: 80, https: 443 };
const nodePorts = { http: 30080, https: 30443 };

test('ClusterIP, default preference (Hostname): the Service FQDN with the Service ports', () => {
  assert.deepEqual(status({ serviceType: 'ClusterIP' }, service()), {
    serviceName: 'web',
    ingressAddresses: [{ address: 'web.prod.svc.cluster.local', addressType: 'Hostname', ports: servicePorts }],
  });
});

test('ClusterIP uses the given cluster domain', () => {
  const s = buildListenerStatus({ listenerClass: { spec: { serviceType: 'ClusterIP' } }, service: service(), nodes: [], clusterDomain: 'example.org' });
  assert.equal(s.ingressAddresses?.[0]?.address, 'web.prod.svc.example.org');
});

test('ClusterIP, IP preferred: every cluster IP (dual-stack)', () => {
  const s = status({ serviceType: 'ClusterIP', preferredAddressType: 'IP' }, service({ clusterIPs: ['10.0.0.10', 'fd00::10'] }));
  assert.deepEqual(s.ingressAddresses, [
    { address: '10.0.0.10', addressType: 'IP', ports: servicePorts },
    { address: 'fd00::10', addressType: 'IP', ports: servicePorts },
  ]);
  assert.equal('nodePorts' in s, false);
});

test('ClusterIP, IP preferred, only clusterIP set: that IP', () => {
  const s = status({ serviceType: 'ClusterIP', preferredAddressType: 'IP' }, service({ clusterIPs: undefined, clusterIP: '10.0.0.11' }));
  assert.deepEqual(s.ingressAddresses?.map((a) => a.address), ['10.0.0.11']);
});

test('ClusterIP, IP preferred, headless: falls back to the FQDN', () => {
  const s = status({ serviceType: 'ClusterIP', preferredAddressType: 'IP' }, service({ clusterIP: 'None', clusterIPs: ['None'] }));
  assert.deepEqual(s.ingressAddresses, [{ address: 'web.prod.svc.cluster.local', addressType: 'Hostname', ports: servicePorts }]);
});

test('LoadBalancer without ingress yet: no addresses', () => {
  assert.deepEqual(status({ serviceType: 'LoadBalancer' }, service()), { serviceName: 'web', ingressAddresses: [] });
});

test('LoadBalancer: one address per ingress entry, preferred kind with fallback, Service ports', () => {
  const svc = service({}, { loadBalancer: { ingress: [{ ip: '5.6.7.8', hostname: 'lb.example.com' }, { ip: '5.6.7.9' }, { hostname: 'other.example.com' }, {}] } });
  assert.deepEqual(status({ serviceType: 'LoadBalancer' }, svc).ingressAddresses, [
    { address: 'lb.example.com', addressType: 'Hostname', ports: servicePorts },
    { address: '5.6.7.9', addressType: 'IP', ports: servicePorts },
    { address: 'other.example.com', addressType: 'Hostname', ports: servicePorts },
  ]);
  assert.deepEqual(
    status({ serviceType: 'LoadBalancer', preferredAddressType: 'IP' }, svc).ingressAddresses?.map((a) => a.address),
    ['5.6.7.8', '5.6.7.9', 'other.example.com'],
  );
});

test('NodePort: one address per backing Node (IP by default), node ports, nodePorts set', () => {
  const nodes = [
    node('b', ['InternalIP', '10.1.0.2'], ['Hostname', 'b']),
    node('a', ['InternalIP', '10.1.0.1'], ['ExternalIP', '1.2.3.1'], ['Hostname', 'a']),
  ];
  assert.deepEqual(status({ serviceType: 'NodePort' }, service(), nodes), {
    serviceName: 'web',
    ingressAddresses: [
      { address: '1.2.3.1', addressType: 'IP', ports: nodePorts },
      { address: '10.1.0.2', addressType: 'IP', ports: nodePorts },
    ],
    nodePorts,
  });
});

test('NodePort, Hostname preferred: Node hostnames, IP for a Node without one', () => {
  const nodes = [node('a', ['InternalIP', '10.1.0.1'], ['Hostname', 'a.example']), node('b', ['InternalIP', '10.1.0.2'])];
  assert.deepEqual(
    status({ serviceType: 'NodePort', preferredAddressType: 'Hostname' }, service(), nodes).ingressAddresses?.map((a) => [a.address, a.addressType]),
    [['a.example', 'Hostname'], ['10.1.0.2', 'IP']],
  );
});

test('NodePort: Nodes with only hostnames still contribute', () => {
  const s = status({ serviceType: 'NodePort' }, service(), [node('a', ['Hostname', 'a'])]);
  assert.deepEqual(s.ingressAddresses, [{ address: 'a', addressType: 'Hostname', ports: nodePorts }]);
});

test('NodePort: Nodes without any address contribute nothing; no Nodes, no addresses', () => {
  assert.deepEqual(status({ serviceType: 'NodePort' }, service(), [node('a')]).ingressAddresses, []);
  assert.deepEqual(status({ serviceType: 'NodePort' }, service(), []), { serviceName: 'web', ingressAddresses: [], nodePorts });
});

test('NodePort: dual-stack Nodes add their second family after the first', () => {
  const s = status({ serviceType: 'NodePort' }, service(), [node('a', ['InternalIP', '10.1.0.1'], ['InternalIP', 'fd00::1'])]);
  assert.deepEqual(s.ingressAddresses?.map((a) => a.address), ['10.1.0.1', 'fd00::1']);
});

test('NodePort: Nodes sharing one address report it once', () => {
  const s = status({ serviceType: 'NodePort' }, service(), [node('a', ['ExternalIP', '1.2.3.4']), node('b', ['ExternalIP', '1.2.3.4'])]);
  assert.deepEqual(s.ingressAddresses?.map((a) => a.address), ['1.2.3.4']);
});

test('NodePort before node ports are allocated: empty port maps', () => {
  const svc = service({ ports: [{ name: 'http', port: 80 }] });
  const s = status({ serviceType: 'NodePort' }, svc, [node('a', ['InternalIP', '10.1.0.1'])]);
  assert.deepEqual(s.nodePorts, {});
  assert.deepEqual(s.ingressAddresses?.[0]?.ports, {});
});

test('unnamed ports and a Service without ports give empty port maps', () => {
  assert.deepEqual(status({ serviceType: 'ClusterIP' }, service({ ports: [{ port: 80 }] })).ingressAddresses?.[0]?.ports, {});
  assert.deepEqual(status({ serviceType: 'ClusterIP' }, service({ ports: undefined })).ingressAddresses?.[0]?.ports, {});
  assert.deepEqual(status({ serviceType: 'ClusterIP' }, service({ ports: [] })).ingressAddresses?.[0]?.ports, {});
});

test('the class type decides, not the Service type', () => {
  const s = status({ serviceType: 'LoadBalancer' }, service({ type: 'NodePort' }), [node('a', ['InternalIP', '10.1.0.1'])]);
  assert.deepEqual(s.ingressAddresses, []);
  assert.equal('nodePorts' in s, false);
});

test('every address has its own port map (no shared objects)', () => {
  const s = status({ serviceType: 'NodePort' }, service(), [node('a', ['InternalIP', '10.1.0.1']), node('b', ['InternalIP', '10.1.0.2'])]);
  const [first, second] = s.ingressAddresses ?? [];
  assert.ok(first && second);
  assert.notEqual(first.ports, second.ports);
  assert.notEqual(first.ports, s.nodePorts);
});

function pv(...terms: { key: string; operator: string; values?: string[] }[][]): ApiPersistentVolume {
  return {
    metadata: { name: 'pv' },
    spec: { nodeAffinity: { required: { nodeSelectorTerms: terms.map((matchExpressions) => ({ matchExpressions })) } } },
  };
}

function slice(...endpoints: [string | undefined, boolean | undefined][]): ApiEndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name: 's' },
    endpoints: endpoints.map(([nodeName, ready]) => ({
      addresses: ['10.2.0.1'],
      ...(nodeName === undefined ? {} : { nodeName }),
      conditions: ready === undefined ? {} : { ready },
    })),
  };
}

const HOST = 'listeners.stackable.tech/hostname';

// Whole API objects, as the CSI side reads them: the decisions' narrow types accept them.
const backing: [string, ApiPersistentVolume[], ApiEndpointSlice[], string[]][] = [
  ['nothing', [], [], []],
  ['pinned PVs', [pv([{ key: HOST, operator: 'In', values: ['n2'] }]), pv([{ key: HOST, operator: 'In', values: ['n1', 'n3'] }])], [], ['n1', 'n2', 'n3']],
  [
    'only the hostname key with In counts',
    [pv([{ key: 'kubernetes.io/hostname', operator: 'In', values: ['x'] }, { key: HOST, operator: 'NotIn', values: ['y'] }, { key: HOST, operator: 'In', values: ['n1'] }])],
    [],
    ['n1'],
  ],
  ['every term counts', [pv([{ key: HOST, operator: 'In', values: ['n1'] }], [{ key: HOST, operator: 'In', values: ['n2'] }])], [], ['n1', 'n2']],
  ['PVs without affinity', [{ metadata: { name: 'pv' } }, { metadata: { name: 'pv' }, spec: {} }, pv([{ key: HOST, operator: 'In' }])], [], []],
  ['ready endpoints (ready unset counts as ready)', [], [slice(['n2', true], ['n1', undefined])], ['n1', 'n2']],
  ['not-ready endpoints and endpoints without Node are skipped', [], [slice(['n1', false], [undefined, true])], []],
  ['slices without endpoints', [], [{ addressType: 'IPv4', endpoints: [] }, { addressType: 'IPv4' }], []],
  [
    'PV and endpoint Nodes united, sorted, without repeats',
    [pv([{ key: HOST, operator: 'In', values: ['n3', 'n1'] }])],
    [slice(['n1', true], ['n2', true]), slice(['n2', true])],
    ['n1', 'n2', 'n3'],
  ],
];

for (const [what, pvs, slices, expected] of backing) {
  test(`backingNodeNames: ${what}`, () => {
    assert.deepEqual(backingNodeNames(pvs, slices), expected);
  });
}
