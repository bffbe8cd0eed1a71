import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conditionTime, noAddressReason, ownConditions } from './conditions.ts';

const base = { reason: 'AddressesAvailable', message: 'ok', generation: 3, now: '2026-01-01T00:00:10Z' };

test('a first Ready condition takes the current time', () => {
  assert.deepEqual(ownConditions({ ...base, previous: undefined, ready: true }), [
    { type: 'Ready', status: 'True', reason: 'AddressesAvailable', message: 'ok', lastTransitionTime: '2026-01-01T00:00:10Z', observedGeneration: 3 },
  ]);
});

test('an unchanged status keeps its transition time; a flip takes the new one', () => {
  const previous = { conditions: [{ type: 'Ready', status: 'True' as const, reason: 'X', message: 'm', lastTransitionTime: '2025-01-01T00:00:00Z' }] };
  assert.equal(ownConditions({ ...base, previous, ready: true })[0]?.lastTransitionTime, '2025-01-01T00:00:00Z');
  const flipped = ownConditions({ ...base, previous, ready: false, reason: 'LoadBalancerPending' })[0];
  assert.equal(flipped?.lastTransitionTime, '2026-01-01T00:00:10Z');
  assert.equal(flipped?.status, 'False');
  assert.equal(flipped?.reason, 'LoadBalancerPending');
});

test('only Ready is ours (others\' conditions are left to the API server\'s merge), no generation means no field', () => {
  const previous = { conditions: [
    { type: 'Other', status: 'Unknown' as const, reason: 'R', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' },
    { type: 'Ready', status: 'False' as const, reason: 'R', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' },
  ] };
  const out = ownConditions({ ...base, previous, ready: true, generation: undefined });
  assert.deepEqual(out.map((c) => c.type), ['Ready']);
  assert.equal('observedGeneration' in (out[0] ?? {}), false);
});

test('reasons per service type, and condition times in seconds', () => {
  assert.equal(noAddressReason('LoadBalancer').reason, 'LoadBalancerPending');
  assert.equal(noAddressReason('NodePort').reason, 'NoBackingNodes');
  assert.equal(noAddressReason('ClusterIP').reason, 'NoAddresses');
  assert.equal(conditionTime(new Date('2026-02-03T04:05:06.789Z')), '2026-02-03T04:05:06Z');
});
