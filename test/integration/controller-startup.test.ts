// Start-up order and API economy, on a control plane of this file's own (the CRDs must be absent
// at first, which the shared control plane cannot promise): the controller starts before its CRDs
// exist, waits, then works; events of one namespace never wake a same-named Listener of another;
// an object it cannot decode never stops the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/cli/log.ts';
import { ListenerController } from '../../src/controller/controller.ts';
import { ensurePresetClasses } from '../../src/controller/presets.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { CRDS, ENDPOINT_SLICES, LISTENERS, LISTENER_CLASSES, NAMESPACES, at } from '../../src/k8s/resources.ts';
import { startCluster } from '../support/cluster.ts';
import { eventually } from '../support/k8s.ts';
import { installCrds } from '../support/operator.ts';
import { createListener, waitEvent, waitStatus, GV } from '../support/listeners.ts';

test('starts before its CRDs exist, then works; presets never overwrite; namespaces stay apart', async (t) => {
  const cluster = await startCluster({ scheduler: false, log: () => undefined });
  t.after(() => cluster.stop());
  const client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  t.after(() => { client.close(); });
  const log = createLogger('error', 'plain');
  const controller = new ListenerController({ client, log, clusterDomain: 'cluster.local', concurrency: 4 });
  let listenerLists = 0;
  client.onRequest((verb, path) => { if (verb === 'list' && path.endsWith('/listeners')) listenerLists++; });
  let isStarted = false;
  const started = controller.start().then(() => { isStarted = true; });
  const presets = ensurePresetClasses({ client, preset: 'stable-nodes', log });
  // Without its CRDs the controller keeps retrying its first LIST, and does not count as started.
  await eventually('the controller retries its Listener LIST', () => (listenerLists >= 2 ? true : undefined));
  assert.equal(isStarted, false);
  assert.equal(controller.caches.listeners.size, 0);

  // An admin's class that exists before the presets are applied is kept as it is.
  await installCrds(client);
  await client.create(at(LISTENER_CLASSES, undefined), { apiVersion: GV, kind: 'ListenerClass', metadata: { name: 'cluster-internal' }, spec: { serviceType: 'NodePort', serviceAnnotations: { admin: 'edit' } } })
    .catch(() => undefined);
  await Promise.all([started, presets]);
  t.after(() => controller.stop());
  const classes = await client.list<{ metadata: { name: string }; spec: { serviceType: string; pinnedNodePorts?: boolean } }>(at(LISTENER_CLASSES, undefined));
  const byName = Object.fromEntries(classes.items.map((c) => [c.metadata.name, c.spec]));
  assert.equal(byName['external-stable']?.serviceType, 'NodePort');
  assert.equal(byName['external-stable']?.pinnedNodePorts, true);
  assert.equal(byName['external-unstable']?.serviceType, 'NodePort');
  assert.ok(byName['cluster-internal'] !== undefined);

  for (const ns of ['ns-a', 'ns-b']) {
    await client.create(at(NAMESPACES, undefined), { metadata: { name: ns } });
    await createListener(client, ns, 'same', { className: 'external-unstable', ports: [{ name: 'http', port: 80 }] });
  }
  await waitStatus(client, 'ns-a', 'same', 'node ports', (s) => s.nodePorts !== undefined && s.nodePorts !== null);
  await waitStatus(client, 'ns-b', 'same', 'node ports', (s) => s.nodePorts !== undefined && s.nodePorts !== null);
  await eventually('idle', () => (controller.queue.isIdle() ? true : undefined));

  // An endpoint change in ns-a wakes ns-a/same only.
  const before = { a: controller.reconcilesOf('ns-a/same'), b: controller.reconcilesOf('ns-b/same') };
  await client.create(at(ENDPOINT_SLICES, 'ns-a'), {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'same-extra', labels: { 'kubernetes.io/service-name': 'same', 'app.kubernetes.io/managed-by': 'listeners.stackable.tech_listener' } },
    addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.1'], conditions: { ready: true } }], ports: [{ name: 'http', port: 80 }],
  });
  await eventually('ns-a/same woken', () => (controller.reconcilesOf('ns-a/same') > before.a ? true : undefined));
  await controller.queue.idle();
  assert.equal(controller.reconcilesOf('ns-b/same'), before.b);

  // Nothing lists kinds the operator never creates or reads (checked before this test's own reads
  // of Events, which share the client).
  const listed = controller.listedResources();
  assert.deepEqual([...listed].sort(), ['endpointslices', 'listenerclasses', 'listeners', 'nodes', 'persistentvolumes', 'services']);

  // An object the controller cannot decode never stops the others. The API server only lets one
  // in when the CRD schema allowed it at the time (an older, looser schema), so loosen it here.
  type Crd = { spec: { versions: { schema: { openAPIV3Schema: { properties: Record<string, unknown> } } }[] } };
  const crd = await client.get<Crd>(at(CRDS, undefined, 'listeners.listeners.stackable.tech'));
  const version = crd.spec.versions[0];
  assert.ok(version !== undefined);
  version.schema.openAPIV3Schema.properties.spec = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  await client.replace(at(CRDS, undefined, 'listeners.listeners.stackable.tech'), crd);
  await eventually('the looser schema is served', async () => {
    try {
      await client.create(at(LISTENERS, 'ns-a'), { apiVersion: GV, kind: 'Listener', metadata: { name: 'undecodable' }, spec: { className: 42, ports: 'all of them' } });
      return true;
    } catch {
      return undefined;
    }
  });
  await createListener(client, 'ns-a', 'after-the-bad-one', { className: 'external-unstable', ports: [{ name: 'http', port: 80 }] });
  await waitStatus(client, 'ns-a', 'after-the-bad-one', 'served', (s) => s.nodePorts !== undefined && s.nodePorts !== null);
  const ev = await waitEvent(client, 'ns-a', 'undecodable', 'InvalidListener');
  assert.match(ev.note, /ns-a\/undecodable/);
  assert.match(ev.note, /className/);
});
