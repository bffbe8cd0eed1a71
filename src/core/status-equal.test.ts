import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ListenerStatus } from '../crd/listener.ts';
import { jsonEqual, statusEqual } from './status-equal.ts';

const status: ListenerStatus = {
  serviceName: 'web',
  ingressAddresses: [
    { address: '10.0.0.1', addressType: 'IP', ports: { http: 30080, https: 30443 } },
    { address: '10.0.0.2', addressType: 'IP', ports: { http: 30080, https: 30443 } },
  ],
  nodePorts: { http: 30080, https: 30443 },
};

const cases: [string, ListenerStatus | null | undefined, ListenerStatus, boolean][] = [
  ['identical', status, status, true],
  ['a deep copy', structuredClone(status), status, true],
  [
    'map keys in another order',
    {
      nodePorts: { https: 30443, http: 30080 },
      serviceName: 'web',
      ingressAddresses: status.ingressAddresses?.map((a) => ({ ports: { https: 30443, http: 30080 }, addressType: a.addressType, address: a.address })),
    },
    status,
    true,
  ],
  ['addresses in another order', { ...status, ingressAddresses: [...(status.ingressAddresses ?? [])].reverse() }, status, false],
  ['another port number', { ...status, nodePorts: { http: 30080, https: 1 } }, status, false],
  ['an extra port', { ...status, nodePorts: { http: 30080, https: 30443, x: 1 } }, status, false],
  ['a missing address', { ...status, ingressAddresses: status.ingressAddresses?.slice(1) }, status, false],
  ['another address type', { ...status, ingressAddresses: [{ address: 'web', addressType: 'Hostname', ports: {} }] }, { ...status, ingressAddresses: [{ address: 'web', addressType: 'IP', ports: {} }] }, false],
  ['stale nodePorts after a class change', status, { serviceName: 'web', ingressAddresses: status.ingressAddresses ?? [] }, false],
  ['null nodePorts equals absent', { serviceName: 'web', ingressAddresses: [], nodePorts: null }, { serviceName: 'web', ingressAddresses: [] }, true],
  ['no status yet', undefined, status, false],
  ['null status', null, { serviceName: 'web', ingressAddresses: [] }, false],
  ['no status and nothing to say', undefined, {}, true],
  ['empty list differs from absent', { serviceName: 'web' }, { serviceName: 'web', ingressAddresses: [] }, false],
  ['another service name', { ...status, serviceName: 'other' }, status, false],
];

for (const [what, current, desired, expected] of cases) {
  test(`statusEqual: ${what} → ${expected}`, () => {
    assert.equal(statusEqual(current, desired), expected);
  });
}

test('jsonEqual on scalars and shapes', () => {
  assert.equal(jsonEqual(1, 1), true);
  assert.equal(jsonEqual(1, '1'), false);
  assert.equal(jsonEqual(null, undefined), true);
  assert.equal(jsonEqual({}, []), false);
  assert.equal(jsonEqual([], []), true);
  assert.equal(jsonEqual([1, 2], [1]), false);
  assert.equal(jsonEqual({ a: { b: [1, { c: null }] } }, { a: { b: [1, {}] } }), true);
  assert.equal(jsonEqual(0, null), false);
  assert.equal(jsonEqual(false, undefined), false);
});

test('statusEqual: conditions of other types belong to other field managers and are not compared', () => {
  const ready = { type: 'Ready', status: 'True' as const, reason: 'AddressesAvailable', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' };
  const theirs = { type: 'example.com/Checked', status: 'False' as const, reason: 'R', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' };
  assert.equal(statusEqual({ ...status, conditions: [theirs, ready] }, { ...status, conditions: [ready] }), true);
  assert.equal(statusEqual({ ...status, conditions: [theirs] }, { ...status, conditions: [ready] }), false, 'our Ready is missing');
  assert.equal(statusEqual({ ...status, conditions: [theirs, { ...ready, status: 'False' }] }, { ...status, conditions: [ready] }), false);
});
