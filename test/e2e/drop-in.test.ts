// The operator as upstream's deployment runs it, on the real node: the chart ships no CRDs, so
// the controller Pod installed them (with the conversion stanza, under upstream's field manager);
// the API server reaches the conversion webhook through the chart's Service (its service proxy,
// as it does for conversions); the controller read the cluster domain from the node's kubelet;
// and the node plugin's socket answers gRPC reflection (grpcurl, as users of upstream do).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { e2eClient, e2eState } from '../support/e2e.ts';
import { containerLog, waitWorkloadPod } from '../support/e2e-operator.ts';
import { CRDS, at } from '../../src/k8s/resources.ts';
import { resourcePath } from '../../src/k8s/client.ts';

const execFileAsync = promisify(execFile);
const GROUP = 'listeners.stackable.tech';

interface Crd {
  metadata: { name: string; managedFields?: { manager: string }[] };
  spec: { conversion?: { strategy: string; webhook?: { clientConfig: { service: { name: string; namespace: string; path: string; port: number } } } } };
}

test('drop-in: the operator installed its CRDs, the API server reaches its webhook through the Service, the cluster domain came from the kubelet', async (t) => {
  const state = e2eState();
  const client = await e2eClient(t);
  const ns = state.operatorNamespace;
  const service = state.deployment.name.replace(/-csi-provisioner$/, '');

  for (const name of [`listenerclasses.${GROUP}`, `listeners.${GROUP}`, `podlisteners.${GROUP}`]) {
    const crd = await client.get<Crd>(at(CRDS, undefined, name));
    assert.equal(crd.spec.conversion?.strategy, 'Webhook', name);
    assert.deepEqual(crd.spec.conversion.webhook?.clientConfig.service, { name: service, namespace: ns, path: `/convert/${name}`, port: 8443 });
    assert.ok(crd.metadata.managedFields?.some((m) => m.manager === 'listener-operator'), `${name}: applied by the operator`);
  }

  // The API server's way to the webhook: the Service, port 8443, to the controller Pod.
  const proxy = resourcePath(at({ group: '', version: 'v1', plural: 'services' }, ns, `https:${service}:8443`, 'proxy'));
  const health = await execFileAsync(path.join(state.binDir, 'kubectl'), [`--kubeconfig=${state.kubeconfig}`, 'get', '--raw', `${proxy}/health`], { timeout: 20_000 });
  assert.equal(health.stdout, 'ok');
  const review = await client.request<{ response: { uid: string; result: { status: string }; convertedObjects: unknown[] } }>('create', 'POST', `${proxy}/convert/listeners.${GROUP}`, {
    body: {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview',
      request: { uid: 'e2e-1', desiredAPIVersion: `${GROUP}/v1alpha1`, objects: [{ apiVersion: `${GROUP}/v1alpha1`, kind: 'Listener', metadata: { name: 'x', namespace: 'y' }, spec: {} }] },
    },
  });
  assert.equal(review.response.uid, 'e2e-1');
  assert.equal(review.response.result.status, 'Success');
  assert.equal(review.response.convertedObjects.length, 1);

  // The chart sets no cluster domain: the controller asked the kubelet of its Node.
  const controller = await waitWorkloadPod(client, ns, state.deployment.selector, 'controller');
  const log = await containerLog(state.podLogsDir, ns, controller, 'csi-controller-service');
  assert.match(log, /Using the cluster domain of the kubelet's configuration.*clusterDomain="?cluster\.local\b/);
  assert.match(log, /Applied CRD/);
  t.diagnostic(`webhook reached through ${proxy}; ${(log.match(/Applied CRD[^\n]*/g) ?? []).length} CRDs applied by ${controller.metadata.name}`);

  // grpcurl against the node plugin's socket, where the kubelet finds it.
  const socket = path.join(state.kubeletDir, 'plugins', 'listeners.stackable.tech', 'csi.sock');
  const { stdout } = await execFileAsync(path.join(state.binDir, 'grpcurl'), ['-plaintext', '-max-time', '10', '-unix', socket, 'list'], { timeout: 20_000 });
  assert.match(stdout, /csi\.v1\.Node/);
  assert.match(stdout, /csi\.v1\.Identity/);
});
