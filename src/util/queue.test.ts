import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './queue.ts';

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('adds of a waiting key collapse into one run', async () => {
  const runs: string[] = [];
  const q = new WorkQueue(async (k) => { runs.push(k); await tick(); }, { concurrency: 1 });
  q.add('a'); q.add('b'); q.add('b'); q.add('b');
  await q.idle();
  assert.deepEqual(runs, ['a', 'b']);
});

test('a key added while it runs runs again afterwards, never concurrently with itself', async () => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const q = new WorkQueue(async () => {
    running++; maxRunning = Math.max(maxRunning, running); runs++;
    await tick(10);
    running--;
  }, { concurrency: 4 });
  q.add('k');
  await tick(2);
  q.add('k'); q.add('k');
  await tick(50);
  await q.idle();
  assert.equal(maxRunning, 1);
  assert.equal(runs, 2);
});

test('concurrency is bounded', async () => {
  let running = 0;
  let maxRunning = 0;
  const q = new WorkQueue(async () => {
    running++; maxRunning = Math.max(maxRunning, running);
    await tick(5);
    running--;
  }, { concurrency: 3 });
  for (let i = 0; i < 20; i++) q.add(`k${i}`);
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
  await tick(250);
  assert.deepEqual(others, ['good1', 'good2']);
  assert.deepEqual(errors, [20, 40, 80]);
  assert.equal(times.length, 4);
  assert.equal(q.failureCount('bad'), 0);
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
    assert.ok(gap >= 15, `retry ${i} came after ${gap} ms`);
  }
});

test('backoff is capped', async () => {
  const delays: number[] = [];
  const q = new WorkQueue(() => Promise.reject(new Error('always')), { concurrency: 1, baseDelayMs: 1, maxDelayMs: 4 }, (_k, _e, d) => { delays.push(d); });
  q.add('x');
  await tick(80);
  await q.shutdown();
  assert.deepEqual(delays.slice(0, 5), [1, 2, 4, 4, 4]);
});

test('shutdown waits for in-flight work and drops the rest', async () => {
  const done: string[] = [];
  const q = new WorkQueue(async (k) => { await tick(20); done.push(k); }, { concurrency: 1 });
  q.add('a'); q.add('b');
  await tick(2);
  await q.shutdown();
  assert.deepEqual(done, ['a']);
  q.add('c');
  await tick(30);
  assert.deepEqual(done, ['a']);
});
