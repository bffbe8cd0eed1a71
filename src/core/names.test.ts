import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isDns1035Label,
  isDns1123Label,
  isLabelValue,
  labelValueFor,
  mountLabel,
  mountLabelKey,
  pvListenerLabels,
  serviceNameFor,
} from './names.ts';

const long = (n: number, c = 'a') => c.repeat(n);

test('valid Service names are kept as they are', () => {
  for (const name of ['a', 'web', 'kafka-broker-default-0-listener', long(63), 'a-1']) {
    assert.equal(serviceNameFor(name), name);
  }
});

const derived: [string, string][] = [
  ['too long', long(64)],
  ['much too long', `${long(100)}.${long(100)}`],
  ['with dots', 'web.prod'],
  ['starting with a digit', '0web'],
  ['only digits', '12345'],
  ['only dots and digits', '1.2.3'],
  ['ending in a dash after the cut', `${long(51)}-${long(20)}`],
  ['with upper case (not valid for Kubernetes, but still answered)', 'Web'],
];

for (const [what, name] of derived) {
  test(`a Listener name ${what} gets a valid, stable Service name`, () => {
    const svc = serviceNameFor(name);
    assert.ok(isDns1035Label(svc), `${svc} is not a DNS-1035 label`);
    assert.equal(serviceNameFor(name), svc);
    assert.notEqual(svc, name);
    assert.match(svc, /-[0-9a-f]{10}$/);
  });
}

test('derived Service names keep a readable prefix', () => {
  assert.match(serviceNameFor('web.prod'), /^web-prod-[0-9a-f]{10}$/);
  assert.match(serviceNameFor('0web'), /^web-[0-9a-f]{10}$/);
  assert.match(serviceNameFor('12345'), /^listener-[0-9a-f]{10}$/);
  assert.equal(serviceNameFor(long(100)).length, 63);
});

test('names that share a long prefix get different Service names', () => {
  assert.notEqual(serviceNameFor(`${long(70)}x`), serviceNameFor(`${long(70)}y`));
  assert.notEqual(serviceNameFor('a.b'), serviceNameFor('a-b.'));
});

test('label values: names up to 63 characters are kept, longer ones derived', () => {
  assert.equal(labelValueFor('web.prod'), 'web.prod');
  assert.equal(labelValueFor(long(63)), long(63));
  const value = labelValueFor(`${long(51)}.${long(40)}`);
  assert.ok(isLabelValue(value));
  assert.equal(value.length, 62); // the '.' at the cut is dropped
  assert.equal(labelValueFor(long(64)).length, 63);
  assert.notEqual(labelValueFor(`${long(64)}x`), labelValueFor(`${long(64)}y`));
});

test('mount label: singular prefix, UID without dashes, name as value', () => {
  const uid = '0b7a4f3e-9c1d-4e5f-8a6b-1c2d3e4f5a6b';
  assert.equal(mountLabelKey(uid), 'listener.stackable.tech/mnt.0b7a4f3e9c1d4e5f8a6b1c2d3e4f5a6b');
  assert.ok(mountLabelKey(uid).length <= 63);
  assert.deepEqual(mountLabel('web', uid), { key: mountLabelKey(uid), value: 'web' });
  assert.ok(isLabelValue(mountLabel(long(200), uid).value));
});

test('PV labels name the Listener by namespace and name', () => {
  assert.deepEqual(pvListenerLabels('prod', 'web'), {
    'listeners.stackable.tech/listener-namespace': 'prod',
    'listeners.stackable.tech/listener-name': 'web',
  });
  assert.equal(pvListenerLabels('prod', long(80))['listeners.stackable.tech/listener-name'], labelValueFor(long(80)));
});

const validity: [string, boolean, boolean, boolean][] = [
  // value, DNS-1035, DNS-1123, label value
  ['web', true, true, true],
  ['0web', false, true, true],
  ['web-', false, false, false],
  ['-web', false, false, false],
  ['Web', false, false, true],
  ['w.b', false, false, true],
  ['w_b', false, false, true],
  ['', false, false, true],
  [long(63), true, true, true],
  [long(64), false, false, false],
];

for (const [value, dns1035, dns1123, label] of validity) {
  test(`validity of "${value.length > 10 ? `${value.length} chars` : value}"`, () => {
    assert.equal(isDns1035Label(value), dns1035);
    assert.equal(isDns1123Label(value), dns1123);
    assert.equal(isLabelValue(value), label);
  });
}
