import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { sleep } from './sleep.ts';

beforeEach(() => { mock.timers.enable({ apis: ['setTimeout'] }); });
afterEach(() => { mock.timers.reset(); });

test('resolves after its time, and leaves no abort listener behind', async () => {
  const abort = new AbortController();
  for (let i = 0; i < 100; i++) {
    const slept = sleep(10, abort.signal);
    mock.timers.tick(10);
    await slept;
  }
  assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
});

test('an abort ends it at once (and an aborted signal does not wait at all)', async () => {
  const abort = new AbortController();
  let done = false;
  const slept = sleep(60_000, abort.signal).then(() => { done = true; });
  await Promise.resolve();
  assert.equal(done, false);
  abort.abort();
  await slept;
  assert.equal(done, true);
  await sleep(60_000, abort.signal);
  assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
});
