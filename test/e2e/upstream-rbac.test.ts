// A drop-in under the permissions upstream's chart gives: the chart's ClusterRole is replaced by
// upstream's rules (test/support/upstream-rbac.ts) and the controller restarted. It finds
// EndpointSlices forbidden and reads v1 Endpoints, which upstream grants, so a NodePort Listener
// whose Node is known only from its endpoints still gets that Node's address; nothing is refused.
// The chart's own rules are put back at the end, with a fresh controller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { e2eClient, e2eState, ephemeralListenerVolume, httpGet, waitPodReady, webContainer, WEB_PORT } from '../support/e2e.ts';
import { containerLog, waitWorkloadPod } from '../support/e2e-operator.ts';
import { eventually, freshNamespace } from '../support/k8s.ts';
import { UPSTREAM_CLUSTER_ROLE_RULES } from '../support/upstream-rbac.ts';
import type { RbacRule } from '../support/helm.ts';
import type { KubeClient } from '../../src/k8s/client.ts';
import { LISTENERS, PODS, at } from '../../src/k8s/resources.ts';

const CLUSTER_ROLES = { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles' };

interface ClusterRole { metadata: { name: string; resourceVersion?: string }; rules: RbacRule[] }
interface ListenerStatus { status?: { ingressAddresses?: { address: string; ports: Record<string, number> }[]; nodePorts?: Record<string, number> } }

/** Replaces the ClusterRole's rules, then restarts the controller Pod and waits until it is Ready. */
type WorkloadPod = Awaited<ReturnType<typeof waitWorkloadPod>>;

async function withRules(client: KubeClient, roleName: string, rules: readonly RbacRule[]): Promise<WorkloadPod> {
  const state = e2eState();
  const role = await client.get<ClusterRole>(at(CLUSTER_ROLES, undefined, roleName));
  await client.replace(at(CLUSTER_ROLES, undefined, roleName), { ...role, rules });
  const old = await waitWorkloadPod(client, state.operatorNamespace, state.deployment.selector, 'controller');
  await client.delete(at(PODS, state.operatorNamespace, old.metadata.name), { gracePeriodSeconds: 5 });
  return eventually('a new controller Pod Ready', async () => {
    const p = await waitWorkloadPod(client, state.operatorNamespace, state.deployment.selector, 'controller', 60_000);
    return p.metadata.uid === old.metadata.uid ? undefined : p;
  }, 90_000);
}

test('drop-in under upstream\'s ClusterRole: EndpointSlices forbidden, v1 Endpoints read instead, nothing refused', { timeout: 300_000 }, async (t) => {
  const state = e2eState();
  const client = await e2eClient(t);
  const roleName = `${state.deployment.name.replace(/-csi-provisioner$/, '')}-clusterrole`;
  const ours = (await client.get<ClusterRole>(at(CLUSTER_ROLES, undefined, roleName))).rules;
  t.after(async () => { await withRules(client, roleName, ours); });
  const controller = await withRules(client, roleName, UPSTREAM_CLUSTER_ROLE_RULES);

  // A NodePort Listener that is not pinned: its Node comes only from its ready endpoints.
  const ns = await freshNamespace(t, client, 'e2e-upstream-rbac');
  await client.create(at(PODS, ns), {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' },
    spec: {
      containers: [webContainer(['listener'])],
      volumes: [ephemeralListenerVolume('listener', { 'listeners.stackable.tech/listener-class': 'external-unstable' })],
      terminationGracePeriodSeconds: 1,
    },
  });
  await waitPodReady(client, ns, 'web');
  const status = await eventually('the Listener reports the Node of its ready endpoint', async () => {
    const l = await client.get<ListenerStatus>(at(LISTENERS, ns, 'web-listener'));
    return l.status?.ingressAddresses?.some((a) => a.address === state.nodeIp) === true ? l.status : undefined;
  }, 60_000);
  const port = status.nodePorts?.http;
  assert.ok(port !== undefined, 'a node port');
  // kube-proxy programs the node port shortly after the Service appears.
  await eventually('served through the node port', async () => ((await httpGet(`http://${state.nodeIp}:${port}/`)).status === 200 ? true : undefined), 30_000);

  const log = await containerLog(state.podLogsDir, state.operatorNamespace, controller, 'csi-controller-service');
  assert.match(log, /EndpointSlices are forbidden .* reading v1 Endpoints instead/);
  assert.doesNotMatch(log, /403 Forbidden/, 'nothing else refused');
  t.diagnostic(`under upstream's rules: ${state.nodeIp}:${port} reached (web port ${WEB_PORT}); the controller read v1 Endpoints`);
});
