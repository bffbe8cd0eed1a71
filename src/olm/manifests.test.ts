import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyOrder, describe, duplicates, parseManifestFile, type Manifest } from './manifests.ts';

const m = (kind: string, file: string, doc = 1, name = kind.toLowerCase()): Manifest => ({ file, doc, apiVersion: 'v1', kind, name, object: { apiVersion: 'v1', kind, metadata: { name } } });

test('a file\'s documents: empty ones skipped, each checked for apiVersion, kind and metadata.name', () => {
  const text = [
    '---', 'apiVersion: v1', 'kind: ServiceAccount', 'metadata: {name: sa}',
    '---', '# only a comment',
    '---', 'kind: Service', 'metadata: {name: svc}',
    '---', 'apiVersion: v1', 'metadata: {name: x}',
    '---', 'apiVersion: v1', 'kind: Service', 'metadata: {}',
    '---', '- a list',
  ].join('\n');
  const r = parseManifestFile('bundle/a.yaml', text);
  assert.deepEqual(r.manifests.map((x) => [x.kind, x.name, x.doc]), [['ServiceAccount', 'sa', 1]]);
  assert.deepEqual(r.problems.map(describe), [
    'bundle/a.yaml (document 3): apiVersion is missing',
    'bundle/a.yaml (document 4): kind is missing',
    'bundle/a.yaml (document 5): Service: metadata.name is missing',
    'bundle/a.yaml (document 6): a document must be a Kubernetes object (a mapping), got a list',
  ]);
});

test('invalid YAML names the file and the document', () => {
  const r = parseManifestFile('bundle/bad.yaml', 'apiVersion: v1\nkind: [unclosed\n');
  assert.equal(r.manifests.length, 0);
  assert.equal(r.problems.length, 1);
  assert.match(describe(r.problems[0] ?? { file: '', reason: '' }), /^bundle\/bad\.yaml \(document 1\): not valid YAML: /);
});

test('apply order: definitions, SCCs, identities, permissions, the CSI driver, Services; unknown kinds next; workloads last; then file and position', () => {
  const order = applyOrder([
    m('Deployment', 'b.yaml'), m('DaemonSet', 'a.yaml'), m('ListenerClass', 'z.yaml'), m('Service', 'a.yaml', 2),
    m('StorageClass', 'c.yaml'), m('CSIDriver', 'd.yaml'), m('ClusterRoleBinding', 'e.yaml'), m('ClusterRole', 'e.yaml', 2),
    m('ServiceAccount', 'f.yaml'), m('SecurityContextConstraints', 'y.yaml', 2), m('SecurityContextConstraints', 'y.yaml', 1),
    m('CustomResourceDefinition', 'x.yaml'),
  ]);
  assert.deepEqual(order.map((x) => `${x.kind}@${x.file}#${x.doc}`), [
    'CustomResourceDefinition@x.yaml#1', 'SecurityContextConstraints@y.yaml#1', 'SecurityContextConstraints@y.yaml#2', 'ServiceAccount@f.yaml#1',
    'ClusterRole@e.yaml#2', 'ClusterRoleBinding@e.yaml#1', 'CSIDriver@d.yaml#1', 'StorageClass@c.yaml#1', 'Service@a.yaml#2',
    'ListenerClass@z.yaml#1', 'DaemonSet@a.yaml#1', 'Deployment@b.yaml#1',
  ]);
});

test('the same object in two places is a problem naming both', () => {
  const p = duplicates([m('Service', 'a.yaml', 1, 'svc'), m('Service', 'b.yaml', 3, 'svc'), m('ServiceAccount', 'b.yaml', 4, 'svc')]);
  assert.deepEqual(p.map(describe), ['b.yaml (document 3): Service svc is also in a.yaml (document 1)']);
});
