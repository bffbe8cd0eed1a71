// The e2e node itself, before any listener volume: kubelet registered it Ready, runs a Pod from
// the locally imported test image, and kube-proxy (iptables) serves a NodePort on the node IP and
// a ClusterIP, both reached from this host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { e2eClient, e2eState, httpGetOk, waitPodReady, webContainer, WEB_PORT } from '../support/e2e.ts';
import { freshNamespace } from '../support/k8s.ts';
import { NODES, PODS, SERVICES, at } from '../../src/k8s/resources.ts';

interface NodeObj { status: { addresses: { type: string; address: string }[]; nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string } } }
interface Svc { spec: { clusterIP: string; ports: { nodePort?: number }[] } }

test('the node is Ready, runs a Pod, and kube-proxy serves its NodePort and ClusterIP', async (t) => {
  const state = e2eState();
  const client = await e2eClient(t);
  const node = await client.get<NodeObj>(at(NODES, undefined, state.nodeName));
  assert.deepEqual(node.status.addresses.find((a) => a.type === 'InternalIP')?.address, state.nodeIp);
  t.diagnostic(`node ${state.nodeName}: kubelet ${node.status.nodeInfo.kubeletVersion}, ${node.status.nodeInfo.containerRuntimeVersion}`);

  const ns = await freshNamespace(t, client, 'e2e-node');
  await client.create(at(PODS, ns), {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } },
    spec: { containers: [webContainer([])], terminationGracePeriodSeconds: 1 },
  });
  const pod = await waitPodReady(client, ns, 'web');
  assert.equal(pod.spec.nodeName, state.nodeName);
  assert.equal((await httpGetOk(`http://${pod.status?.podIP ?? ''}:${WEB_PORT}/`)).body.trim(), 'web');

  await client.create(at(SERVICES, ns), {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' },
    spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: WEB_PORT }] },
  });
  const svc = await client.get<Svc>(at(SERVICES, ns, 'web'));
  const nodePort = svc.spec.ports[0]?.nodePort;
  assert.ok(nodePort !== undefined);
  const viaNodePort = await httpGetOk(`http://${state.nodeIp}:${nodePort}/`);
  assert.equal(viaNodePort.body.trim(), 'web');
  t.diagnostic(`GET http://${state.nodeIp}:${nodePort}/ -> ${viaNodePort.status} ${JSON.stringify(viaNodePort.body.trim())}`);
  const viaClusterIp = await httpGetOk(`http://${svc.spec.clusterIP}:80/`);
  assert.equal(viaClusterIp.body.trim(), 'web');
});
