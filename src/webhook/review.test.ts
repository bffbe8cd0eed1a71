import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerConversionReview, type ReviewAnswer } from './review.ts';

const CRD = 'listeners.listeners.stackable.tech';
const listener = (v = 'v1alpha1', kind = 'Listener'): Record<string, unknown> => ({
  apiVersion: `listeners.stackable.tech/${v}`, kind, metadata: { name: 'l', namespace: 'ns', uid: 'u-1' }, spec: { className: 'c' },
});
const review = (request: unknown): unknown => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', request });

function failureMessage(a: ReviewAnswer): string {
  assert.equal(a.status, 200);
  if (a.status !== 200) return '';
  const r = a.body.response.result;
  assert.equal(r.status, 'Failure');
  return r.status === 'Failure' ? r.message : '';
}

test('a review between served versions converts every object, unchanged but for apiVersion', () => {
  const objects = [listener(), { ...listener(), metadata: { name: 'm', namespace: 'ns' } }];
  const a = answerConversionReview(CRD, review({ uid: 'r-1', desiredAPIVersion: 'listeners.stackable.tech/v1alpha1', objects }));
  assert.equal(a.status, 200);
  if (a.status !== 200) return;
  assert.deepEqual(a.body, { apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', response: { uid: 'r-1', convertedObjects: objects, result: { status: 'Success' } } });
  for (const [crd, kind] of [['listenerclasses.listeners.stackable.tech', 'ListenerClass'], ['podlisteners.listeners.stackable.tech', 'PodListeners']] as const) {
    const b = answerConversionReview(crd, review({ uid: 'r', desiredAPIVersion: 'listeners.stackable.tech/v1alpha1', objects: [listener('v1alpha1', kind)] }));
    assert.equal(b.status === 200 && b.body.response.result.status, 'Success', crd);
  }
  const empty = answerConversionReview(CRD, review({ uid: 'r-2', desiredAPIVersion: 'listeners.stackable.tech/v1alpha1', objects: [] }));
  assert.equal(empty.status === 200 && empty.body.response.result.status, 'Success');
});

test('what cannot be converted is a Failure naming the object and the reason', () => {
  const desired = 'listeners.stackable.tech/v1alpha1';
  const cases: [unknown, RegExp][] = [
    [{ uid: 'u', desiredAPIVersion: 'listeners.stackable.tech/v2', objects: [listener()] }, /desiredAPIVersion "v2", which is not served \(served: v1alpha1\)/],
    [{ uid: 'u', desiredAPIVersion: 'apps/v1', objects: [listener()] }, /desiredAPIVersion "apps\/v1", not of the group listeners.stackable.tech/],
    [{ uid: 'u', objects: [listener()] }, /desiredAPIVersion has no apiVersion/],
    [{ uid: 'u', desiredAPIVersion: desired, objects: [listener('v9')] }, /Listener ns\/l has the version "v9", which is not served/],
    [{ uid: 'u', desiredAPIVersion: desired, objects: [listener('v1alpha1', 'ListenerClass')] }, /ListenerClass ns\/l is not a Listener/],
    [{ uid: 'u', desiredAPIVersion: desired, objects: [42] }, /not a JSON object/],
    [{ uid: 'u', desiredAPIVersion: desired, objects: [{ kind: 'Listener', metadata: { name: 'x' } }] }, /Listener x has no apiVersion/],
    [{ uid: 'u', desiredAPIVersion: desired, objects: 'all' }, /no list of objects/],
    [{ uid: 'u', desiredAPIVersion: desired }, /no list of objects/],
  ];
  for (const [request, message] of cases) {
    const a = answerConversionReview(CRD, review(request));
    assert.match(failureMessage(a), message, JSON.stringify(request));
    assert.equal(a.status === 200 && a.body.response.uid, 'u');
  }
});

test('what cannot be answered is a 400 (or 404 for a CRD that is not ours) with the reason', () => {
  const cases: [string, unknown, number, RegExp][] = [
    ['foos.example.com', review({ uid: 'u' }), 404, /no CRD "foos.example.com" is converted here/],
    [CRD, [], 400, /not a JSON object/],
    [CRD, 'text', 400, /not a JSON object/],
    [CRD, null, 400, /not a JSON object/],
    [CRD, { apiVersion: 'apiextensions.k8s.io/v1beta1', kind: 'ConversionReview', request: { uid: 'u' } }, 400, /expected a ConversionReview of apiextensions.k8s.io\/v1, got kind "ConversionReview" of apiVersion "apiextensions.k8s.io\/v1beta1"/],
    [CRD, { apiVersion: 'apiextensions.k8s.io/v1', kind: 'AdmissionReview' }, 400, /got kind "AdmissionReview"/],
    [CRD, review(undefined), 400, /has no request/],
    [CRD, review({ desiredAPIVersion: 'listeners.stackable.tech/v1alpha1', objects: [] }), 400, /has no uid/],
    [CRD, review({ uid: 7 }), 400, /has no uid/],
  ];
  for (const [crd, body, status, message] of cases) {
    const a = answerConversionReview(crd, body);
    assert.equal(a.status, status, JSON.stringify(body));
    assert.match(a.status === 200 ? '' : a.message, message);
  }
});
