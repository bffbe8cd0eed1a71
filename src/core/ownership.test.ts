import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OwnerReference } from './kube.ts';
import { isControlledByListener, listenerOwnerReference } from './ownership.ts';

const listener = { metadata: { name: 'web', uid: 'uid-1' } };
const ours: OwnerReference = {
  apiVersion: 'listeners.stackable.tech/v1alpha1',
  kind: 'Listener',
  name: 'web',
  uid: 'uid-1',
  controller: true,
};
const withRefs = (...refs: OwnerReference[]) => ({ metadata: { ownerReferences: refs } });

const cases: [string, object, boolean][] = [
  ['a matching controller reference', withRefs(ours), true],
  ['a matching reference among others', withRefs({ ...ours, uid: 'x', controller: false }, ours), true],
  ['another API version of the group', withRefs({ ...ours, apiVersion: 'listeners.stackable.tech/v1beta1' }), true],
  ['no metadata', {}, false],
  ['no owner references', withRefs(), false],
  ['another UID', withRefs({ ...ours, uid: 'uid-2' }), false],
  ['not the controller', withRefs({ ...ours, controller: false }), false],
  ['controller unset', withRefs({ ...ours, controller: undefined }), false],
  ['another kind', withRefs({ ...ours, kind: 'Deployment' }), false],
  ['another group', withRefs({ ...ours, apiVersion: 'evil.example.com/v1alpha1' }), false],
  ['a group that only starts like ours', withRefs({ ...ours, apiVersion: 'listeners.stackable.tech.evil/v1' }), false],
  ['a bare group without version', withRefs({ ...ours, apiVersion: 'listeners.stackable.tech' }), false],
];

for (const [what, object, expected] of cases) {
  test(`isControlledByListener: ${what} → ${expected}`, () => {
    assert.equal(isControlledByListener(object, listener), expected);
  });
}

test('isControlledByListener: a Listener without UID controls nothing', () => {
  assert.equal(isControlledByListener(withRefs({ ...ours, uid: '' }), { metadata: { uid: '' } }), false);
  assert.equal(isControlledByListener(withRefs(ours), { metadata: {} }), false);
});

test('listenerOwnerReference is a blocking controller reference that isControlledByListener accepts', () => {
  const ref = listenerOwnerReference('web', 'uid-1');
  assert.deepEqual(ref, { ...ours, blockOwnerDeletion: true });
  assert.equal(isControlledByListener(withRefs(ref), listener), true);
});
