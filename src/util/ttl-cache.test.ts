import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TtlCache } from './ttl-cache.ts';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

test('a value is served from the cache until it expires, then loaded again', async () => {
  const c = clock();
  const cache = new TtlCache<string>({ ttlMs: 100, now: c.now });
  let loads = 0;
  const load = (): Promise<string> => Promise.resolve(`v${++loads}`);
  assert.equal(await cache.get('k', load), 'v1');
  c.advance(99);
  assert.equal(await cache.get('k', load), 'v1');
  c.advance(1);
  assert.equal(await cache.get('k', load), 'v2');
  assert.equal(loads, 2);
});

test('undefined and failed loads are not cached', async () => {
  const cache = new TtlCache<string>({ ttlMs: 1000 });
  let calls = 0;
  assert.equal(await cache.get('k', () => { calls++; return Promise.resolve(undefined); }), undefined);
  await assert.rejects(cache.get('k', () => { calls++; return Promise.reject(new Error('down')); }), /down/);
  assert.equal(await cache.get('k', () => { calls++; return Promise.resolve('x'); }), 'x');
  assert.equal(calls, 3);
  assert.equal(cache.size, 1);
});

test('concurrent misses for one key share one load', async () => {
  const cache = new TtlCache<number>({ ttlMs: 1000 });
  let loads = 0;
  let release: (v: number) => void = () => undefined;
  const load = (): Promise<number> => { loads++; return new Promise((r) => { release = r; }); };
  const a = cache.get('k', load);
  const b = cache.get('k', load);
  release(7);
  assert.deepEqual(await Promise.all([a, b]), [7, 7]);
  assert.equal(loads, 1);
});

test('delete forgets a key; the size is bounded, oldest dropped first; ttl 0 caches nothing', async () => {
  const cache = new TtlCache<string>({ ttlMs: 1000, maxEntries: 2 });
  for (const k of ['a', 'b', 'c']) await cache.get(k, () => Promise.resolve(k));
  assert.equal(cache.size, 2);
  let reloaded = false;
  await cache.get('a', () => { reloaded = true; return Promise.resolve('a'); });
  assert.ok(reloaded, 'the oldest entry was dropped');
  cache.delete('a');
  assert.equal(cache.size, 1);
  const none = new TtlCache<string>({ ttlMs: 0 });
  await none.get('k', () => Promise.resolve('v'));
  assert.equal(none.size, 0);
});

test('a caller that gives up stops waiting; the shared load is aborted only when no caller waits', async () => {
  const cache = new TtlCache<number>({ ttlMs: 1000 });
  let loadSignal: AbortSignal | undefined;
  let release: (v: number) => void = () => undefined;
  const load = (s: AbortSignal): Promise<number> => { loadSignal = s; return new Promise((r) => { release = r; }); };
  const [a, b] = [new AbortController(), new AbortController()];
  const first = cache.get('k', load, a.signal);
  const second = cache.get('k', load, b.signal);
  a.abort(new Error('first gave up'));
  await assert.rejects(first, /first gave up/);
  assert.equal(loadSignal?.aborted, false, 'the second caller still waits for the load');
  release(7);
  assert.equal(await second, 7);

  cache.delete('k');
  const c = new AbortController();
  const third = cache.get('k', load, c.signal);
  c.abort(new Error('third gave up'));
  await assert.rejects(third, /third gave up/);
  assert.equal(loadSignal?.aborted, true, 'nobody waits: the load is aborted');
  // A later caller starts a load of its own rather than joining the aborted one.
  const fourth = cache.get('k', load);
  release(8);
  assert.equal(await fourth, 8);
});
