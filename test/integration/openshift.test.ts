// OpenShift: where the API has security.openshift.io/v1 the chart adds a SecurityContextConstraints
// for each of its two Pods and lets the ServiceAccount `use` exactly those two. Rendered with and
// without the capability (`helm template --api-versions security.openshift.io/v1`), checked field
// by field against the Pods they are for (a model of SCC admission: test/support/scc.ts), and
// applied with a server-side dry-run to the real API server serving the SCC kind (the fixture CRD
// test/fixtures/openshift/securitycontextconstraints-crd.yaml).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl } from '../support/cluster.ts';
import { renderChart, toolsBin, type RbacRule, type Rendered, type Workload } from '../support/helm.ts';
import { freshNamespace, testClient } from '../support/k8s.ts';
import { installSccCrd, sccRefusals, type PodSpecLike, type Scc } from '../support/scc.ts';

const OPENSHIFT = ['security.openshift.io/v1'];

const sccs = (r: Rendered): Scc[] => r.all('SecurityContextConstraints') as unknown as Scc[];
const useRules = (r: Rendered): RbacRule[] => (r.get('ClusterRole') as unknown as { rules: RbacRule[] }).rules.filter((x) => x.apiGroups?.includes('security.openshift.io') === true);
const podOf = (w: Workload): PodSpecLike => w.spec.template.spec as unknown as PodSpecLike;

test('without security.openshift.io/v1 the chart renders no SecurityContextConstraints and no use rule', async () => {
  const r = await renderChart({});
  assert.deepEqual(sccs(r), []);
  assert.deepEqual(useRules(r), []);
});

const VALUE_SETS: [string, Record<string, unknown>][] = [
  ['defaults', {}],
  ['fullnameOverride', { fullnameOverride: 'lo' }],
  ['MicroK8s kubeletDir', { kubeletDir: '/var/snap/microk8s/common/var/lib/kubelet' }],
  ['no SELinux type', { csiNodeDriver: { nodeService: { securityContext: { seLinuxOptions: null } } } }],
];

for (const [name, values] of VALUE_SETS) {
  test(`with security.openshift.io/v1, ${name}: one SCC per Pod, each admitting its own Pod only, and the use rule names exactly them`, async () => {
    const r = await renderChart(values, { apiVersions: OPENSHIFT });
    const controller = r.workload('Deployment');
    const node = r.workload('DaemonSet');
    const byName = new Map(sccs(r).map((s) => [s.metadata.name, s]));
    const nodeScc = byName.get(node.metadata.name);
    const controllerScc = byName.get(controller.metadata.name);
    assert.ok(nodeScc !== undefined && controllerScc !== undefined, `SCCs named after the workloads: ${[...byName.keys()].join(', ')}`);
    assert.equal(byName.size, 2);

    // The node Pod: its hostPaths, root, no capabilities, nothing else.
    assert.equal(nodeScc.allowHostDirVolumePlugin, true);
    assert.deepEqual(nodeScc.volumes, ['hostPath', 'projected']);
    assert.deepEqual(nodeScc.runAsUser, { type: 'MustRunAs', uid: 0 });
    assert.deepEqual(nodeScc.seLinuxContext, { type: 'RunAsAny' }, 'the node service asks for spc_t');
    // The controller Pod: no host access, any non-root user.
    assert.equal(controllerScc.allowHostDirVolumePlugin, false);
    assert.deepEqual(controllerScc.volumes, ['emptyDir', 'projected']);
    assert.deepEqual(controllerScc.runAsUser, { type: 'MustRunAsNonRoot' });
    for (const scc of [nodeScc, controllerScc]) {
      const what = scc.metadata.name;
      assert.equal(scc.allowPrivilegedContainer, false, what);
      assert.deepEqual([scc.allowHostNetwork, scc.allowHostPID, scc.allowHostIPC, scc.allowHostPorts], [false, false, false, false], `${what}: no host namespaces or ports`);
      assert.deepEqual(scc.allowedCapabilities, [], `${what}: no capability may be added`);
      assert.deepEqual(scc.requiredDropCapabilities, ['ALL'], `${what}: every capability dropped`);
      assert.equal(scc.allowPrivilegeEscalation, false, what);
      assert.equal(scc.readOnlyRootFilesystem, true, what);
      assert.deepEqual(scc.seccompProfiles, ['runtime/default'], what);
    }

    // Each admits its own Pod, and not the other one.
    assert.deepEqual(sccRefusals(nodeScc, podOf(node)), [], 'the node SCC admits the node Pod');
    assert.deepEqual(sccRefusals(controllerScc, podOf(controller)), [], 'the controller SCC admits the controller Pod');
    assert.notDeepEqual(sccRefusals(nodeScc, podOf(controller)), [], 'the node SCC does not admit the controller Pod');
    assert.notDeepEqual(sccRefusals(controllerScc, podOf(node)), [], 'the controller SCC does not admit the node Pod');
    // Nothing in either Pod asks for more than its SCC allows: privileged or an added capability would be refused.
    const privileged = { ...podOf(node), containers: podOf(node).containers.map((c) => ({ ...c, securityContext: { ...c.securityContext, privileged: true } })) };
    assert.match(sccRefusals(nodeScc, privileged).join('; '), /privileged/);
    const sysAdmin = { ...podOf(node), containers: podOf(node).containers.map((c) => ({ ...c, securityContext: { ...c.securityContext, capabilities: { add: ['SYS_ADMIN'] } } })) };
    assert.match(sccRefusals(nodeScc, sysAdmin).join('; '), /adds capabilities SYS_ADMIN/);

    // The ServiceAccount may use exactly these two; the binding gives the role to the workloads' ServiceAccount.
    assert.deepEqual(useRules(r), [{ apiGroups: ['security.openshift.io'], resources: ['securitycontextconstraints'], resourceNames: [nodeScc.metadata.name, controllerScc.metadata.name], verbs: ['use'] }]);
    const binding = r.get('ClusterRoleBinding') as unknown as { roleRef: { name: string }; subjects: { name: string }[] };
    assert.equal(binding.roleRef.name, r.get('ClusterRole').metadata.name);
    assert.deepEqual(binding.subjects.map((s) => s.name), [node.spec.template.spec.serviceAccountName]);
    assert.equal(controller.spec.template.spec.serviceAccountName, node.spec.template.spec.serviceAccountName);
  });
}

test('with the SCC kind served by the API server: the chart rendered for OpenShift passes a server-side dry-run apply (strict field validation)', async (t) => {
  const client = await testClient();
  t.after(() => { client.close(); });
  await installSccCrd(client);
  const ns = await freshNamespace(t, client, 'openshift');
  const r = await renderChart({ fullnameOverride: `lo-${ns}` }, { namespace: ns, apiVersions: OPENSHIFT });
  const cluster = { binDir: toolsBin(), kubeconfig: process.env.KUBECONFIG ?? '' };
  const out = await kubectl(cluster, ['apply', '--server-side', '--dry-run=server', `--namespace=${ns}`, '--field-manager=openshift-dry-run', '-f', '-'], r.yaml);
  const applied = out.trim().split('\n');
  assert.equal(applied.length, r.objects.length, out);
  for (const line of applied) assert.match(line, /serverside-applied \(server dry run\)$/, line);
  assert.equal(applied.filter((l) => l.startsWith('securitycontextconstraints.security.openshift.io/')).length, 2, out);

  // The validation is real: a field the kind does not have is refused.
  const scc = sccs(r)[0];
  assert.ok(scc !== undefined);
  const refused = await kubectl(cluster, ['apply', '--server-side', '--dry-run=server', '-f', '-'], JSON.stringify({ ...scc, allowHostDirVolumePlugins: true })).then(() => '', (e: unknown) => String(e));
  assert.match(refused, /\.allowHostDirVolumePlugins: field not declared in schema/);
});
