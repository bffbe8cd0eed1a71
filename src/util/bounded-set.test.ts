import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedSet } from './bounded-set.ts';

test('BoundedSet keeps the newest keys; re-adding refreshes a key; delete removes', () => {
  const s = new BoundedSet(2);
  s.add('a');
  s.add('b');
  s.add('a'); // a is now newer than b
  s.add('c'); // drops b
  assert.ok(s.has('a') && s.has('c') && !s.has('b'));
  assert.equal(s.size, 2);
  s.delete('a');
  assert.ok(!s.has('a'));
  assert.equal(s.size, 1);
});
