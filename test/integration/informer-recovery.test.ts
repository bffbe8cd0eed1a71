// The informer against the real API server when the network misbehaves (a proxy in front of it
// stops forwarding): a watch resuming from history etcd has compacted away gets 410 Expired and the
// informer re-lists; a watch whose connection died silently is restarted by the progress deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeClient, type KubeClientOptions, type KubeObject } from '../../src/k8s/client.ts';
import { Informer, WatchStalled, type InformerOptions } from '../../src/k8s/informer.ts';
import { runHeartbeat } from '../../src/k8s/heartbeat.ts';
import { at } from '../../src/k8s/resources.ts';
import { tempDir } from '../support/csi.ts';
import { compactEtcd } from '../support/etcd.ts';
import { eventually, freshNamespace, testClient } from '../support/k8s.ts';
import { sharedStallProxy, type StallProxy } from '../support/stall-proxy.ts';

// The shared control plane serves ConfigMap watches from etcd (no watch cache): see cluster.ts.
const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps' };

interface Frame { client: KubeClient; ns: string; proxy: StallProxy; informerClient: KubeClient; informer: Informer<KubeObject>; errors: unknown[]; seen: string[] }

/** A namespace with ConfigMap `a`, and an informer of its ConfigMaps whose traffic goes through a stall proxy. */
async function frame(t: Parameters<typeof sharedStallProxy>[0] & Parameters<typeof freshNamespace>[0], clientOpts: KubeClientOptions, opts: InformerOptions<KubeObject>): Promise<Frame> {
  const client = await testClient();
  t.after(() => { client.close(); });
  const ns = await freshNamespace(t, client);
  await client.create(at(CONFIGMAPS, ns), { metadata: { name: 'a' } });
  const proxy = await sharedStallProxy(t, await tempDir(t, 'lo-stall-'));
  const informerClient = await KubeClient.fromKubeconfig(proxy.kubeconfig, clientOpts);
  const errors: unknown[] = [];
  const seen: string[] = [];
  const informer = new Informer<KubeObject>(informerClient, at(CONFIGMAPS, ns), { ...opts, onError: (e) => { errors.push(e); } });
  informer.onChange((type, obj) => { seen.push(`${type}:${obj.metadata?.name ?? ''}`); });
  await informer.start();
  t.after(async () => {
    await informer.stop();
    informerClient.close();
  });
  assert.ok(informer.get(`${ns}/a`));
  await eventually('the informer is watching', () => (proxy.requests.some((r) => r.query.get('watch') === 'true') ? true : undefined), 5000);
  return { client, ns, proxy, informerClient, informer, errors, seen };
}

test('a watch resuming from compacted history gets 410 Expired; the informer re-lists and catches up', async (t) => {
  const f = await frame(t, { watchSlackMs: 500 }, { minWatchTimeoutSeconds: 1 });
  // Cut the informer off, change the world meanwhile, and let etcd forget the history it missed.
  f.proxy.stall();
  await f.client.create(at(CONFIGMAPS, f.ns), { metadata: { name: 'b' } });
  await f.client.delete(at(CONFIGMAPS, f.ns, 'a'));
  await compactEtcd();
  f.proxy.resume();

  await eventually('the informer caught up', () => (f.informer.get(`${f.ns}/b`) !== undefined && f.informer.get(`${f.ns}/a`) === undefined ? true : undefined), 20_000);
  // It resumed from where it was cut off, was told that history is gone, re-listed, and watches on.
  const watchedFrom = f.proxy.requests.filter((r) => r.query.get('watch') === 'true' && !r.held).map((r) => Number(r.query.get('resourceVersion')));
  assert.ok(watchedFrom.length >= 2 && (watchedFrom.at(-1) ?? 0) > (watchedFrom[0] ?? 0), `watched from ${watchedFrom.join(', ')}`);
  assert.equal(f.informerClient.counts.list, 2, 'it re-listed once');
  assert.deepEqual(f.seen.filter((s) => s.endsWith(':a') || s.endsWith(':b')), ['add:a', 'add:b', 'delete:a']);
});

test('a watch whose connection dies silently is restarted by the progress deadline, without a re-list', async (t) => {
  const f = await frame(t, {}, { progressDeadlineMs: 1500 });
  // The open watch's connection now carries nothing, and reports nothing either.
  f.proxy.stall();
  f.proxy.resume();
  await f.client.create(at(CONFIGMAPS, f.ns), { metadata: { name: 'b' } });
  await eventually('the informer sees b', () => (f.informer.get(`${f.ns}/b`) !== undefined ? true : undefined), 10_000);
  assert.ok(f.errors.some((e) => e instanceof WatchStalled), `the restart was reported: ${f.errors.map(String).join('; ')}`);
  assert.equal(f.informerClient.counts.list, 1);
});

test('a stall noticed by the heartbeat restarts the watches as soon as the API server answers again', async (t) => {
  // The progress deadline is far away: only the heartbeat can bring the frozen watch back soon.
  const f = await frame(t, {}, {});
  f.informerClient.onReconnected(() => { f.informer.reconnect(); });
  const beat = new AbortController();
  t.after(() => { beat.abort(); });
  const beating = runHeartbeat(f.informerClient, { intervalMs: 300, timeoutMs: 500 }, beat.signal);
  f.proxy.stall();
  await eventually('a heartbeat held by the stall', () => (f.proxy.requests.some((r) => r.held && r.path === '/version') ? true : undefined), 5000);
  await f.client.create(at(CONFIGMAPS, f.ns), { metadata: { name: 'b' } });
  // A second held beat means the first timed out: the client has noted the API server unreachable.
  await eventually('a heartbeat timed out', () => (f.proxy.requests.filter((r) => r.held && r.path === '/version').length >= 2 ? true : undefined), 5000);
  f.proxy.resume();
  await eventually('the informer sees b', () => (f.informer.get(`${f.ns}/b`) !== undefined ? true : undefined), 10_000);
  assert.equal(f.informerClient.counts.list, 1, 'resumed from its resourceVersion, no re-list');
  assert.deepEqual(f.errors.filter((e) => e instanceof WatchStalled), [], 'not the progress deadline');
  beat.abort();
  await beating;
});
