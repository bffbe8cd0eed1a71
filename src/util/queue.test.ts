import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './queue.ts';

// Timers (backoff, deadlines, grace periods) are mocked: the tests advance time themselves and
// never wait on the wall clock. Workers block on gates the tests open.
beforeEach(() => { mock.timers.enable({ apis: ['setTimeout', 'Date'] }); });
afterEach(() => { mock.timers.reset(); });

/** Lets every pending promise continuation run (setImmediate is not mocked). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** A promise the test settles. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((r) => { open = r; });
  return { promise, open };
}

test('adds of a waiting key collapse into one run', async () => {
  const runs: string[] = [];
  const q = new WorkQueue(async (k) => { runs.push(k); await Promise.resolve(); }, { concurrency: 1 });
  q.add('a'); q.add('b'); q.add('b'); q.add('b');
  await q.idle();
  assert.deepEqual(runs, ['a', 'b']);
});

test('a key added while it runs runs again afterwards, never concurrently with itself', async () => {
  let running = 0;
  let maxRunning = 0;
  const gates = [gate(), gate()];
  let runs = 0;
  const q = new WorkQueue(async () => {
    const g = gates[runs++];
    running++; maxRunning = Math.max(maxRunning, running);
    await g?.promise;
    running--;
  }, { concurrency: 4 });
  q.add('k');
  await flush();
  q.add('k'); q.add('k');
  await flush();
  assert.equal(runs, 1, 'the second run waits for the first');
  gates[0]?.open();
  await flush();
  assert.equal(runs, 2, 'the key runs again once');
  gates[1]?.open();
  await q.idle();
  assert.equal(maxRunning, 1);
  assert.equal(runs, 2);
});

test('concurrency is bounded', async () => {
  const g = gate();
  let running = 0;
  let maxRunning = 0;
  const q = new WorkQueue(async () => {
    running++; maxRunning = Math.max(maxRunning, running);
    await g.promise;
    running--;
  }, { concurrency: 3 });
  for (let i = 0; i < 20; i++) q.add(`k${i}`);
  await flush();
  assert.equal(q.active, 3);
  assert.equal(q.length, 17);
  g.open();
  await q.idle();
  assert.equal(maxRunning, 3);
});

test('a failing key backs off exponentially and does not block others', async () => {
  const times: number[] = [];
  const others: string[] = [];
  let fails = 3;
  const errors: number[] = [];
  const q = new WorkQueue((k) => {
    if (k === 'bad') {
      times.push(Date.now());
      if (fails-- > 0) return Promise.reject(new Error('boom'));
      return Promise.resolve();
    }
    others.push(k);
    return Promise.resolve();
  }, { concurrency: 1, baseDelayMs: 20, maxDelayMs: 1000 }, (_k, _e, delay) => { errors.push(delay); });
  q.add('bad');
  q.add('good1');
  q.add('good2');
  await flush();
  assert.deepEqual(others, ['good1', 'good2']);
  for (const delay of [20, 40, 80]) {
    mock.timers.tick(delay - 1);
    await flush();
    const before = times.length;
    mock.timers.tick(1);
    await flush();
    assert.equal(times.length, before + 1, `the retry comes after exactly ${delay} ms`);
  }
  assert.deepEqual(errors, [20, 40, 80]);
  assert.deepEqual(times.slice(1).map((t, i) => t - (times[i] ?? 0)), [20, 40, 80]);
  assert.equal(q.failureCount('bad'), 0);
});

test('backoff is capped', async () => {
  const delays: number[] = [];
  const q = new WorkQueue(() => Promise.reject(new Error('always')), { concurrency: 1, baseDelayMs: 1, maxDelayMs: 4 }, (_k, _e, d) => { delays.push(d); });
  q.add('x');
  for (let i = 0; i < 6; i++) {
    await flush();
    mock.timers.tick(4);
  }
  await flush();
  await q.shutdown();
  assert.deepEqual(delays.slice(0, 5), [1, 2, 4, 4, 4]);
});

test('shutdown waits for in-flight work and drops the rest', async () => {
  const done: string[] = [];
  const g = gate();
  const q = new WorkQueue(async (k) => { await g.promise; done.push(k); }, { concurrency: 1 });
  q.add('a'); q.add('b');
  await flush();
  const stopped = q.shutdown();
  g.open();
  await stopped;
  assert.deepEqual(done, ['a']);
  q.add('c');
  await flush();
  assert.deepEqual(done, ['a']);
});

test('a run that outlives its deadline is aborted, frees its slot, and is retried', async () => {
  const signals: AbortSignal[] = [];
  const runs: string[] = [];
  const errors: string[] = [];
  const q = new WorkQueue((k, signal) => {
    runs.push(k);
    signals.push(signal);
    // The first run of `hung` never ends, whatever its signal says (the worst case).
    return k === 'hung' && runs.filter((r) => r === 'hung').length === 1 ? new Promise<void>(() => undefined) : Promise.resolve();
  }, { concurrency: 1, timeoutMs: 1000, baseDelayMs: 10 }, (k, e) => { errors.push(`${k}: ${e instanceof Error ? e.message : String(e)}`); });
  q.add('hung');
  q.add('next');
  await flush();
  mock.timers.tick(999);
  await flush();
  assert.deepEqual(runs, ['hung'], 'the slot is taken until the deadline');

  mock.timers.tick(1);
  await flush();
  assert.deepEqual(runs, ['hung', 'next'], 'the slot is free for the next key');
  assert.equal(signals[0]?.aborted, true, 'the run\'s signal is aborted at its deadline');
  assert.equal(errors.length, 1);
  assert.match(errors[0] ?? '', /^hung: .*hung.* 1000 ms deadline/);

  mock.timers.tick(10);
  await q.idle();
  assert.deepEqual(runs, ['hung', 'next', 'hung'], 'the key is retried after its backoff');
  assert.equal(q.failureCount('hung'), 0);
});

test('shutdown is bounded: after the grace period, in-flight runs are aborted and left behind', async () => {
  let signal: AbortSignal | undefined;
  const q = new WorkQueue((_k, s) => {
    signal = s;
    return new Promise<void>(() => undefined);
  }, { concurrency: 2, timeoutMs: 60_000 });
  q.add('stuck');
  await flush();
  let result: string[] | undefined;
  void q.shutdown(500).then((r) => { result = r; });
  mock.timers.tick(499);
  await flush();
  assert.equal(result, undefined, 'shutdown waits for in-flight work during its grace period');
  mock.timers.tick(1);
  await flush();
  assert.deepEqual(result, ['stuck'], 'shutdown returns the keys it left running');
  assert.equal(signal?.aborted, true);
});

test('the observer sees adds (collapsed adds not counted), waits, runs and retries, as client-go\'s workqueue metrics count them', async () => {
  const seen = { added: 0, started: 0, finished: 0, retried: 0 };
  const g = gate();
  let bFailed = false;
  const q = new WorkQueue(async (k) => {
    if (k === 'a') await g.promise;
    if (k === 'b' && !bFailed) {
      bFailed = true;
      throw new Error('boom');
    }
  }, {
    concurrency: 1,
    observer: { added: () => { seen.added++; }, started: () => { seen.started++; }, finished: () => { seen.finished++; }, retried: () => { seen.retried++; } },
  });
  q.add('a'); // runs
  q.add('b'); q.add('b'); // waits; the second add collapses
  q.add('a'); q.add('a'); // a is running: dirty once
  await flush();
  assert.equal(seen.added, 3);
  assert.equal(q.runningSeconds().length, 1, 'a is running');
  g.open();
  await q.idle(); // a, b (fails), a again
  mock.timers.tick(250); // b's backoff: added again, succeeds
  await q.idle();
  assert.deepEqual(seen, { added: 4, started: 4, finished: 4, retried: 1 });
});
