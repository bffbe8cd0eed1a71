import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterDomainFromConfigz } from './cluster-domain.ts';

test('the cluster domain of a configz answer', () => {
  assert.equal(clusterDomainFromConfigz('n1', { kubeletconfig: { clusterDomain: 'cluster.local', port: 10250 } }), 'cluster.local');
  assert.equal(clusterDomainFromConfigz('n1', { kubeletconfig: { clusterDomain: 'corp.example.' } }), 'corp.example.');
});

test('an unusable answer names the Node and why', () => {
  assert.throws(() => clusterDomainFromConfigz('n1', {}), /Node n1 reports no kubeletconfig.clusterDomain/);
  assert.throws(() => clusterDomainFromConfigz('n1', { kubeletconfig: { clusterDomain: '' } }), /no kubeletconfig.clusterDomain/);
  assert.throws(() => clusterDomainFromConfigz('n1', { kubeletconfig: { clusterDomain: 42 } }), /no kubeletconfig.clusterDomain/);
  assert.throws(() => clusterDomainFromConfigz('n1', { kubeletconfig: { clusterDomain: 'bad_domain;rm -rf' } }), /"bad_domain;rm -rf", which is not a DNS domain/);
  assert.throws(() => clusterDomainFromConfigz('n1', null), /no kubeletconfig/);
});
