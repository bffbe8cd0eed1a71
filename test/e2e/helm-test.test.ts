// `helm test` on the release the e2e setup installed (helm upgrade --install, the pinned helm): the
// chart's test hooks (templates/tests) run as Pods on the real node, from the operator image, and
// pass: the driver is registered with the node's kubelet, and a Listener reconciles (a Pod mounts
// it through a listener volume and finds its address and port). `--logs` prints what they found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { e2eClient, e2eState } from '../support/e2e.ts';
import { helm } from '../support/helm.ts';
import { LISTENERS, PODS, at } from '../../src/k8s/resources.ts';

test('helm test: the driver is registered and a Listener reconciles', { timeout: 360_000 }, async (t) => {
  const state = e2eState();
  const client = await e2eClient(t);
  const t0 = Date.now();
  const out = await helm(state.kubeconfig, ['test', state.release, '--namespace', state.operatorNamespace, '--logs', '--timeout', '5m']);
  t.diagnostic(`helm test (${Date.now() - t0} ms):\n${out}`);
  const prefix = `${state.release}-test`;
  for (const pod of [`${prefix}-driver-registered`, `${prefix}-listener`]) {
    assert.match(out, new RegExp(`TEST SUITE:\\s+${pod}[\\s\\S]*?Phase:\\s+Succeeded`), `${pod} succeeded`);
  }
  assert.match(out, new RegExp(`Node ${state.nodeName}: listeners\\.stackable\\.tech registered with its kubelet`));
  assert.match(out, /address: \S+\s+port http: \d+\s+OK/);
  // Kept for --logs (replaced by the next run): both Succeeded.
  for (const pod of [`${prefix}-driver-registered`, `${prefix}-listener`]) {
    const p = await client.get<{ status?: { phase?: string } }>(at(PODS, state.operatorNamespace, pod));
    assert.equal(p.status?.phase, 'Succeeded', pod);
  }
  // The listener check's volume created a Listener of the test class, which the controller reconciled.
  const listener = await client.get<{ status?: { serviceName?: string; ingressAddresses?: unknown[] } }>(at(LISTENERS, state.operatorNamespace, `${prefix}-listener-listener`));
  assert.ok((listener.status?.ingressAddresses?.length ?? 0) > 0, 'the test Listener has addresses');
});
