import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestUrl, resourcePath } from './client.ts';

test('request URLs go below the server URL\'s path prefix, with the defined query values', () => {
  const path = resourcePath({ group: '', version: 'v1', plural: 'services', namespace: 'ns', name: 'web' });
  assert.equal(requestUrl(new URL('https://10.0.0.1:6443'), path).href, 'https://10.0.0.1:6443/api/v1/namespaces/ns/services/web');
  assert.equal(requestUrl(new URL('https://rancher.example/k8s/clusters/c-1/'), path).href, 'https://rancher.example/k8s/clusters/c-1/api/v1/namespaces/ns/services/web');
  const watch = requestUrl(new URL('https://h:1/prefix'), '/apis/listeners.stackable.tech/v1alpha1/listeners', { watch: true, labelSelector: 'a=b', fieldSelector: undefined });
  assert.equal(watch.href, 'https://h:1/prefix/apis/listeners.stackable.tech/v1alpha1/listeners?watch=true&labelSelector=a%3Db');
});
