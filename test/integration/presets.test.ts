// The preset ListenerClasses when the API server refuses them: a 403 (no permission) or a 422 (an
// admission policy says no) is an error log and an event naming the class and the reason, and the
// presets give up on that class instead of retrying forever; a 404 (CRDs not served yet) is waited
// out (controller-startup.test.ts and crd-maintenance.test.ts).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/cli/log.ts';
import { ensurePresetClasses } from '../../src/controller/presets.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { EventRecorder } from '../../src/k8s/events.ts';
import { loadClientConfig } from '../../src/k8s/kubeconfig.ts';
import { at } from '../../src/k8s/resources.ts';
import { tempDir } from '../support/csi.ts';
import { eventually, freshNamespace, settlesWithin, testClient } from '../support/k8s.ts';
import { installCrds } from '../support/operator.ts';
import { serviceAccountToken, writeTokenKubeconfig } from '../support/rbac.ts';

const RBAC = 'rbac.authorization.k8s.io';
const CLUSTER_ROLES = { group: RBAC, version: 'v1', plural: 'clusterroles' };
const CLUSTER_ROLE_BINDINGS = { group: RBAC, version: 'v1', plural: 'clusterrolebindings' };
const POLICIES = { group: 'admissionregistration.k8s.io', version: 'v1', plural: 'validatingadmissionpolicies' };
const POLICY_BINDINGS = { group: 'admissionregistration.k8s.io', version: 'v1', plural: 'validatingadmissionpolicybindings' };

/** A client acting as ServiceAccount `name` of `ns`, with exactly these cluster-wide rules. */
async function serviceAccountClient(t: TestContext, admin: KubeClient, ns: string, name: string, rules: unknown[]): Promise<{ client: KubeClient; username: string }> {
  await admin.create(at({ group: '', version: 'v1', plural: 'serviceaccounts' }, ns), { metadata: { name } });
  const role = `${ns}-${name}`;
  await admin.create(at(CLUSTER_ROLES, undefined), { metadata: { name: role }, rules });
  await admin.create(at(CLUSTER_ROLE_BINDINGS, undefined), { metadata: { name: role }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role }, subjects: [{ kind: 'ServiceAccount', name, namespace: ns }] });
  t.after(async () => {
    await admin.delete(at(CLUSTER_ROLE_BINDINGS, undefined, role)).catch(() => undefined);
    await admin.delete(at(CLUSTER_ROLES, undefined, role)).catch(() => undefined);
  });
  const cfg = await loadClientConfig({ kubeconfig: process.env.KUBECONFIG });
  const ca = await readFile(path.join(process.env.LISTENER_TEST_CLUSTER_DIR ?? '', 'pki', 'ca.crt'), 'utf8');
  const kubeconfig = await writeTokenKubeconfig(await tempDir(t, 'presets-'), cfg.server.origin, ca, await serviceAccountToken(admin, ns, name));
  const client = await KubeClient.fromKubeconfig(kubeconfig);
  t.after(() => { client.close(); });
  return { client, username: `system:serviceaccount:${ns}:${name}` };
}

const EVENTS_ONLY = [{ apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] }];
const PRESETS = ['cluster-internal', 'external-stable', 'external-unstable'];

async function refusedEvents(admin: KubeClient, since: number, status: number): Promise<string[] | undefined> {
  const list = await admin.list<{ reason: string; note: string; regarding: { kind: string; name: string }; eventTime: string }>(at({ group: 'events.k8s.io', version: 'v1', plural: 'events' }, 'default'));
  const names = list.items
    .filter((e) => e.reason === 'PresetRefused' && e.regarding.kind === 'ListenerClass' && Date.parse(e.eventTime) >= since - 1000 && e.note.includes(`: ${status} `))
    .map((e) => e.regarding.name).sort();
  return PRESETS.every((p) => names.includes(p)) ? [...new Set(names)] : undefined;
}

test('a preset the API server forbids (403) or an admission policy refuses (422) is reported, not retried forever', async (t) => {
  const admin = await testClient();
  t.after(() => { admin.close(); });
  await installCrds(admin);
  const ns = await freshNamespace(t, admin, 'presets');
  const lines: string[] = [];
  const log = createLogger('info', 'json', new Writable({ write(chunk: Buffer, _e, cb): void { lines.push(chunk.toString()); cb(); } }));

  // 403: a ServiceAccount that may publish events but not create ListenerClasses.
  const forbidden = await serviceAccountClient(t, admin, ns, 'no-create', EVENTS_ONLY);
  const t403 = Date.now();
  const outcomes403 = await settlesWithin(ensurePresetClasses({
    client: forbidden.client, preset: 'stable-nodes', log, events: new EventRecorder(forbidden.client, 'listeners.stackable.tech/listener-controller', 'test'),
  }), 30_000, 'the presets under a 403');
  assert.deepEqual(outcomes403, { 'cluster-internal': 'refused', 'external-unstable': 'refused', 'external-stable': 'refused' });
  assert.deepEqual(await eventually('the events of the refusals (403)', () => refusedEvents(admin, t403, 403)), PRESETS);
  assert.ok(lines.some((l) => l.includes('"level":"ERROR"') && l.includes('Preset ListenerClass cluster-internal (preset stable-nodes) was refused by the API server') && l.includes('403')), lines.join(''));

  // 422: allowed by RBAC, refused by a ValidatingAdmissionPolicy for this ServiceAccount only.
  const denied = await serviceAccountClient(t, admin, ns, 'denied', [...EVENTS_ONLY, { apiGroups: ['listeners.stackable.tech'], resources: ['listenerclasses'], verbs: ['create'] }]);
  const policy = `${ns}-no-presets`;
  await admin.create(at(POLICIES, undefined), {
    metadata: { name: policy },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: { resourceRules: [{ apiGroups: ['listeners.stackable.tech'], apiVersions: ['*'], operations: ['CREATE'], resources: ['listenerclasses'] }] },
      matchConditions: [{ name: 'this-test-only', expression: `request.userInfo.username == "${denied.username}"` }],
      validations: [{ expression: 'false', message: 'preset classes are managed by the platform team here' }],
    },
  });
  await admin.create(at(POLICY_BINDINGS, undefined), { metadata: { name: policy }, spec: { policyName: policy, validationActions: ['Deny'] } });
  t.after(async () => {
    await admin.delete(at(POLICY_BINDINGS, undefined, policy)).catch(() => undefined);
    await admin.delete(at(POLICIES, undefined, policy)).catch(() => undefined);
  });
  const t422 = Date.now();
  // The policy takes effect once the API server has loaded it: until then a create may pass (409 if it exists).
  const outcomes422 = await eventually('the policy in effect and the presets refused', async () => {
    const o = await settlesWithin(ensurePresetClasses({
      client: denied.client, preset: 'stable-nodes', log, events: new EventRecorder(denied.client, 'listeners.stackable.tech/listener-controller', 'test'),
    }), 30_000, 'the presets under a 422');
    return Object.values(o).every((v) => v === 'refused') ? o : undefined;
  }, 30_000);
  assert.deepEqual(Object.keys(outcomes422).sort(), PRESETS);
  assert.deepEqual(await eventually('the events of the refusals (422)', () => refusedEvents(admin, t422, 422)), PRESETS);
  assert.ok(lines.some((l) => l.includes('preset classes are managed by the platform team here')), 'the policy\'s message reaches the log');
});
