// NodePublishVolume and NodeUnpublishVolume while the API server stalls (a proxy in front of the
// real one stops forwarding), through the real socket: the gRPC deadline and a cancellation end
// the handler's API requests at once, and a second call for a target that has one in flight gets
// ABORTED (the CSI spec's answer) instead of racing it.
import { test, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import type { KubeClient } from '../../src/k8s/client.ts';
import {
  createPod, createPv, createPvc, ephemeralVolume, expectCode, publishRequest, startCsi, tempDir, type RunningCsi,
} from '../support/csi.ts';
import { eventually, freshNamespace, testClient } from '../support/k8s.ts';
import { createClass, createNode } from '../support/listeners.ts';
import { installCrds } from '../support/operator.ts';
import { sharedStallProxy, type StallProxy } from '../support/stall-proxy.ts';

before(async () => {
  const client = await testClient();
  await installCrds(client);
  client.close();
});

const CLASS = 'listeners.stackable.tech/listener-class';

interface Frame {
  client: KubeClient;
  ns: string;
  proxy: StallProxy;
  plugin: RunningCsi;
  request: ReturnType<typeof publishRequest>;
}

/** A Pod with one listener-class volume, and our node plugin talking to the API server through a stall proxy. */
async function frame(t: TestContext): Promise<Frame> {
  const client = await testClient();
  t.after(() => { client.close(); });
  const ns = await freshNamespace(t, client);
  const nodeName = `${ns}-node`;
  await createNode(t, client, nodeName, [{ type: 'InternalIP', address: '10.1.2.3' }]);
  await createClass(t, client, `${ns}-c`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  const proxy = await sharedStallProxy(t, await tempDir(t, 'lo-stall-'));
  const plugin = await startCsi(t, { nodeName, kubeconfig: proxy.kubeconfig });
  const annotations = { [CLASS]: `${ns}-c` };
  const pod = await createPod(client, ns, 'p', { nodeName, volumes: [ephemeralVolume('listener', annotations)] });
  const pvc = await createPvc(client, ns, 'p-listener', { annotations, ownerPod: pod });
  const pv = await createPv(t, client, `${ns}-p-listener`, pvc);
  const dir = await tempDir(t, 'lo-pods-');
  const request = publishRequest(pv, pvc, pod, path.join(dir, pod.metadata.uid, 'volumes', 'kubernetes.io~csi', pv.metadata.name, 'mount'));
  t.after(() => { proxy.resume(); });
  return { client, ns, proxy, plugin, request };
}

test('NodePublishVolume ends its API requests at the call\'s deadline', async (t) => {
  const f = await frame(t);
  f.proxy.stall();
  await expectCode(f.plugin.csi.call('Node', 'NodePublishVolume', f.request, 1000), status.DEADLINE_EXCEEDED);
  assert.ok(f.proxy.requests.some((r) => r.held), 'the handler was waiting for the API server');
  await eventually('the handler\'s API requests are cancelled', () => (f.proxy.held() === 0 ? true : undefined), 1500);

  // The handler has ended: nothing was written, and the next call for the target is not ABORTED.
  f.proxy.resume();
  assert.equal(await lstat(f.request.target_path).catch(() => undefined), undefined);
  await expectCode(f.plugin.csi.call('Node', 'NodePublishVolume', f.request), status.UNAVAILABLE, /no ingress addresses yet/);
});

test('a cancelled NodePublishVolume ends its API requests at once', async (t) => {
  const f = await frame(t);
  f.proxy.stall();
  const abort = new AbortController();
  const call = f.plugin.csi.call('Node', 'NodePublishVolume', f.request, 30_000, abort.signal);
  await eventually('the handler waits for the API server', () => (f.proxy.held() > 0 ? true : undefined), 5000);
  abort.abort();
  await expectCode(call, status.CANCELLED);
  await eventually('the handler\'s API requests are cancelled', () => (f.proxy.held() === 0 ? true : undefined), 1000);
});

test('a call for a target with a call in flight is ABORTED; another target is not', async (t) => {
  const f = await frame(t);
  f.proxy.stall((r) => r.method === 'GET' && r.path === `/api/v1/namespaces/${f.ns}/pods/p`);
  const first = f.plugin.csi.call('Node', 'NodePublishVolume', f.request, 20_000);
  await eventually('the first publish waits for the API server', () => (f.proxy.held() > 0 ? true : undefined), 5000);

  const target = f.request.target_path;
  const pending = new RegExp(`"${target.replaceAll('/', '\\/')}".*in progress`);
  await expectCode(f.plugin.csi.call('Node', 'NodePublishVolume', f.request, 5000), status.ABORTED, pending);
  await expectCode(f.plugin.csi.call('Node', 'NodeUnpublishVolume', { volume_id: f.request.volume_id, target_path: target }, 5000), status.ABORTED, pending);
  // Another target of the same volume is not blocked by this one (it waits for the API server too).
  const other = { ...f.request, target_path: `${target}-other` };
  await expectCode(f.plugin.csi.call('Node', 'NodePublishVolume', other, 1000), status.DEADLINE_EXCEEDED);

  f.proxy.resume(); // resets the held request: the first publish fails, and may be retried
  await expectCode(first, status.UNAVAILABLE);
  await f.plugin.csi.call('Node', 'NodeUnpublishVolume', { volume_id: f.request.volume_id, target_path: target });
});
