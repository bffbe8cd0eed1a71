import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentHash, isSubset, stableJson } from './stable-json.ts';

test('stableJson ignores key order and undefined', () => {
  assert.equal(stableJson({ b: 1, a: [1, { d: 2, c: undefined }] }), '{"a":[1,{"d":2}],"b":1}');
  assert.equal(contentHash({ x: 1, y: 2 }), contentHash({ y: 2, x: 1 }));
  assert.notEqual(contentHash({ x: 1 }), contentHash({ x: 2 }));
});

test('isSubset: server defaults are allowed, changed or missing values are not', () => {
  const want = { spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80 }] } };
  assert.ok(isSubset(want, { spec: { type: 'ClusterIP', clusterIP: '10.0.0.1', ports: [{ name: 'http', port: 80, targetPort: 80 }] } }));
  assert.ok(!isSubset(want, { spec: { type: 'NodePort', ports: [{ name: 'http', port: 80 }] } }));
  assert.ok(!isSubset(want, { spec: { type: 'ClusterIP', ports: [] } }));
  assert.ok(!isSubset(want, { spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80 }, { name: 'x', port: 1 }] } }));
  assert.ok(!isSubset({ a: { b: 1 } }, { a: [1] }));
  assert.ok(isSubset({ a: null }, { a: null }));
});
