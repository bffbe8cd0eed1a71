// The CSI Controller service through its real socket, against the real API server: CreateVolume
// for every kind of PVC annotation, DeleteVolume, ValidateVolumeCapabilities.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { createClass, createListener } from '../support/listeners.ts';
import { createPv, createPvc, expectCode, mountCapability, startCsi, type RunningCsi } from '../support/csi.ts';
import { freshNamespace, testClient } from '../support/k8s.ts';
import { installCrds } from '../support/operator.ts';
import type { TestContext } from 'node:test';
import type { KubeClient } from '../../src/k8s/client.ts';
import type { CreateVolumeRequest } from '../../src/csi/proto/generated/csi/v1/CreateVolumeRequest.ts';

before(async () => {
  const client = await testClient();
  await installCrds(client);
  client.close();
});

const CLASS = 'listeners.stackable.tech/listener-class';
const NAME = 'listeners.stackable.tech/listener-name';
const HOST = 'listeners.stackable.tech/hostname';

async function setup(t: TestContext): Promise<{ client: KubeClient; ns: string; ctl: RunningCsi }> {
  const client = await testClient();
  t.after(() => { client.close(); });
  const ns = await freshNamespace(t, client);
  const ctl = await startCsi(t, { controller: true });
  return { client, ns, ctl };
}

/** A CreateVolumeRequest as the external-provisioner sends it (--extra-create-metadata, topology). */
function createRequest(ns: string, pvc: string, name = `pvc-${pvc}-uid`): CreateVolumeRequest & { name: string } {
  return {
    name,
    capacity_range: { required_bytes: 1 },
    volume_capabilities: [mountCapability],
    parameters: { 'csi.storage.k8s.io/pvc/name': pvc, 'csi.storage.k8s.io/pvc/namespace': ns, 'csi.storage.k8s.io/pv/name': name },
    accessibility_requirements: {
      requisite: [{ segments: { [HOST]: 'node-b' } }, { segments: { [HOST]: 'node-a' } }],
      preferred: [{ segments: { [HOST]: 'node-a' } }, { segments: { [HOST]: 'node-b' } }],
    },
  };
}

test('ControllerGetCapabilities: CREATE_DELETE_VOLUME only', async (t) => {
  const { ctl } = await setup(t);
  const caps = await ctl.csi.call('Controller', 'ControllerGetCapabilities', {});
  assert.deepEqual(caps.capabilities.map((c) => c.rpc?.type), ['CREATE_DELETE_VOLUME']);
});

test('CreateVolume with an unpinned class: volume_context = the PVC annotations, id = name, capacity 0, no topology', async (t) => {
  const { client, ns, ctl } = await setup(t);
  await createClass(t, client, `${ns}-internal`, { serviceType: 'ClusterIP' });
  const annotations = { [CLASS]: `${ns}-internal`, 'example.com/other': 'kept as is' };
  await createPvc(client, ns, 'data', { annotations });
  const req = createRequest(ns, 'data');
  const res = await ctl.csi.call('Controller', 'CreateVolume', req);
  assert.equal(res.volume?.volume_id, req.name);
  assert.equal(res.volume?.capacity_bytes, '0');
  assert.deepEqual(res.volume?.volume_context, annotations);
  assert.deepEqual(res.volume?.accessible_topology, []);
  // Idempotent: the same answer again.
  assert.deepEqual(await ctl.csi.call('Controller', 'CreateVolume', req), res);
});

test('CreateVolume with a pinned NodePort class: accessible_topology = the first preferred topology; unpinned NodePort: none', async (t) => {
  const { client, ns, ctl } = await setup(t);
  await createClass(t, client, `${ns}-pinned`, { serviceType: 'NodePort', pinnedNodePorts: true });
  await createClass(t, client, `${ns}-unpinned`, { serviceType: 'NodePort' });
  await createClass(t, client, `${ns}-lb`, { serviceType: 'LoadBalancer', pinnedNodePorts: true });
  await createPvc(client, ns, 'pinned', { annotations: { [CLASS]: `${ns}-pinned` } });
  await createPvc(client, ns, 'unpinned', { annotations: { [CLASS]: `${ns}-unpinned` } });
  await createPvc(client, ns, 'lb', { annotations: { [CLASS]: `${ns}-lb` } });
  const pinned = await ctl.csi.call('Controller', 'CreateVolume', createRequest(ns, 'pinned'));
  assert.deepEqual(pinned.volume?.accessible_topology, [{ segments: { [HOST]: 'node-a' } }]);
  const unpinned = await ctl.csi.call('Controller', 'CreateVolume', createRequest(ns, 'unpinned'));
  assert.deepEqual(unpinned.volume?.accessible_topology, []);
  const lb = await ctl.csi.call('Controller', 'CreateVolume', createRequest(ns, 'lb'));
  assert.deepEqual(lb.volume?.accessible_topology, [], 'pinnedNodePorts only counts for NodePort');
  const noPreference = await ctl.csi.call('Controller', 'CreateVolume', { ...createRequest(ns, 'pinned', 'pvc-no-pref'), accessibility_requirements: null });
  assert.deepEqual(noPreference.volume?.accessible_topology, []);
});

test('CreateVolume with a listener-name annotation resolves the class through the Listener', async (t) => {
  const { client, ns, ctl } = await setup(t);
  await createClass(t, client, `${ns}-pinned`, { serviceType: 'NodePort', pinnedNodePorts: true });
  await createListener(client, ns, 'shared', { className: `${ns}-pinned`, ports: [{ name: 'http', port: 80 }] });
  await createListener(client, ns, 'classless', { ports: [{ name: 'http', port: 80 }] });
  await createPvc(client, ns, 'by-name', { annotations: { [NAME]: 'shared' } });
  const res = await ctl.csi.call('Controller', 'CreateVolume', createRequest(ns, 'by-name'));
  assert.deepEqual(res.volume?.volume_context, { [NAME]: 'shared' });
  assert.deepEqual(res.volume?.accessible_topology, [{ segments: { [HOST]: 'node-a' } }]);

  await createPvc(client, ns, 'no-listener', { annotations: { [NAME]: 'not-yet' } });
  await expectCode(ctl.csi.call('Controller', 'CreateVolume', createRequest(ns, 'no-listener')), status.UNAVAILABLE, new RegExp(`Listener "${ns}/not-yet"`));
  await createPvc(client, ns, 'classless', { annotations: { [NAME]: 'classless' } });
  await expectCode(ctl.csi.call('Controller', 'CreateVolume', createRequest(ns, 'classless')), status.FAILED_PRECONDITION, /Listener ".*\/classless" has no spec.className/);
});

test('CreateVolume errors: missing class, both or neither annotation, missing PVC, missing provisioner metadata', async (t) => {
  const { client, ns, ctl } = await setup(t);
  await createPvc(client, ns, 'missing-class', { annotations: { [CLASS]: `${ns}-nope` } });
  await expectCode(ctl.csi.call('Controller', 'CreateVolume', createRequest(ns, 'missing-class')), status.FAILED_PRECONDITION, new RegExp(`ListenerClass "${ns}-nope" does not exist`));
  await createPvc(client, ns, 'both', { annotations: { [CLASS]: 'a', [NAME]: 'b' } });
  await expectCode(ctl.csi.call('Controller', 'CreateVolume', createRequest(ns, 'both')), status.INVALID_ARGUMENT, new RegExp(`PersistentVolumeClaim "${ns}/both".*both .* are set`));
  await createPvc(client, ns, 'neither', { annotations: { 'example.com/x': 'y' } });
  await expectCode(ctl.csi.call('Controller', 'CreateVolume', createRequest(ns, 'neither')), status.INVALID_ARGUMENT, /neither .* nor .* is set/);
  await expectCode(ctl.csi.call('Controller', 'CreateVolume', createRequest(ns, 'does-not-exist')), status.UNAVAILABLE, new RegExp(`failed to get PersistentVolumeClaim "${ns}/does-not-exist"`));
  const noMetadata = { ...createRequest(ns, 'neither'), parameters: {} };
  await expectCode(ctl.csi.call('Controller', 'CreateVolume', noMetadata), status.INVALID_ARGUMENT, /--extra-create-metadata/);
  await expectCode(ctl.csi.call('Controller', 'CreateVolume', { ...createRequest(ns, 'neither'), name: '' }), status.INVALID_ARGUMENT, /name is missing/);
  const block = { ...createRequest(ns, 'neither'), volume_capabilities: [{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } }] };
  await expectCode(ctl.csi.call('Controller', 'CreateVolume', block), status.INVALID_ARGUMENT, /raw block/);
  assert.equal(ctl.kube.counts.create + ctl.kube.counts.patch + ctl.kube.counts.apply, 0, 'CreateVolume never writes');
});

test('DeleteVolume succeeds, for any id; a missing id is INVALID_ARGUMENT', async (t) => {
  const { ctl } = await setup(t);
  assert.deepEqual(await ctl.csi.call('Controller', 'DeleteVolume', { volume_id: 'never-created' }), {});
  await expectCode(ctl.csi.call('Controller', 'DeleteVolume', {}), status.INVALID_ARGUMENT, /volume_id is missing/);
});

test('ValidateVolumeCapabilities: NOT_FOUND for an unknown volume; a known one confirms mount, not block', async (t) => {
  const { client, ns, ctl } = await setup(t);
  const unknown = { volume_id: `${ns}-no-such-pv`, volume_capabilities: [mountCapability] };
  await expectCode(ctl.csi.call('Controller', 'ValidateVolumeCapabilities', unknown), status.NOT_FOUND, new RegExp(`volume "${ns}-no-such-pv" does not exist`));

  // A PV of this driver (as the provisioner creates it).
  const pvc = await createPvc(client, ns, 'data', { annotations: { [CLASS]: 'x' } });
  await createPv(t, client, `${ns}-pv`, pvc);
  const ok = await ctl.csi.call('Controller', 'ValidateVolumeCapabilities', { volume_id: `${ns}-pv`, volume_capabilities: [mountCapability], volume_context: { [CLASS]: 'x' } });
  assert.equal(ok.confirmed?.volume_capabilities.length, 1);
  assert.deepEqual(ok.confirmed?.volume_context, { [CLASS]: 'x' });
  const block = await ctl.csi.call('Controller', 'ValidateVolumeCapabilities', { volume_id: `${ns}-pv`, volume_capabilities: [{ block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }] });
  assert.equal(block.confirmed, null);
  assert.match(block.message, /raw block access is not supported/);

  // A PV of another driver is not ours.
  await client.create({ group: '', version: 'v1', plural: 'persistentvolumes' }, {
    apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: `${ns}-foreign` },
    spec: { capacity: { storage: '1' }, accessModes: ['ReadWriteOnce'], csi: { driver: 'other.example.com', volumeHandle: 'h' } },
  });
  t.after(async () => { await client.delete({ group: '', version: 'v1', plural: 'persistentvolumes', name: `${ns}-foreign` }).catch(() => undefined); });
  await expectCode(ctl.csi.call('Controller', 'ValidateVolumeCapabilities', { volume_id: `${ns}-foreign`, volume_capabilities: [mountCapability] }), status.NOT_FOUND);

  // A volume this controller just created exists before its PV does, and not after DeleteVolume.
  await createClass(t, client, `${ns}-c`, { serviceType: 'ClusterIP' });
  await createPvc(client, ns, 'fresh', { annotations: { [CLASS]: `${ns}-c` } });
  const created = await ctl.csi.call('Controller', 'CreateVolume', createRequest(ns, 'fresh', `${ns}-fresh`));
  const fresh = { volume_id: created.volume?.volume_id ?? '', volume_capabilities: [mountCapability] };
  assert.ok((await ctl.csi.call('Controller', 'ValidateVolumeCapabilities', fresh)).confirmed);
  await ctl.csi.call('Controller', 'DeleteVolume', { volume_id: fresh.volume_id });
  await expectCode(ctl.csi.call('Controller', 'ValidateVolumeCapabilities', fresh), status.NOT_FOUND);

  await expectCode(ctl.csi.call('Controller', 'ValidateVolumeCapabilities', { volume_id: `${ns}-pv` }), status.INVALID_ARGUMENT, /volume_capabilities is missing/);
});
