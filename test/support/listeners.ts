// Small builders and readers for Listener tests against the real API server.
import type { TestContext } from 'node:test';
import type { KubeClient } from '../../src/k8s/client.ts';
import { LISTENERS, LISTENER_CLASSES, NODES, PERSISTENT_VOLUMES, SERVICES, at } from '../../src/k8s/resources.ts';
import type { ListenerStatus } from '../../src/crd/index.ts';
import { eventually } from './k8s.ts';

export const GV = 'listeners.stackable.tech/v1alpha1';

export interface TestService {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { kind: string; uid: string; controller?: boolean }[] };
  spec: { type: string; clusterIP?: string; clusterIPs?: string[]; selector?: Record<string, string>; ports?: { name?: string; port: number; protocol?: string; nodePort?: number }[]; publishNotReadyAddresses?: boolean; externalTrafficPolicy?: string; loadBalancerClass?: string; allocateLoadBalancerNodePorts?: boolean };
}

export interface TestListener {
  metadata: { name: string; namespace: string; uid: string };
  status?: ListenerStatus;
}

/** Creates a cluster-scoped ListenerClass deleted when the test ends. */
export async function createClass(t: TestContext, client: KubeClient, name: string, spec: Record<string, unknown>): Promise<void> {
  await client.create(at(LISTENER_CLASSES, undefined), { apiVersion: GV, kind: 'ListenerClass', metadata: { name }, spec });
  t.after(async () => { await client.delete(at(LISTENER_CLASSES, undefined, name)).catch(() => undefined); });
}

export async function createListener(client: KubeClient, ns: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Promise<TestListener> {
  return client.create<TestListener>(at(LISTENERS, ns), { apiVersion: GV, kind: 'Listener', metadata: { name, namespace: ns, labels }, spec });
}

export async function getService(client: KubeClient, ns: string, name: string): Promise<TestService | undefined> {
  return client.getOptional<TestService>(at(SERVICES, ns, name));
}

/** Waits until the Listener's status satisfies `ok` and returns it. */
export async function waitStatus(client: KubeClient, ns: string, name: string, what: string, ok: (s: ListenerStatus) => boolean): Promise<ListenerStatus> {
  return eventually(`${ns}/${name} status: ${what}`, async () => {
    const l = await client.get<TestListener>(at(LISTENERS, ns, name));
    return l.status !== undefined && ok(l.status) ? l.status : undefined;
  });
}

export async function waitService(client: KubeClient, ns: string, name: string, what: string, ok: (s: TestService) => boolean): Promise<TestService> {
  return eventually(`Service ${ns}/${name}: ${what}`, async () => {
    const s = await getService(client, ns, name);
    return s !== undefined && ok(s) ? s : undefined;
  });
}

/** Registers a Node object (no kubelet) with the given addresses; deleted when the test ends. */
export async function createNode(t: TestContext, client: KubeClient, name: string, addresses: { type: string; address: string }[]): Promise<void> {
  await client.create(at(NODES, undefined), { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'listeners.stackable.tech/hostname': name } } });
  await client.mergePatch(at(NODES, undefined, name, 'status'), { status: { addresses } });
  t.after(async () => { await client.delete(at(NODES, undefined, name)).catch(() => undefined); });
}

/** A PV labelled for a Listener and pinned to a Node, as the CSI driver leaves it. */
export async function createPinnedPv(t: TestContext, client: KubeClient, name: string, pin: { listenerNs: string; listenerName: string; node: string }): Promise<void> {
  const { listenerNs, listenerName, node } = pin;
  await client.create(at(PERSISTENT_VOLUMES, undefined), {
    apiVersion: 'v1', kind: 'PersistentVolume',
    metadata: { name, labels: { 'listeners.stackable.tech/listener-namespace': listenerNs, 'listeners.stackable.tech/listener-name': listenerName } },
    spec: {
      capacity: { storage: '1' }, accessModes: ['ReadWriteMany'], persistentVolumeReclaimPolicy: 'Delete',
      csi: { driver: 'listeners.stackable.tech', volumeHandle: name },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'listeners.stackable.tech/hostname', operator: 'In', values: [node] }] }] } },
    },
  });
  t.after(async () => { await client.delete(at(PERSISTENT_VOLUMES, undefined, name)).catch(() => undefined); });
}

export interface TestEvent { reason: string; note: string; regarding: { name: string; kind: string } }

/** Waits for a Warning event with `reason` regarding the named object. */
export async function waitEvent(client: KubeClient, ns: string, name: string, reason: string): Promise<TestEvent> {
  return eventually(`event ${reason} on ${ns}/${name}`, async () => {
    const list = await client.list<TestEvent>(at({ group: 'events.k8s.io', version: 'v1', plural: 'events' }, ns));
    return list.items.find((e) => e.reason === reason && e.regarding.name === name);
  });
}
