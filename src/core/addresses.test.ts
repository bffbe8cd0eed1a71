import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ListenerClassSpec } from '../crd/listener-class.ts';
import type { Node } from './kube.ts';
import { ingressAddress, nodeAddress, nodeAddresses, pickAddress, resolvePreferredAddressType } from './addresses.ts';

const resolve: [ListenerClassSpec['serviceType'], ListenerClassSpec['preferredAddressType'], string][] = [
  ['NodePort', undefined, 'IP'],
  ['NodePort', 'HostnameConservative', 'IP'],
  ['LoadBalancer', 'HostnameConservative', 'Hostname'],
  ['ClusterIP', 'HostnameConservative', 'Hostname'],
  ['ClusterIP', undefined, 'Hostname'],
  ['NodePort', 'Hostname', 'Hostname'],
  ['ClusterIP', 'IP', 'IP'],
  ['LoadBalancer', 'IP', 'IP'],
];

for (const [serviceType, preferredAddressType, expected] of resolve) {
  test(`resolvePreferredAddressType: ${serviceType} + ${preferredAddressType ?? 'default'} → ${expected}`, () => {
    assert.equal(resolvePreferredAddressType({ serviceType, preferredAddressType }), expected);
  });
}

test('pickAddress: preferred kind, else the other, else nothing', () => {
  assert.deepEqual(pickAddress({ ip: '1.2.3.4', hostname: 'h' }, 'IP'), { address: '1.2.3.4', addressType: 'IP' });
  assert.deepEqual(pickAddress({ ip: '1.2.3.4', hostname: 'h' }, 'Hostname'), { address: 'h', addressType: 'Hostname' });
  assert.deepEqual(pickAddress({ hostname: 'h' }, 'IP'), { address: 'h', addressType: 'Hostname' });
  assert.deepEqual(pickAddress({ ip: '1.2.3.4' }, 'Hostname'), { address: '1.2.3.4', addressType: 'IP' });
  assert.deepEqual(pickAddress({ ip: '', hostname: '' }, 'IP'), undefined);
  assert.deepEqual(pickAddress({}, 'Hostname'), undefined);
});

test('ingressAddress: ip and/or hostname of a load-balancer ingress', () => {
  assert.deepEqual(ingressAddress({ ip: '5.6.7.8' }, 'Hostname'), { address: '5.6.7.8', addressType: 'IP' });
  assert.deepEqual(ingressAddress({ hostname: 'lb.example.com' }, 'IP'), { address: 'lb.example.com', addressType: 'Hostname' });
  assert.deepEqual(ingressAddress({ ip: '5.6.7.8', hostname: 'lb.example.com' }, 'Hostname'), {
    address: 'lb.example.com',
    addressType: 'Hostname',
  });
  assert.equal(ingressAddress({}, 'IP'), undefined);
});

function node(...addresses: [string, string][]): Node {
  return { metadata: { name: 'n' }, status: { addresses: addresses.map(([type, address]) => ({ type, address })) } };
}

const single: [string, Node, 'IP' | 'Hostname', [string, string] | undefined][] = [
  ['ExternalIP beats InternalIP', node(['InternalIP', '10.1.2.3'], ['ExternalIP', '1.2.3.4']), 'IP', ['1.2.3.4', 'IP']],
  ['InternalIP when no ExternalIP', node(['InternalIP', '10.1.2.3'], ['Hostname', 'node-0']), 'IP', ['10.1.2.3', 'IP']],
  ['hostname when preferred', node(['Hostname', 'node-0'], ['ExternalIP', '1.2.3.4']), 'Hostname', ['node-0', 'Hostname']],
  ['IP when no hostname', node(['InternalIP', '10.1.2.3']), 'Hostname', ['10.1.2.3', 'IP']],
  ['hostname when only hostnames', node(['Hostname', 'first'], ['Hostname', 'second']), 'IP', ['first', 'Hostname']],
  ['the first address of a type', node(['InternalIP', '10.0.0.1'], ['InternalIP', '10.0.0.2']), 'IP', ['10.0.0.1', 'IP']],
  ['InternalDNS/ExternalDNS are not hostnames', node(['InternalDNS', 'a.internal'], ['ExternalDNS', 'a.example']), 'Hostname', undefined],
  ['no addresses', node(), 'IP', undefined],
  ['no status', { metadata: { name: 'n' } }, 'IP', undefined],
];

for (const [what, n, preferred, expected] of single) {
  test(`nodeAddress: ${what}`, () => {
    const picked = nodeAddress(n, preferred);
    assert.deepEqual(picked, expected && { address: expected[0], addressType: expected[1] });
  });
}

const dual: [string, Node, 'IP' | 'Hostname', string[]][] = [
  ['single-stack: one address', node(['InternalIP', '10.0.0.1']), 'IP', ['10.0.0.1']],
  ['dual-stack InternalIPs: upstream pick first, then IPv6', node(['InternalIP', '10.0.0.1'], ['InternalIP', 'fd00::1']), 'IP', ['10.0.0.1', 'fd00::1']],
  ['IPv6 first on the Node: IPv6 first', node(['InternalIP', 'fd00::1'], ['InternalIP', '10.0.0.1']), 'IP', ['fd00::1', '10.0.0.1']],
  [
    'second family prefers ExternalIP too',
    node(['ExternalIP', '1.2.3.4'], ['InternalIP', '10.0.0.1'], ['InternalIP', 'fd00::1'], ['ExternalIP', '2001:db8::1']),
    'IP',
    ['1.2.3.4', '2001:db8::1'],
  ],
  [
    'second family falls back to InternalIP',
    node(['ExternalIP', '1.2.3.4'], ['InternalIP', '10.0.0.1'], ['InternalIP', 'fd00::1']),
    'IP',
    ['1.2.3.4', 'fd00::1'],
  ],
  ['a hostname brings no second address', node(['Hostname', 'node-0'], ['InternalIP', '10.0.0.1'], ['InternalIP', 'fd00::1']), 'Hostname', ['node-0']],
  ['an IP fallback for Hostname is dual-stack too', node(['InternalIP', '10.0.0.1'], ['InternalIP', 'fd00::1']), 'Hostname', ['10.0.0.1', 'fd00::1']],
  ['no addresses', node(), 'IP', []],
];

for (const [what, n, preferred, expected] of dual) {
  test(`nodeAddresses: ${what}`, () => {
    const picked = nodeAddresses(n, preferred);
    assert.deepEqual(picked.map((a) => a.address), expected);
    assert.deepEqual(picked[0], nodeAddress(n, preferred));
  });
}
