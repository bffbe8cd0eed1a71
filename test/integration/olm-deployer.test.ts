// `listener-operator olm-deployer` against the real API server, with a bundle directory generated
// from the chart as upstream's bundle is (rendered for OpenShift; the SCCs, CSIDriver,
// StorageClass, Service, DaemonSet and Deployment, one file each), laid out as the kubelet mounts
// a ConfigMap (`..data` and timestamped directories, each key a link). The deployer's own
// Deployment is made as OLM makes it (labelled as owned by the ClusterServiceVersion, no replicas).
// Then: every object applied, owned (namespaced only) by the deployer, with its env, resources and
// tolerations; again without change; --keep-alive; and broken bundles, each refused with the file
// named and nothing applied.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { KubeClient, ResourceRef } from '../../src/k8s/client.ts';
import { DEPLOYMENTS, at } from '../../src/k8s/resources.ts';
import { DEPLOYER_CONTAINER } from '../../src/olm/patch.ts';
import { renderChart, type K8sObject } from '../support/helm.ts';
import { eventually, freshNamespace, testClient } from '../support/k8s.ts';
import { SCCS, installSccCrd } from '../support/scc.ts';

const MAIN = path.join(import.meta.dirname, '..', '..', 'src', 'main.ts');
const CONFIG_MAPS = { group: '', version: 'v1', plural: 'configmaps' };
const TOLERATIONS = [{ key: 'keep-out', value: 'yes', operator: 'Equal', effect: 'NoSchedule' }];
const RESOURCES = { limits: { cpu: '200m', memory: '384Mi' }, requests: { cpu: '150m', memory: '320Mi' } };
const ENV = [{ name: 'OLM_SUBSCRIPTION_VAR', value: 'from-the-subscription' }, { name: 'CONSOLE_LOG_LEVEL', value: 'debug' }];

/** Writes `files` (name → YAML) into `dir` as a ConfigMap volume holds them. */
async function configMapVolume(dir: string, files: Record<string, string>): Promise<void> {
  const data = path.join(dir, '..2026_01_01_00_00_00.000000001');
  await mkdir(data, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(data, name), text);
  await symlink('..2026_01_01_00_00_00.000000001', path.join(dir, '..data'));
  for (const name of Object.keys(files)) await symlink(path.join('..data', name), path.join(dir, name));
}

/** The bundle as upstream's generator builds it from `helm template --api-versions security.openshift.io/v1`. */
async function bundleFiles(ns: string): Promise<{ files: Record<string, string>; objects: K8sObject[] }> {
  // No Pod may start on the shared cluster's Nodes; cluster-scoped names unique per test.
  const nowhere = { 'olm-test/no-such-node': 'true' };
  const r = await renderChart({ fullnameOverride: `lo-${ns}`, csiProvisioner: { nodeSelector: nowhere }, csiNodeDriver: { nodeSelector: nowhere } }, { namespace: ns, apiVersions: ['security.openshift.io/v1'] });
  const files: Record<string, string> = {};
  const objects: K8sObject[] = [];
  for (const o of r.objects) {
    const unique = o.kind === 'CSIDriver' || o.kind === 'StorageClass' ? { ...o, metadata: { ...o.metadata, name: `${ns}.${o.metadata.name}` } } : o;
    const key = { SecurityContextConstraints: `scc-${o.metadata.name}.yaml`, CSIDriver: 'csidriver.yaml', StorageClass: 'storageclass.yaml', Service: 'service.yaml', DaemonSet: `${o.metadata.name}.yaml`, Deployment: `${o.metadata.name}.yaml` }[o.kind];
    if (key === undefined) continue; // ServiceAccount and RBAC come from the ClusterServiceVersion in a bundle
    files[key] = stringify(unique);
    objects.push(unique);
  }
  return { files, objects };
}

async function createDeployer(client: KubeClient, ns: string, csv: string): Promise<{ name: string; uid: string }> {
  const name = 'listener-operator-deployer-0-1-0';
  const labels = { app: 'deployer' };
  const d = await client.create<{ metadata: { name: string; uid: string } }>(at(DEPLOYMENTS, ns), {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, labels: { 'olm.owner': csv, 'olm.owner.kind': 'ClusterServiceVersion', 'olm.owner.namespace': ns } },
    spec: {
      replicas: 0, selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { tolerations: TOLERATIONS, containers: [{ name: DEPLOYER_CONTAINER, image: 'localhost/listener-operator:0', env: ENV, resources: RESOURCES }] } },
    },
  });
  return d.metadata;
}

interface Run { code: number | null; output: string }

/** Runs `olm-deployer <args>`; `until`: SIGTERM once the output satisfies it. */
function deployer(args: string[], until?: (output: string) => boolean): Promise<Run> {
  const child = spawn(process.execPath, [MAIN, 'olm-deployer', ...args], { env: { PATH: process.env.PATH ?? '', KUBECONFIG: process.env.KUBECONFIG ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let signalled = false;
  const timer = setTimeout(() => { child.kill('SIGKILL'); }, 60_000);
  const onData = (d: Buffer): void => {
    output += d.toString();
    if (!signalled && until?.(output) === true) {
      signalled = true; // once, as the kubelet does
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise<Run>((resolve) => { child.on('exit', (code) => { clearTimeout(timer); resolve({ code, output }); }); });
}

function refOf(o: K8sObject, ns: string): ResourceRef {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const plural = { SecurityContextConstraints: SCCS.plural, CSIDriver: 'csidrivers', StorageClass: 'storageclasses', Service: 'services', DaemonSet: 'daemonsets', Deployment: 'deployments' }[o.kind] ?? '?';
  const namespaced = ['Service', 'DaemonSet', 'Deployment'].includes(o.kind);
  return { group: group ?? '', version: version ?? '', plural, namespace: namespaced ? ns : undefined, name: o.metadata.name };
}

interface Live { metadata: { namespace?: string; ownerReferences?: { kind: string; name: string; uid: string }[]; managedFields?: { manager: string }[] }; spec?: { template?: { spec: { tolerations?: unknown; containers: { name: string; env?: { name: string; value?: string }[]; resources?: unknown }[] } } } }

async function setUp(t: TestContext): Promise<{ client: KubeClient; ns: string; csv: string; owner: { name: string; uid: string }; dir: string; objects: K8sObject[] }> {
  const client = await testClient();
  t.after(() => { client.close(); });
  await installSccCrd(client);
  const ns = await freshNamespace(t, client, 'olm');
  const csv = `listener-operator.v0.1.0-${ns}`;
  const owner = await createDeployer(client, ns, csv);
  const tmp = await mkdtemp(path.join(tmpdir(), 'olm-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const dir = path.join(tmp, 'manifests');
  await mkdir(dir);
  const { files, objects } = await bundleFiles(ns);
  await configMapVolume(dir, files);
  t.after(async () => {
    for (const o of objects.filter((x) => refOf(x, ns).namespace === undefined)) await client.delete(refOf(o, ns)).catch(() => undefined);
  });
  return { client, ns, csv, owner, dir, objects };
}

test('olm-deployer applies the bundle: owner on namespaced objects only, the deployer\'s tolerations, env and resources handed on; again, unchanged', { timeout: 120_000 }, async (t) => {
  const { client, ns, csv, owner, dir, objects } = await setUp(t);
  const args = ['run', '--csv', csv, '--deployer', owner.name, '--namespace', ns, '--dir', dir];
  const first = await deployer(args);
  assert.equal(first.code, 0, first.output);
  assert.match(first.output, new RegExp(`Applied ${objects.length} objects`));
  // Read each key once, under its own name (the ConfigMap's internal directories skipped).
  assert.doesNotMatch(first.output, /\.\.data|\.\.2026/);
  const order = [...first.output.matchAll(/Applied (\w+) \S+ file=/g)].map((m) => m[1]);
  assert.deepEqual(order, ['SecurityContextConstraints', 'SecurityContextConstraints', 'CSIDriver', 'StorageClass', 'Service', 'DaemonSet', 'Deployment'], 'the decided order');

  const check = async (): Promise<void> => {
    for (const o of objects) {
      const ref = refOf(o, ns);
      const live = await client.get<Live>(ref);
      const what = `${o.kind} ${o.metadata.name}`;
      assert.ok(live.metadata.managedFields?.some((m) => m.manager === 'stkbl-listener-olm-deployer'), `${what}: applied by upstream's field manager`);
      if (ref.namespace === undefined) {
        assert.equal(live.metadata.ownerReferences, undefined, `${what}: cluster-scoped, no owner`);
        continue;
      }
      assert.deepEqual(live.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid]), [['Deployment', owner.name, owner.uid]], `${what}: owned by the deployer`);
      const pod = live.spec?.template?.spec;
      if (pod === undefined) continue;
      if (o.kind === 'DaemonSet') assert.deepEqual(pod.tolerations, TOLERATIONS, `${what}: the deployer's tolerations`);
      else assert.notDeepEqual(pod.tolerations, TOLERATIONS, `${what}: tolerations only into DaemonSets`);
      for (const c of pod.containers) {
        assert.deepEqual(c.resources, RESOURCES, `${what} ${c.name}: the deployer's resources`);
        for (const e of ENV) assert.deepEqual(c.env?.filter((x) => x.name === e.name), [e], `${what} ${c.name}: ${e.name} once, the deployer's`);
      }
    }
  };
  await check();
  const second = await deployer(args);
  assert.equal(second.code, 0, second.output);
  await check();
});

test('olm-deployer --keep-alive stays after applying, until SIGTERM', { timeout: 120_000 }, async (t) => {
  const { csv, owner, ns, dir } = await setUp(t);
  const r = await deployer(['run', '--csv', csv, '--deployer', owner.name, '--namespace', ns, '--dir', dir, '--keep-alive'], (out) => out.includes('Keeping alive until SIGTERM'));
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /Applied \d+ objects[\s\S]*Keeping alive until SIGTERM[\s\S]*Stopping: SIGTERM/);
});

const BAD: { name: string; file: string; text: string; expect: RegExp }[] = [
  { name: 'invalid YAML', file: 'zz-broken.yaml', text: 'apiVersion: v1\nkind: [unclosed\n', expect: /zz-broken\.yaml \(document 1\): not valid YAML/ },
  { name: 'a kind the API server does not serve', file: 'widget.yaml', text: 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n', expect: /widget\.yaml \(document 1\): Widget w: the API server does not serve example\.com\/v1/ },
  { name: 'an object in another namespace', file: 'elsewhere.yaml', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: kube-system}\n', expect: /elsewhere\.yaml \(document 1\): ConfigMap c: metadata\.namespace is "kube-system"/ },
  { name: 'an object the API server refuses (dry-run)', file: 'zz-bad-service.yaml', text: 'apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{port: 70000}]}\n', expect: /zz-bad-service\.yaml \(document 1\): Service bad refused by the API server: .*70000/ },
  { name: 'the same object twice', file: 'zz-twice.yaml', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\n', expect: /zz-twice\.yaml \(document 1\): ConfigMap good is also in \S*\/good\.yaml \(document 1\)/ },
];

test('olm-deployer refuses a broken bundle before any write, naming the file and the reason', { timeout: 180_000 }, async (t) => {
  const { client, ns, csv, owner } = await setUp(t);
  const base = await mkdtemp(path.join(tmpdir(), 'olm-bad-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  // A good object that sorts before the bad one (a ConfigMap goes before a Service): it must not be applied either.
  const good = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\ndata: {a: b}\n';
  for (const bad of BAD) {
    await t.test(bad.name, async () => {
      const dir = path.join(base, bad.file);
      await mkdir(dir);
      await writeFile(path.join(dir, 'good.yaml'), good);
      await writeFile(path.join(dir, bad.file), bad.text);
      const r = await deployer(['--csv', csv, '--deployer', owner.name, '--namespace', ns, '--dir', dir]);
      assert.equal(r.code, 1, r.output);
      assert.match(r.output, /Nothing applied: 1 problem/);
      assert.match(r.output, bad.expect);
      assert.equal(await client.getOptional(at(CONFIG_MAPS, ns, 'good')), undefined, 'the good object was not applied');
    });
  }
  await t.test('no Deployment of that name owned by the ClusterServiceVersion', async () => {
    const dir = path.join(base, 'no-deployer');
    await mkdir(dir);
    await writeFile(path.join(dir, 'good.yaml'), good);
    const r = await deployer(['--csv', csv, '--deployer', 'someone-else', '--namespace', ns, '--dir', dir]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, new RegExp(`no Deployment named someone-else among those owned by the ClusterServiceVersion ${csv.replaceAll('.', '\\.')}`));
    assert.equal(await client.getOptional(at(CONFIG_MAPS, ns, 'good')), undefined);
  });
  await t.test('an empty directory', async () => {
    const dir = path.join(base, 'empty');
    await mkdir(dir);
    const r = await deployer(['--csv', csv, '--deployer', owner.name, '--namespace', ns, '--dir', dir]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /empty: no manifest files in the directory/);
  });
  // The good bundle alone does apply (the refusals above were the bad files' doing).
  const dir = path.join(base, 'good-only');
  await mkdir(dir);
  await writeFile(path.join(dir, 'good.yaml'), good);
  const r = await deployer(['--csv', csv, '--deployer', owner.name, '--namespace', ns, '--dir', dir]);
  assert.equal(r.code, 0, r.output);
  await eventually('the good ConfigMap', async () => ((await client.getOptional(at(CONFIG_MAPS, ns, 'good'))) === undefined ? undefined : true));
});
