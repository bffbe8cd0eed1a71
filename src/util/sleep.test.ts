import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { sleep } from './sleep.ts';

test('sleep ends after its time, or early on abort, and leaves no listener behind', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const abort = new AbortController();
    let done = false;
    const p = sleep(1000, abort.signal).then(() => { done = true; });
    mock.timers.tick(999);
    await Promise.resolve();
    assert.equal(done, false);
    mock.timers.tick(1);
    await p;
    assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
    const q = sleep(60_000, abort.signal);
    abort.abort();
    await q;
    assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
    await sleep(60_000, abort.signal); // already aborted: at once
  } finally {
    mock.timers.reset();
  }
});
