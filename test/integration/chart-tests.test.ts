// The chart's `helm test` hooks (templates/tests), rendered: two Pods (all `helm test --logs` can
// read), placed as the node service is, running the operator image's own checks unprivileged, and
// never selected by the chart's workloads or Service. They run for real in the e2e tier
// (test/e2e/helm-test.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubectl } from '../support/cluster.ts';
import { renderChart, renderChartError, toolsBin, type K8sObject, type PodSpec, type Workload } from '../support/helm.ts';
import { freshNamespace, testClient } from '../support/k8s.ts';
import { NAMESPACES, at } from '../../src/k8s/resources.ts';

type HookPod = K8sObject & { spec: PodSpec & { restartPolicy: string; automountServiceAccountToken?: boolean; containers: { command?: string[]; env?: { name: string; valueFrom?: unknown; value?: string }[] }[]; volumes?: { ephemeral?: { volumeClaimTemplate: { metadata: { annotations: Record<string, string> } } } }[] } };

const hooks = (objects: K8sObject[]): HookPod[] => objects.filter((o) => o.metadata.annotations?.['helm.sh/hook'] === 'test') as HookPod[];
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

test('helm test hooks: two Pods running the image\'s checks, placed as the node service, selected by nothing', async () => {
  const placement = { nodeSelector: { 'node-role/listeners': 'true' }, tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] }] } } } };
  const r = await renderChart({ fullnameOverride: 'lo', csiNodeDriver: placement, tests: { listenerClass: 'my-class' }, image: { repository: 'registry.example/lo', tag: '9' } }, { tests: true });
  const pods = hooks(r.objects);
  assert.deepEqual(pods.map((p) => `${p.kind} ${p.metadata.name}`).sort(), ['Pod lo-test-driver-registered', 'Pod lo-test-listener']);
  const node = r.workload('DaemonSet');
  const sa = r.workload('Deployment').spec.template.spec.serviceAccountName;
  for (const p of pods) {
    const what = p.metadata.name;
    assert.equal(p.metadata.annotations?.['helm.sh/hook-delete-policy'], 'before-hook-creation', `${what}: kept for helm test --logs, replaced by the next run`);
    assert.equal(p.spec.restartPolicy, 'Never');
    assert.equal(p.spec.serviceAccountName, sa, `${what}: the operator's ServiceAccount`);
    assert.deepEqual([p.spec.nodeSelector, p.spec.tolerations, p.spec.affinity], [placement.nodeSelector, placement.tolerations, placement.affinity], `${what}: placed as the node service`);
    const [c] = p.spec.containers;
    assert.equal(c?.image, 'registry.example/lo:9', `${what}: the operator image`);
    assert.equal(c.command?.slice(0, 2).join(' '), 'node /app/dist/cli/chart-tests.js');
    assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    for (const w of [node, r.workload('Deployment')] as Workload[]) assert.ok(!matches(w.spec.selector.matchLabels, p.metadata.labels), `${what}: not selected by ${w.kind}`);
    const svc = r.get('Service') as unknown as { spec: { selector: Record<string, string> } };
    assert.ok(!matches(svc.spec.selector, p.metadata.labels), `${what}: not selected by the Service`);
  }
  const listener = pods.find((p) => p.metadata.name === 'lo-test-listener');
  assert.equal(listener?.spec.automountServiceAccountToken, false, 'the listener check needs no API');
  assert.equal(listener.spec.volumes?.[0]?.ephemeral?.volumeClaimTemplate.metadata.annotations['listeners.stackable.tech/listener-class'], 'my-class');
  const driver = pods.find((p) => p.metadata.name === 'lo-test-driver-registered');
  assert.deepEqual(driver?.spec.containers[0]?.env?.map((e) => e.name), ['NODE_NAME', 'DRIVER']);
});

test('helm test hooks: without a listener class the chart says what to set', async () => {
  const err = await renderChartError({ tests: { listenerClass: '' } });
  assert.match(err, /tests\.listenerClass must name a ListenerClass/);
});

test('helm test hooks: the Pods meet the "restricted" Pod Security Standard (server-side dry-run)', async (t) => {
  const client = await testClient();
  t.after(() => { client.close(); });
  const ns = await freshNamespace(t, client, 'helm-tests');
  const r = await renderChart({ fullnameOverride: `lo-${ns}` }, { namespace: ns, tests: true });
  const cluster = { binDir: toolsBin(), kubeconfig: process.env.KUBECONFIG ?? '' };
  await kubectl(cluster, ['apply', '--server-side', `--namespace=${ns}`, '-f', '-'], JSON.stringify(r.get('ServiceAccount')));
  await client.mergePatch(at(NAMESPACES, undefined, ns), { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
  for (const p of hooks(r.objects)) {
    const out = await kubectl(cluster, ['create', '--dry-run=server', `--namespace=${ns}`, '-f', '-'], JSON.stringify(p));
    assert.match(out, /created \(server dry run\)/, p.metadata.name);
  }
});
