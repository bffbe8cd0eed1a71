import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describeError } from './errors.ts';
import { isDnsLabel, isDnsSubdomain, parseListenerSelector, parsePodInfo } from './volume-context.ts';

const pvc = { kind: 'PersistentVolumeClaim', namespace: 'kafka', name: 'listener-broker-0' };
const CLASS = 'listeners.stackable.tech/listener-class';
const NAME = 'listeners.stackable.tech/listener-name';

test('listener-class annotation → class selector', () => {
  assert.deepEqual(parseListenerSelector({ [CLASS]: 'external-unstable', other: 'x' }, pvc), { ok: true, value: { kind: 'class', className: 'external-unstable' } });
});

test('listener-name annotation → name selector', () => {
  assert.deepEqual(parseListenerSelector({ [NAME]: 'kafka-bootstrap' }, pvc), { ok: true, value: { kind: 'name', listenerName: 'kafka-bootstrap' } });
});

test('both or neither annotation → an error naming the PVC and the reason', () => {
  for (const [annotations, reason] of [
    [{ [CLASS]: 'a', [NAME]: 'b' }, 'both'],
    [{}, 'neither'],
    [undefined, 'neither'],
    [null, 'neither'],
  ] as const) {
    const r = parseListenerSelector(annotations, pvc);
    assert.ok(!r.ok);
    assert.equal(r.error.kind, 'InvalidListenerSelector');
    const message = describeError(r.error);
    assert.ok(message.includes('PersistentVolumeClaim "kafka/listener-broker-0"'), message);
    assert.ok(message.includes(reason), message);
  }
});

test('empty, non-string and non-DNS values are refused', () => {
  for (const value of ['', 'Upper', '../secrets', 'a/b', 'x'.repeat(254), 7, null]) {
    const r = parseListenerSelector({ [CLASS]: value }, pvc);
    assert.ok(!r.ok, `refuses ${String(value)}`);
    assert.ok(describeError(r.error).includes(CLASS));
  }
});

test('inherited properties are not annotations', () => {
  const annotations = Object.create({ [CLASS]: 'from-prototype' }) as Record<string, string>;
  assert.ok(!parseListenerSelector(annotations, pvc).ok);
});

test('pod info from the volume context', () => {
  const ctx = { 'csi.storage.k8s.io/pod.name': 'web-0', 'csi.storage.k8s.io/pod.namespace': 'ns', 'csi.storage.k8s.io/pod.uid': 'u-1', [CLASS]: 'c' };
  assert.deepEqual(parsePodInfo(ctx, pvc), { ok: true, value: { name: 'web-0', namespace: 'ns', uid: 'u-1' } });
  const noUid = parsePodInfo({ 'csi.storage.k8s.io/pod.name': 'web-0', 'csi.storage.k8s.io/pod.namespace': 'ns' }, pvc);
  assert.deepEqual(noUid, { ok: true, value: { name: 'web-0', namespace: 'ns' } });
});

test('pod info errors say which key is wrong', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ 'csi.storage.k8s.io/pod.namespace': 'ns' }, 'pod.name is missing'],
    [{ 'csi.storage.k8s.io/pod.name': 'p' }, 'pod.namespace is missing'],
    [{ 'csi.storage.k8s.io/pod.name': 'P!', 'csi.storage.k8s.io/pod.namespace': 'ns' }, 'pod.name "P!" is not a valid object name'],
    [{ 'csi.storage.k8s.io/pod.name': 'p', 'csi.storage.k8s.io/pod.namespace': 'a.b' }, 'pod.namespace "a.b" is not a valid namespace'],
    [{ 'csi.storage.k8s.io/pod.name': 'p', 'csi.storage.k8s.io/pod.namespace': 'ns', 'csi.storage.k8s.io/pod.uid': '' }, 'pod.uid must be a non-empty string'],
  ];
  for (const [ctx, expected] of cases) {
    const r = parsePodInfo(ctx, { kind: 'PersistentVolume', name: 'pv-1' });
    assert.ok(!r.ok);
    const message = describeError(r.error);
    assert.ok(message.includes(expected) && message.includes('PersistentVolume "pv-1"'), message);
  }
});

test('DNS names', () => {
  assert.ok(isDnsLabel('a-1'));
  assert.ok(!isDnsLabel('a.b'));
  assert.ok(!isDnsLabel('x'.repeat(64)));
  assert.ok(isDnsSubdomain('a.b-c.d'));
  assert.ok(!isDnsSubdomain('a..b'));
  assert.ok(!isDnsSubdomain('-a'));
  assert.ok(!isDnsSubdomain(''));
});

test('property: any annotation map yields a selector or a typed error, never a throw', () => {
  const key = fc.oneof(fc.constantFrom(CLASS, NAME, 'csi.storage.k8s.io/pod.name', 'csi.storage.k8s.io/pod.namespace', '__proto__'), fc.string());
  fc.assert(
    fc.property(fc.dictionary(key, fc.oneof(fc.string(), fc.anything())), (annotations) => {
      const selector = parseListenerSelector(annotations, pvc);
      if (selector.ok) {
        const value = selector.value.kind === 'class' ? selector.value.className : selector.value.listenerName;
        assert.ok(isDnsSubdomain(value));
      } else {
        assert.equal(typeof describeError(selector.error), 'string');
      }
      const pod = parsePodInfo(annotations, pvc);
      if (pod.ok) assert.ok(isDnsSubdomain(pod.value.name) && isDnsLabel(pod.value.namespace));
    }),
    { numRuns: 3000 },
  );
});
