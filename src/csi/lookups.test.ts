import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeListener, decodeListenerClass, resolveClass, type ClassLookup } from './lookups.ts';
import { ok } from './result.ts';

const cls = { apiVersion: 'listeners.stackable.tech/v1alpha1', kind: 'ListenerClass', metadata: { name: 'c' }, spec: { serviceType: 'NodePort' } };
const lookup: ClassLookup = (name) => Promise.resolve(name === 'c' ? decodeListenerClass(cls, name) : ok(undefined));
const listener = { kind: 'Listener', namespace: 'ns', name: 'l' };

test('resolveClass: found (defaults filled in), missing, missing through a Listener, no className', async () => {
  const found = await resolveClass(lookup, 'c');
  assert.ok(found.ok);
  assert.equal(found.value.spec.preferredAddressType, 'HostnameConservative', 'schema defaults are applied');
  assert.deepEqual(await resolveClass(lookup, 'nope'), { ok: false, error: { kind: 'ListenerClassNotFound', listenerClass: { kind: 'ListenerClass', name: 'nope' }, via: undefined } });
  assert.deepEqual(await resolveClass(lookup, 'nope', listener), { ok: false, error: { kind: 'ListenerClassNotFound', listenerClass: { kind: 'ListenerClass', name: 'nope' }, via: listener } });
  for (const className of [undefined, null, '']) {
    assert.deepEqual(await resolveClass(lookup, className, listener), { ok: false, error: { kind: 'ListenerHasNoClass', listener } });
  }
});

test('resolveClass passes a lookup failure through', async () => {
  const failing: ClassLookup = () => Promise.resolve({ ok: false, error: { kind: 'GetObject', ref: { kind: 'ListenerClass', name: 'c' }, cause: new Error('down') } });
  const r = await resolveClass(failing, 'c');
  assert.ok(!r.ok && r.error.kind === 'GetObject');
});

test('decoding: an object that does not fit its schema is InvalidObject naming it; undefined stays undefined', () => {
  const bad = decodeListenerClass({ metadata: { name: 'c' }, spec: { serviceType: 'Bogus' } }, 'c');
  assert.ok(!bad.ok && bad.error.kind === 'InvalidObject');
  assert.deepEqual(bad.error.ref, { kind: 'ListenerClass', name: 'c' });
  assert.match(bad.error.reason, /serviceType/);
  assert.deepEqual(decodeListenerClass(undefined, 'c'), { ok: true, value: undefined });
  const badListener = decodeListener({ metadata: { name: 'l', namespace: 'ns' }, spec: { ports: [{ name: 'x', port: 'eighty' }] } }, listener);
  assert.ok(!badListener.ok && badListener.error.kind === 'InvalidObject');
  assert.ok(decodeListener({ metadata: { name: 'l', namespace: 'ns' }, spec: {} }, listener).ok);
});
