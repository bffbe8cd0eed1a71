// Listener volumes for the node-plugin faults, as the kubelet and the provisioner leave them: a
// PV whose volume context names an existing Listener, its bound PVC, and a Pod on chaos-node-0
// mounting it; the NodePublishVolume request the kubelet would send; and what makes the files of
// a published volume consistent: `default-address` and `addresses` resolve, and what they hold is
// the Listener's address and port, nothing else.
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { ANNOTATION_LISTENER_NAME, DRIVER_NAME, GROUP_VERSION } from '../../src/constants.ts';
import { ApiError, type KubeClient } from '../../src/k8s/client.ts';
import { LISTENERS, PERSISTENT_VOLUMES, PERSISTENT_VOLUME_CLAIMS, PODS, at } from '../../src/k8s/resources.ts';
import { CLASS_CLUSTER_IP, nodeName } from './world.ts';

export interface Volume {
  pv: string;
  request: {
    volume_id: string;
    target_path: string;
    volume_capability: { mount: Record<string, never>; access_mode: { mode: 'SINGLE_NODE_WRITER' } };
    volume_context: Record<string, string>;
  };
}

export interface Expected { address: string; port: number }

/** A ClusterIP Listener for the volumes to name; resolves once its status has an address. */
export async function volumeListener(admin: KubeClient, ns: string, name: string): Promise<Expected> {
  await admin.create(at(LISTENERS, ns), { apiVersion: GROUP_VERSION, kind: 'Listener', metadata: { name }, spec: { className: CLASS_CLUSTER_IP, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] } });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const l = await admin.get<{ status?: { ingressAddresses?: { address: string; ports: Record<string, number> }[] } }>(at(LISTENERS, ns, name));
    const first = l.status?.ingressAddresses?.[0];
    if (first !== undefined) return { address: first.address, port: first.ports.http ?? 0 };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Listener ${ns}/${name} got no address within 60 s`);
}

/**
 * A Pod; retried (bounded) while the namespace's default ServiceAccount is not there yet (the
 * controller-manager makes it, and is slower to after an API server restart).
 */
async function createPod(admin: KubeClient, ns: string, body: unknown): Promise<{ metadata: { uid: string } }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await admin.create<{ metadata: { uid: string } }>(at(PODS, ns), body);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 403 && /service ?account/i.test(e.message)) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** `count` volumes naming `listener`, their targets under `targetDir`. */
export async function createVolumes(admin: KubeClient, ns: string, count: number, listener: string, targetDir: string): Promise<Volume[]> {
  const out: Volume[] = [];
  for (let i = 0; i < count; i++) {
    const pvName = `${ns}-vol-${i}`;
    const annotations = { [ANNOTATION_LISTENER_NAME]: listener };
    const pvc = await admin.create<{ metadata: { uid: string } }>(at(PERSISTENT_VOLUME_CLAIMS, ns), {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `claim-${i}`, annotations },
      spec: { accessModes: ['ReadWriteMany'], storageClassName: DRIVER_NAME, volumeName: pvName, resources: { requests: { storage: '1' } } },
    });
    await admin.create(at(PERSISTENT_VOLUMES, undefined), {
      apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: pvName },
      spec: {
        capacity: { storage: '1' }, accessModes: ['ReadWriteMany'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: DRIVER_NAME,
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: `claim-${i}`, uid: pvc.metadata.uid },
        csi: { driver: DRIVER_NAME, volumeHandle: pvName, volumeAttributes: annotations },
      },
    });
    const pod = await createPod(admin, ns, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}` },
      spec: {
        nodeName: nodeName(0), automountServiceAccountToken: false, tolerations: [{ operator: 'Exists' }],
        containers: [{ name: 'app', image: 'registry.invalid/chaos:0', ports: [{ name: 'http', containerPort: 8080 }] }],
        volumes: [{ name: 'listener', persistentVolumeClaim: { claimName: `claim-${i}` } }],
      },
    });
    out.push({
      pv: pvName,
      request: {
        volume_id: pvName,
        target_path: path.join(targetDir, `pod-${i}`, 'volumes', 'kubernetes.io~csi', pvName, 'mount'),
        volume_capability: { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
        volume_context: {
          ...annotations, 'csi.storage.k8s.io/pod.name': `pod-${i}`, 'csi.storage.k8s.io/pod.namespace': ns,
          'csi.storage.k8s.io/pod.uid': pod.metadata.uid, 'csi.storage.k8s.io/serviceAccount.name': 'default', 'csi.storage.k8s.io/ephemeral': 'false',
        },
      },
    });
  }
  return out;
}

export interface VolumeState {
  consistent: boolean;
  /** Version or temporary entries besides the one `addresses` points to (an interrupted call's; removed later by age). */
  leftovers: number;
  why?: string;
}

/** Whether the files under `target` are a complete tree of `expected` (undefined: nothing published yet). */
export async function volumeState(target: string, expected: Expected): Promise<VolumeState | undefined> {
  const entries = await readdir(target).catch(() => undefined);
  if (entries === undefined || !entries.includes('default-address')) return undefined;
  const fail = (why: string, leftovers = 0): VolumeState => ({ consistent: false, leftovers, why });
  try {
    if (!(await lstat(path.join(target, 'default-address'))).isSymbolicLink()) return fail('default-address is not a link');
    const link = await readlink(path.join(target, 'default-address'));
    if (link !== `addresses/${expected.address}`) return fail(`default-address -> ${link}`);
    const version = await readlink(path.join(target, 'addresses'));
    const address = await readFile(path.join(target, 'default-address', 'address'), 'utf8');
    const port = await readFile(path.join(target, 'default-address', 'ports', 'http'), 'utf8');
    const listed = await readdir(path.join(target, 'addresses'));
    const leftovers = entries.filter((e) => e.startsWith('.') && e !== version).length;
    if (address !== expected.address || Number(port) !== expected.port) return fail(`files say ${address}:${port}`, leftovers);
    if (listed.length !== 1 || listed[0] !== expected.address) return fail(`addresses/ holds ${listed.join(', ')}`, leftovers);
    return { consistent: true, leftovers };
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
}
