// Proves the integration tier runs against a real kube-apiserver, not a fake: server-side apply
// conflicts between field managers, and real watch semantics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, type ResourceRef } from '../../src/k8s/client.ts';
import { at } from '../../src/k8s/resources.ts';
import { Informer } from '../../src/k8s/informer.ts';
import { freshNamespace, testClient, eventually } from '../support/k8s.ts';

const CONFIGMAPS = { group: '', version: 'v1', plural: 'configmaps' };

test('the API server reports a real Kubernetes version', async () => {
  const client = await testClient();
  const v = await client.request<{ gitVersion: string; major: string; minor: string }>('get', 'GET', '/version');
  assert.match(v.gitVersion, /^v1\.36\.\d+$/);
  client.close();
});

test('server-side apply: a second field manager conflicts on a field it does not own', async (t) => {
  const client = await testClient();
  const ns = await freshNamespace(t, client);
  const ref: ResourceRef = at(CONFIGMAPS, ns, 'cm');
  const body = (v: string): unknown => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: ns }, data: { k: v } });
  await client.apply(ref, body('a'), 'manager-one');
  await assert.rejects(client.apply(ref, body('b'), 'manager-two'), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 409);
    assert.equal(e.reason, 'Conflict');
    return true;
  });
  // Forcing takes ownership, as the API server documents.
  const forced = await client.apply<{ data: Record<string, string> }>(ref, body('b'), 'manager-two', true);
  assert.equal(forced.data.k, 'b');
  client.close();
});

test('informer: lists, then sees adds, updates and deletes through a real watch', async (t) => {
  const client = await testClient();
  const ns = await freshNamespace(t, client);
  await client.create(at(CONFIGMAPS, ns), { metadata: { name: 'before' } });
  const inf = new Informer(client, at(CONFIGMAPS, ns));
  const seen: string[] = [];
  inf.onChange((type, obj) => { seen.push(`${type}:${obj.metadata?.name ?? ''}`); });
  await inf.start();
  assert.ok(inf.get(`${ns}/before`));
  await client.create(at(CONFIGMAPS, ns), { metadata: { name: 'after' } });
  await client.mergePatch(at(CONFIGMAPS, ns, 'after'), { data: { x: '1' } });
  await client.delete(at(CONFIGMAPS, ns, 'before'));
  await eventually('watch events', () => (seen.includes('delete:before') && seen.includes('update:after') ? true : undefined));
  assert.deepEqual(seen.filter((s) => s.endsWith('before') || s.endsWith('after')), ['add:before', 'add:after', 'update:after', 'delete:before']);
  await inf.stop();
  client.close();
});
