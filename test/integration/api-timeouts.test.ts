// Every API request is bounded: against a real API server behind a proxy that stops forwarding,
// a read, a write and a watch each end by their own timeout with an error naming the request, a
// caller's AbortSignal ends a request at once, and the client works again once traffic flows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeClient } from '../../src/k8s/client.ts';
import { NAMESPACES, at } from '../../src/k8s/resources.ts';
import { tempDir } from '../support/csi.ts';
import { eventually, settlesWithin } from '../support/k8s.ts';
import { sharedStallProxy } from '../support/stall-proxy.ts';

const DEFAULT_NS = at(NAMESPACES, undefined, 'default');

test('a read and a write to a stalled API server fail after their timeouts, naming the request', async (t) => {
  const proxy = await sharedStallProxy(t, await tempDir(t, 'lo-stall-'));
  const client = await KubeClient.fromKubeconfig(proxy.kubeconfig, { readTimeoutMs: 500, writeTimeoutMs: 800 });
  t.after(() => { client.close(); });
  await client.get(DEFAULT_NS);

  proxy.stall();
  let started = Date.now();
  await assert.rejects(settlesWithin(client.get(DEFAULT_NS), 5000, 'the GET'), /GET \/api\/v1\/namespaces\/default timed out after 500 ms/);
  const readMs = Date.now() - started;
  assert.ok(readMs >= 450 && readMs < 3000, `the GET ended after ${readMs} ms`);

  started = Date.now();
  const body = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'never-created' } };
  await assert.rejects(settlesWithin(client.create(at(NAMESPACES, undefined), body), 5000, 'the POST'), /POST \/api\/v1\/namespaces timed out after 800 ms/);
  const writeMs = Date.now() - started;
  assert.ok(writeMs >= 750 && writeMs < 3000, `the POST ended after ${writeMs} ms`);

  // The timed-out requests' connections are gone: nothing stays held, and new requests work.
  await eventually('the held requests were closed', () => (proxy.held() === 0 ? true : undefined), 5000);
  proxy.resume();
  await client.get(DEFAULT_NS);
});

test('a caller\'s AbortSignal ends a request at once', async (t) => {
  const proxy = await sharedStallProxy(t, await tempDir(t, 'lo-stall-'));
  const client = await KubeClient.fromKubeconfig(proxy.kubeconfig, { readTimeoutMs: 60_000 });
  t.after(() => { client.close(); });
  proxy.stall();
  const abort = new AbortController();
  const pending = client.get(DEFAULT_NS, { signal: abort.signal });
  await eventually('the GET reached the proxy', () => (proxy.held() > 0 ? true : undefined), 5000);
  const started = Date.now();
  abort.abort(new Error('the caller gave up'));
  await assert.rejects(settlesWithin(pending, 5000, 'the aborted GET'), (e: unknown) => {
    assert.ok(e instanceof Error);
    assert.match(e.message, /GET \/api\/v1\/namespaces\/default was aborted/);
    assert.match(String((e.cause as Error | undefined)?.message), /the caller gave up/);
    return true;
  });
  assert.ok(Date.now() - started < 1000, `aborted after ${Date.now() - started} ms`);
  await eventually('the aborted request\'s connection was closed', () => (proxy.held() === 0 ? true : undefined), 5000);

  // Already aborted: no request at all.
  const before = proxy.requests.length;
  await assert.rejects(client.get(DEFAULT_NS, { signal: AbortSignal.abort() }), /was aborted/);
  assert.equal(proxy.requests.length, before);
});

test('a watch that receives nothing ends by its own timeoutSeconds plus the slack', async (t) => {
  const proxy = await sharedStallProxy(t, await tempDir(t, 'lo-stall-'));
  const client = await KubeClient.fromKubeconfig(proxy.kubeconfig, { watchSlackMs: 500 });
  t.after(() => { client.close(); });
  // Frozen after the response headers: the server's own timeout never reaches the client.
  const events: string[] = [];
  const started = Date.now();
  const watch = client.watch(at(NAMESPACES, undefined), { timeoutSeconds: 1 }, (e) => { events.push(e.type); });
  await eventually('the watch is open', () => (proxy.requests.some((r) => r.query.get('watch') === 'true') ? true : undefined), 5000);
  proxy.stall();
  await assert.rejects(settlesWithin(watch, 10_000, 'the watch'), /watch \/api\/v1\/namespaces timed out after 1500 ms/);
  const ms = Date.now() - started;
  assert.ok(ms >= 1400 && ms < 5000, `the watch ended after ${ms} ms`);
});
