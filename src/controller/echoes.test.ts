import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EchoFilter, type HeldEvent } from './echoes.ts';

test('events for a key that is not running are not held', () => {
  const f = new EchoFilter(() => true);
  assert.equal(f.hold('ns/a', { kind: 'Listener', object: 'ns/a', resourceVersion: '1' }), false);
});

test('held echoes are dropped at the end of the run; anything else wakes the key', () => {
  const written = new Map<string, string>([['Listener ns/a', '7'], ['Service ns/a', '6']]);
  const checked: HeldEvent[] = [];
  const f = new EchoFilter((e) => { checked.push(e); return written.get(`${e.kind} ${e.object}`) === e.resourceVersion; });
  f.start('ns/a');
  assert.equal(f.hold('ns/a', { kind: 'Service', object: 'ns/a', resourceVersion: '6' }), true);
  assert.equal(f.hold('ns/a', { kind: 'Listener', object: 'ns/a', resourceVersion: '7' }), true);
  assert.equal(f.end('ns/a'), false, 'both were the run\'s own writes');
  assert.equal(checked.length, 2);
  // Someone else's write while the key runs: it wakes the key afterwards.
  f.start('ns/a');
  f.hold('ns/a', { kind: 'Listener', object: 'ns/a', resourceVersion: '8' });
  assert.equal(f.end('ns/a'), true);
  // Nothing is held once the run has ended.
  assert.equal(f.hold('ns/a', { kind: 'Listener', object: 'ns/a', resourceVersion: '9' }), false);
  assert.equal(f.end('ns/a'), false);
});
