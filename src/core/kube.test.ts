import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Node, V1PersistentVolume, V1Service } from '@kubernetes/client-node';
import type { EndpointSlice, Node, PersistentVolume, Service } from './kube.ts';

// Compile-time: objects typed with the client's classes (as the k8s layer hands them out) can be
// passed to the decisions. tsc checks this file; the runtime assertion only keeps node:test happy.
function accepts(service: V1Service, node: V1Node, pv: V1PersistentVolume, slice: V1EndpointSlice): unknown[] {
  const s: Service = service;
  const n: Node = node;
  const p: PersistentVolume = pv;
  const e: EndpointSlice = slice;
  return [s, n, p, e];
}

test('client model objects are assignable to the plain types', () => {
  assert.equal(typeof accepts, 'function');
});
