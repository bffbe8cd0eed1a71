import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestUrl, resourceOfPath, resourcePath } from './client.ts';

test('request URLs go below the server URL\'s path prefix, with the defined query values', () => {
  const path = resourcePath({ group: '', version: 'v1', plural: 'services', namespace: 'ns', name: 'web' });
  assert.equal(requestUrl(new URL('https://10.0.0.1:6443'), path).href, 'https://10.0.0.1:6443/api/v1/namespaces/ns/services/web');
  assert.equal(requestUrl(new URL('https://rancher.example/k8s/clusters/c-1/'), path).href, 'https://rancher.example/k8s/clusters/c-1/api/v1/namespaces/ns/services/web');
  const watch = requestUrl(new URL('https://h:1/prefix'), '/apis/listeners.stackable.tech/v1alpha1/listeners', { watch: true, labelSelector: 'a=b', fieldSelector: undefined });
  assert.equal(watch.href, 'https://h:1/prefix/apis/listeners.stackable.tech/v1alpha1/listeners?watch=true&labelSelector=a%3Db');
});

test('resourceOfPath names the resource (and subresource) and namespace of a REST path, for span names', () => {
  const of = (r: Parameters<typeof resourcePath>[0]): ReturnType<typeof resourceOfPath> => resourceOfPath(resourcePath(r));
  assert.deepEqual(of({ group: '', version: 'v1', plural: 'services', namespace: 'ns', name: 'web' }), { resource: 'services', namespace: 'ns' });
  assert.deepEqual(of({ group: 'listeners.stackable.tech', version: 'v1alpha1', plural: 'listeners', namespace: 'a b', name: 'l', subresource: 'status' }), { resource: 'listeners/status', namespace: 'a b' });
  assert.deepEqual(of({ group: '', version: 'v1', plural: 'nodes', name: 'n1', subresource: 'proxy' }), { resource: 'nodes/proxy', namespace: undefined });
  assert.deepEqual(of({ group: '', version: 'v1', plural: 'persistentvolumes' }), { resource: 'persistentvolumes', namespace: undefined });
  assert.deepEqual(of({ group: '', version: 'v1', plural: 'namespaces', name: 'ns' }), { resource: 'namespaces', namespace: undefined });
  assert.deepEqual(of({ group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', namespace: 'ns' }), { resource: 'endpointslices', namespace: 'ns' });
});

test('resourcePath refuses names that would address another path: "", ".", ".." (and a namespace "." or "..")', () => {
  const svc = { group: '', version: 'v1', plural: 'services' };
  for (const name of ['', '.', '..']) assert.throws(() => resourcePath({ ...svc, namespace: 'ns', name }), /refusing a request for services with the name/);
  for (const namespace of ['.', '..']) assert.throws(() => resourcePath({ ...svc, namespace, name: 'web' }), /with the namespace/);
  assert.equal(resourcePath({ group: '', version: 'v1', plural: 'persistentvolumes', name: 'pv..1' }), '/api/v1/persistentvolumes/pv..1');
});
