// The objects the benchmark works with: namespaces, Nodes with addresses, the three
// ListenerClasses (one per Service type), pinned PVs for NodePort Listeners, the Listeners
// themselves, and the PV/PVC/Pod triples NodePublishVolume reads.
import { isConflict, type KubeClient } from '../../src/k8s/client.ts';
import { CRDS, LISTENER_CLASSES, NAMESPACES, NODES, PERSISTENT_VOLUMES, PERSISTENT_VOLUME_CLAIMS, PODS, at } from '../../src/k8s/resources.ts';
import { buildCrds } from '../../src/crd/index.ts';
import { API_GROUP, ANNOTATION_LISTENER_NAME, DRIVER_NAME, GROUP_VERSION, LABEL_PV_LISTENER_NAME, LABEL_PV_LISTENER_NAMESPACE, TOPOLOGY_KEY_HOSTNAME } from '../../src/constants.ts';

export const BENCH_NS = 'bench';
export const RAW_NS = 'bench-raw';

/**
 * The raw limit writes its Listeners as a twin kind: the Listener CRD under another group, same
 * schema and status subresource, so the API server does the same work while the operator (which
 * keeps running between the interleaved rounds) never sees them.
 */
export const RAW_GROUP = 'rawbench.listeners.example';
export const RAW_LISTENERS = { group: RAW_GROUP, version: 'v1alpha1', plural: 'listeners' };
export const RAW_GROUP_VERSION = `${RAW_GROUP}/v1alpha1`;

export type ClassType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';
export const CLASS_TYPES: readonly ClassType[] = ['ClusterIP', 'NodePort', 'LoadBalancer'];

export const CLASS_NAMES: Record<ClassType, string> = {
  ClusterIP: 'bench-cluster-ip',
  NodePort: 'bench-node-port',
  LoadBalancer: 'bench-load-balancer',
};

export function classSpec(type: ClassType): Record<string, unknown> {
  return { serviceType: type };
}

/** Listener i uses the classes in turn, so every type gets a third of the Listeners. */
export function classOf(i: number): ClassType {
  return CLASS_TYPES[i % CLASS_TYPES.length] ?? 'ClusterIP';
}

export function listenerName(i: number): string {
  return `l-${String(i).padStart(5, '0')}`;
}

export function nodeName(k: number): string {
  return `bench-node-${k}`;
}

/** The Node a NodePort Listener's volume is pinned to. */
export function nodeOf(i: number, nodes: number): number {
  return Math.floor(i / CLASS_TYPES.length) % nodes;
}

export function nodeAddresses(k: number): { type: string; address: string }[] {
  return [
    { type: 'InternalIP', address: `10.10.${(k >> 8) & 255}.${k & 255}` },
    { type: 'Hostname', address: `${nodeName(k)}.bench.internal` },
  ];
}

export function listenerBody(ns: string, i: number, apiVersion = GROUP_VERSION): Record<string, unknown> {
  return {
    apiVersion, kind: 'Listener',
    metadata: { name: listenerName(i), namespace: ns, labels: { 'bench.listeners.stackable.tech/run': 'create' } },
    spec: { className: CLASS_NAMES[classOf(i)], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
  };
}

/** Runs `fn` over 0..n-1 with at most `concurrency` at once (preparation work, not timed). */
export async function forEachLimit(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

async function createIgnoringExisting(client: KubeClient, ref: Parameters<KubeClient['create']>[0], body: unknown): Promise<void> {
  try {
    await client.create(ref, body);
  } catch (e) {
    if (!isConflict(e)) throw e;
  }
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await createIgnoringExisting(client, at(NAMESPACES, undefined), { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/**
 * K Node objects (there is no kubelet: they exist for their addresses and topology labels;
 * `annotations` lets a node simulator such as kwok take them over).
 */
export async function createNodes(client: KubeClient, k: number, annotations: Record<string, string> = {}): Promise<void> {
  await forEachLimit(k, 8, async (i) => {
    const name = nodeName(i);
    await createIgnoringExisting(client, at(NODES, undefined), {
      apiVersion: 'v1', kind: 'Node', metadata: { name, annotations, labels: { [TOPOLOGY_KEY_HOSTNAME]: name, 'kubernetes.io/hostname': name } },
    });
    await client.mergePatch(at(NODES, undefined, name, 'status'), { status: { addresses: nodeAddresses(i) } });
  });
}

export async function createClasses(client: KubeClient): Promise<void> {
  for (const type of CLASS_TYPES) {
    await createIgnoringExisting(client, at(LISTENER_CLASSES, undefined), {
      apiVersion: GROUP_VERSION, kind: 'ListenerClass', metadata: { name: CLASS_NAMES[type] }, spec: classSpec(type),
    });
  }
}

/** The PV of NodePort Listener i: labelled for it and pinned to its Node, as the CSI driver leaves it. */
export function pinnedPvBody(ns: string, i: number, nodes: number): Record<string, unknown> {
  const name = `bench-pv-${ns}-${listenerName(i)}`;
  return {
    apiVersion: 'v1', kind: 'PersistentVolume',
    metadata: { name, labels: { [LABEL_PV_LISTENER_NAMESPACE]: ns, [LABEL_PV_LISTENER_NAME]: listenerName(i) } },
    spec: {
      capacity: { storage: '1' }, accessModes: ['ReadWriteMany'], persistentVolumeReclaimPolicy: 'Delete',
      csi: { driver: DRIVER_NAME, volumeHandle: name },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: TOPOLOGY_KEY_HOSTNAME, operator: 'In', values: [nodeName(nodeOf(i, nodes))] }] }] } },
    },
  };
}

export async function createPinnedPvs(client: KubeClient, ns: string, n: number, nodes: number): Promise<number> {
  const indexes = Array.from({ length: n }, (_v, i) => i).filter((i) => classOf(i) === 'NodePort');
  await forEachLimit(indexes.length, 16, async (j) => {
    await createIgnoringExisting(client, at(PERSISTENT_VOLUMES, undefined), pinnedPvBody(ns, indexes[j] ?? 0, nodes));
  });
  return indexes.length;
}

export interface CsiVolume {
  pvName: string;
  pvcName: string;
  podName: string;
  podUid: string;
  listenerName: string;
  volumeContext: Record<string, string>;
}

/**
 * What kubelet and the provisioner would have left for volume i: a PV (volume context = the PVC's
 * annotation naming an existing Listener), its bound PVC, and a Pod on `node` mounting the claim.
 */
export async function createCsiVolume(client: KubeClient, o: { ns: string; i: number; node: string; listener: string }): Promise<CsiVolume> {
  const { ns, i, node, listener } = o;
  const pvName = `bench-csi-pv-${i}`;
  const pvcName = `bench-csi-pvc-${i}`;
  const podName = `bench-csi-pod-${i}`;
  const annotations = { [ANNOTATION_LISTENER_NAME]: listener };
  await createIgnoringExisting(client, at(PERSISTENT_VOLUME_CLAIMS, ns), {
    apiVersion: 'v1', kind: 'PersistentVolumeClaim',
    metadata: { name: pvcName, namespace: ns, annotations },
    spec: { accessModes: ['ReadWriteMany'], storageClassName: DRIVER_NAME, volumeName: pvName, resources: { requests: { storage: '1' } } },
  });
  await createIgnoringExisting(client, at(PERSISTENT_VOLUMES, undefined), {
    apiVersion: 'v1', kind: 'PersistentVolume',
    metadata: { name: pvName },
    spec: {
      capacity: { storage: '1' }, accessModes: ['ReadWriteMany'], persistentVolumeReclaimPolicy: 'Delete', storageClassName: DRIVER_NAME,
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: pvcName },
      csi: { driver: DRIVER_NAME, volumeHandle: pvName, volumeAttributes: annotations },
    },
  });
  let pod: { metadata?: { uid?: string } };
  try {
    pod = await client.create(at(PODS, ns), {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: podName, namespace: ns },
      spec: {
        nodeName: node,
        automountServiceAccountToken: false,
        tolerations: [{ operator: 'Exists' }], // the Nodes have no kubelet: never evict for NotReady
        containers: [{ name: 'app', image: 'registry.invalid/bench:0', ports: [{ name: 'http', containerPort: 8080 }] }],
        volumes: [{ name: 'listener', persistentVolumeClaim: { claimName: pvcName } }],
      },
    });
  } catch (e) {
    if (!isConflict(e)) throw e;
    pod = await client.get(at(PODS, ns, podName));
  }
  const podUid = pod.metadata?.uid ?? '';
  return {
    pvName, pvcName, podName, podUid, listenerName: listener,
    volumeContext: {
      ...annotations,
      'csi.storage.k8s.io/pod.name': podName,
      'csi.storage.k8s.io/pod.namespace': ns,
      'csi.storage.k8s.io/pod.uid': podUid,
      'csi.storage.k8s.io/serviceAccount.name': 'default',
      'csi.storage.k8s.io/ephemeral': 'false',
    },
  };
}


interface CrdView { metadata: { name: string }; spec: { group: string }; status?: { conditions?: { type: string; status: string }[] } }

/** Installs the twin Listener CRD of the raw limit and waits until it is served. */
export async function installRawCrd(client: KubeClient): Promise<void> {
  const listenerCrd = (buildCrds() as unknown as CrdView[]).find((c) => c.metadata.name === `listeners.${API_GROUP}`);
  if (listenerCrd === undefined) throw new Error('the Listener CRD is missing from buildCrds()');
  const twin = structuredClone(listenerCrd);
  twin.metadata = { name: `listeners.${RAW_GROUP}` };
  twin.spec.group = RAW_GROUP;
  await client.apply(at(CRDS, undefined, twin.metadata.name), twin, 'listener-operator-bench', true);
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const got = await client.get<CrdView>(at(CRDS, undefined, twin.metadata.name));
    if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`CRD ${twin.metadata.name} not established within 60 s`);
}
