// Scenario 2: a StatefulSet with 2 replicas and volumeClaimTemplates on a NodePort class
// (external-unstable). Each replica gets its own Listener named after its PVC, its files carry the
// Node's address with the node port, and an HTTP request from this host to <node address>:<node
// port> reaches that replica (it serves its Pod name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultAddressFiles, e2eClient, e2eState, httpGet, httpGetOk, listenerClaimTemplate, waitEndpoints, waitPodReady, webContainer,
} from '../support/e2e.ts';
import { eventually, freshNamespace } from '../support/k8s.ts';
import type { TestListener, TestService } from '../support/listeners.ts';
import { LISTENERS, SERVICES, at } from '../../src/k8s/resources.ts';

test('scenario 2: a StatefulSet on a NodePort class: one Listener per replica, each reached through its node port', async (t) => {
  const state = e2eState();
  const client = await e2eClient(t);
  const ns = await freshNamespace(t, client, 'e2e-sts');

  await client.create(at({ group: 'apps', version: 'v1', plural: 'statefulsets' }, ns), {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web' },
    spec: {
      replicas: 2, serviceName: 'web', podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [webContainer(['listener'])], terminationGracePeriodSeconds: 1 },
      },
      volumeClaimTemplates: [listenerClaimTemplate({ 'listeners.stackable.tech/listener-class': 'external-unstable' }, { app: 'web' }, 'listener')],
    },
  });

  for (const i of [0, 1]) {
    const podName = `web-${i}`;
    const listenerName = `listener-web-${i}`; // the PVC's name: <template>-<statefulset>-<ordinal>
    const pod = await waitPodReady(client, ns, podName);
    const svc = await client.get<TestService>(at(SERVICES, ns, listenerName));
    assert.equal(svc.spec.type, 'NodePort');
    const nodePort = svc.spec.ports?.find((p) => p.name === 'http')?.nodePort;
    assert.ok(nodePort !== undefined, 'the Service has a node port');

    const listener = await eventually(`Listener ${listenerName} node ports`, async () => {
      const l = await client.get<TestListener>(at(LISTENERS, ns, listenerName));
      return l.status?.nodePorts?.http !== undefined ? l : undefined;
    });
    assert.equal(listener.status?.nodePorts?.http, nodePort);

    const files = await defaultAddressFiles(pod, 'listener', ['http']);
    assert.deepEqual(files, { address: state.nodeIp, ports: { http: nodePort } }, `${podName} reads the node's address and its node port`);

    await waitEndpoints(client, ns, listenerName, [podName]);
    const url = `http://${files.address}:${files.ports.http}/`;
    await httpGetOk(url); // kube-proxy has programmed the node port
    const answers = await Promise.all([1, 2, 3, 4, 5].map(async () => httpGet(url)));
    t.diagnostic(`${podName}: files say ${files.address}:${files.ports.http}; GET ${url} x5 -> ${answers.map((a) => `${a.status} ${JSON.stringify(a.body.trim())}`).join(', ')}`);
    assert.deepEqual(answers.map((a) => [a.status, a.body.trim()]), answers.map(() => [200, podName]), 'every request reaches this replica');
  }
});
