// The deployer's patches, with upstream's test objects (rust/olm-deployer: env, owner, resources,
// tolerations) and the cases upstream leaves open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonMap } from '../core/merge.ts';
import type { Manifest } from './manifests.ts';
import { DEPLOYER_CONTAINER, deployerSources, mergeEnv, patchManifest, type DeployerDeployment } from './patch.ts';

const DEPLOYER: DeployerDeployment = {
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'listener-operator-deployer', uid: 'd9287d0a-3069-47c3-8c90-b714dc6d1af5' },
  spec: { template: { spec: {
    containers: [{
      name: DEPLOYER_CONTAINER,
      env: [{ name: 'NAME2', value: 'value2' }],
      resources: { limits: { cpu: '1000m', memory: '1Gi' }, requests: { cpu: '100m', memory: '512Mi' } },
    }],
    tolerations: [{ key: 'keep-out', value: 'yes', operator: 'Equal', effect: 'NoSchedule' }],
  } } },
};
const SRC = deployerSources(DEPLOYER);

function manifest(kind: string, object: JsonMap): Manifest {
  return { file: 'm.yaml', doc: 1, apiVersion: String(object.apiVersion), kind, name: 'x', object: { kind, metadata: { name: 'x' }, ...object } };
}
const daemonSet = (): Manifest => manifest('DaemonSet', {
  apiVersion: 'apps/v1',
  spec: { template: { spec: { containers: [{
    name: 'listener-operator', image: 'quay.io/stackable/listener-operator@sha256:bb50',
    env: [{ name: 'NAME1', value: 'value1' }],
    resources: { limits: { cpu: '500m', memory: '2Mi' }, requests: { cpu: '200m', memory: '1Mi' } },
  }] } } },
});

function patched(m: Manifest, namespaced = true): JsonMap {
  const r = patchManifest(m, namespaced, 'stackable-operators', SRC);
  if ('problem' in r) throw new Error(r.problem);
  return r.object;
}
const podSpec = (o: JsonMap): { tolerations?: unknown; containers: JsonMap[] } => (o as { spec: { template: { spec: { tolerations?: unknown; containers: JsonMap[] } } } }).spec.template.spec;

test('env: the deployer container\'s variables are added to every container (upstream test_copy_env_var)', () => {
  assert.deepEqual(podSpec(patched(daemonSet())).containers[0]?.env, [{ name: 'NAME1', value: 'value1' }, { name: 'NAME2', value: 'value2' }]);
});

test('env: a variable the workload also sets takes the deployer\'s value, where it stands (no duplicate names)', () => {
  assert.deepEqual(mergeEnv([{ name: 'A', value: '1' }, { name: 'B', value: '2' }], [{ name: 'A', value: 'x' }, { name: 'C', value: '3' }]),
    [{ name: 'A', value: 'x' }, { name: 'B', value: '2' }, { name: 'C', value: '3' }]);
});

test('resources: replaced by the deployer container\'s in every container (upstream test_copy_resources)', () => {
  const two = manifest('Deployment', { apiVersion: 'apps/v1', spec: { template: { spec: { containers: [{ name: 'a' }, { name: 'b', resources: { limits: { cpu: '1' } } }] } } } });
  for (const c of podSpec(patched(two)).containers) {
    assert.deepEqual(c.resources, { limits: { cpu: '1000m', memory: '1Gi' }, requests: { cpu: '100m', memory: '512Mi' } }, String(c.name));
    assert.deepEqual(c.env, [{ name: 'NAME2', value: 'value2' }], String(c.name));
  }
});

test('tolerations: copied into DaemonSets only (upstream test_copy_tolerations)', () => {
  assert.deepEqual(podSpec(patched(daemonSet())).tolerations, [{ key: 'keep-out', value: 'yes', operator: 'Equal', effect: 'NoSchedule' }]);
  const deployment = manifest('Deployment', { apiVersion: 'apps/v1', spec: { template: { spec: { containers: [{ name: 'a' }], tolerations: [{ key: 'own' }] } } } });
  assert.deepEqual(podSpec(patched(deployment)).tolerations, [{ key: 'own' }]);
});

test('owner: namespaced objects get the deployer Deployment as owner, once; cluster-scoped ones none (upstream test_namespaced_owner, test_cluster_owner)', () => {
  const owner = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'listener-operator-deployer', uid: 'd9287d0a-3069-47c3-8c90-b714dc6d1af5' };
  const ds = patched(daemonSet());
  assert.deepEqual((ds.metadata as JsonMap).ownerReferences, [owner]);
  assert.equal((ds.metadata as JsonMap).namespace, 'stackable-operators');
  const again = patchManifest({ ...daemonSet(), object: ds }, true, 'stackable-operators', SRC);
  assert.ok(!('problem' in again));
  assert.deepEqual((again.object.metadata as JsonMap).ownerReferences, [owner], 'applied twice: still one reference');
  const csiDriver = patched(manifest('CSIDriver', { apiVersion: 'storage.k8s.io/v1', spec: {} }), false);
  assert.deepEqual(csiDriver.metadata, { name: 'x' }, 'cluster-scoped: untouched');
});

test('other kinds are left alone but for namespace and owner', () => {
  const svc = manifest('Service', { apiVersion: 'v1', spec: { ports: [{ port: 80 }] } });
  const out = patched(svc);
  assert.deepEqual(out.spec, { ports: [{ port: 80 }] });
  assert.deepEqual(svc.object.metadata, { name: 'x' }, 'the input is not changed');
});

test('nothing to copy when the deployer has no container of that name and no tolerations', () => {
  const bare = deployerSources({ metadata: { name: 'd', uid: 'u' }, spec: { template: { spec: { containers: [{ name: 'other', env: [{ name: 'X' }] }], tolerations: [] } } } });
  assert.deepEqual([bare.env, bare.resources, bare.tolerations], [undefined, undefined, undefined]);
  const r = patchManifest(daemonSet(), true, 'ns', bare);
  assert.ok(!('problem' in r));
  assert.deepEqual(podSpec(r.object).containers[0]?.env, [{ name: 'NAME1', value: 'value1' }]);
  assert.equal(podSpec(r.object).tolerations, undefined);
});

test('problems, each naming the object: another namespace, containers that are not a list', () => {
  const elsewhere = manifest('Service', { apiVersion: 'v1', metadata: { name: 'x', namespace: 'other' } });
  assert.deepEqual(patchManifest(elsewhere, true, 'stackable-operators', SRC), { problem: 'Service x: metadata.namespace is "other", but the deployer applies into its own namespace "stackable-operators"' });
  const same = manifest('Service', { apiVersion: 'v1', metadata: { name: 'x', namespace: 'stackable-operators' } });
  assert.ok(!('problem' in patchManifest(same, true, 'stackable-operators', SRC)));
  const broken = manifest('DaemonSet', { apiVersion: 'apps/v1', spec: { template: { spec: { containers: { name: 'a' } } } } });
  assert.deepEqual(patchManifest(broken, true, 'ns', SRC), { problem: 'DaemonSet x: spec.template.spec.containers is not a list of containers' });
});
