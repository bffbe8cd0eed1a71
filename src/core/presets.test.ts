import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListenerClass } from '../crd/parse.ts';
import { DEFAULT_LISTENER_CLASS_PRESET, isListenerClassPreset, LISTENER_CLASS_PRESETS, presetClasses } from './presets.ts';

function table(preset: Parameters<typeof presetClasses>[0]) {
  return presetClasses(preset).map((c) => [c.metadata.name, c.spec.serviceType, c.spec.pinnedNodePorts]);
}

test('ephemeral-nodes (the default): external-stable is a LoadBalancer', () => {
  assert.equal(DEFAULT_LISTENER_CLASS_PRESET, 'ephemeral-nodes');
  assert.deepEqual(table('ephemeral-nodes'), [
    ['cluster-internal', 'ClusterIP', undefined],
    ['external-unstable', 'NodePort', false],
    ['external-stable', 'LoadBalancer', undefined],
  ]);
});

test('stable-nodes: external-stable is a pinned NodePort', () => {
  assert.deepEqual(table('stable-nodes'), [
    ['cluster-internal', 'ClusterIP', undefined],
    ['external-unstable', 'NodePort', false],
    ['external-stable', 'NodePort', true],
  ]);
});

test('none: no classes', () => {
  assert.deepEqual(presetClasses('none'), []);
});

test('every preset class is a valid, complete ListenerClass object', () => {
  for (const preset of LISTENER_CLASS_PRESETS) {
    for (const c of presetClasses(preset)) {
      assert.equal(c.apiVersion, 'listeners.stackable.tech/v1alpha1');
      assert.equal(c.kind, 'ListenerClass');
      const parsed = parseListenerClass(c);
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    }
  }
});

test('each call returns fresh objects', () => {
  const [first] = presetClasses('stable-nodes');
  assert.ok(first);
  first.spec.serviceType = 'NodePort';
  assert.equal(presetClasses('stable-nodes')[0]?.spec.serviceType, 'ClusterIP');
});

test('isListenerClassPreset', () => {
  for (const p of LISTENER_CLASS_PRESETS) assert.equal(isListenerClassPreset(p), true);
  for (const p of ['', 'Stable-Nodes', 'ephemeral', 'all']) assert.equal(isListenerClassPreset(p), false);
});
