// The load of the controller faults and what is checked after them. Listener i is a ClusterIP
// Listener when i is even, and a NodePort Listener pinned (through a labelled PV, as the CSI
// driver leaves it) to one of the Nodes when i is odd. A Listener has converged when it has exactly
// one Service, controlled by it, and a complete status (addresses; NodePort also node ports; Ready).
import { GROUP_VERSION, LABEL_APP_MANAGED_BY, LABEL_PV_LISTENER_NAME, LABEL_PV_LISTENER_NAMESPACE, MANAGED_BY, TOPOLOGY_KEY_HOSTNAME } from '../../src/constants.ts';
import { isConflict, type KubeClient } from '../../src/k8s/client.ts';
import { LISTENERS, PERSISTENT_VOLUMES, SERVICES, at } from '../../src/k8s/resources.ts';
import { CLASS_CLUSTER_IP, CLASS_NODE_PORT, NODE_COUNT, nodeName } from './world.ts';

export const listenerName = (i: number): string => `l-${String(i).padStart(4, '0')}`;
const isNodePort = (i: number): boolean => i % 2 === 1;

/** Creates the PVs pinning the NodePort Listeners of 0..n-1 (before the load). */
export async function createPinnedPvs(admin: KubeClient, ns: string, n: number): Promise<void> {
  for (let i = 1; i < n; i += 2) {
    const node = nodeName(Math.floor(i / 2) % NODE_COUNT);
    await admin.create(at(PERSISTENT_VOLUMES, undefined), {
      apiVersion: 'v1', kind: 'PersistentVolume',
      metadata: { name: `${ns}-pv-${i}`, labels: { [LABEL_PV_LISTENER_NAMESPACE]: ns, [LABEL_PV_LISTENER_NAME]: listenerName(i) } },
      spec: {
        capacity: { storage: '1' }, accessModes: ['ReadWriteMany'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'chaos',
        csi: { driver: 'listeners.stackable.tech', volumeHandle: `${ns}-pv-${i}` },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: TOPOLOGY_KEY_HOSTNAME, operator: 'In', values: [node] }] }] } },
      },
    });
  }
}

export function listenerBody(i: number): Record<string, unknown> {
  return {
    apiVersion: GROUP_VERSION, kind: 'Listener', metadata: { name: listenerName(i) },
    spec: { className: isNodePort(i) ? CLASS_NODE_PORT : CLASS_CLUSTER_IP, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
  };
}

export interface LoadResult {
  created: number;
  /** Create requests that failed and were tried again (the API server away, a timeout). */
  retries: number;
}

/**
 * Creates Listeners from..to-1 with `concurrency` workers, each retrying a failed create (200 ms
 * apart) until `deadline`: a client that keeps going through the fault. AlreadyExists counts as
 * created (a create whose answer was lost on the way back).
 */
export async function createListeners(admin: KubeClient, ns: string, from: number, to: number, o: { concurrency: number; deadline: number; spreadMs?: number; onCreated?: (count: number) => void }): Promise<LoadResult> {
  // Paced so that the creates take about `spreadMs` in all (a fault then lands in the middle of them).
  const pause = o.spreadMs === undefined ? 0 : o.spreadMs / Math.max(1, (to - from) / o.concurrency);
  let next = from;
  let created = 0;
  let retries = 0;
  const worker = async (): Promise<void> => {
    while (next < to && Date.now() < o.deadline) {
      const i = next++;
      for (;;) {
        try {
          await admin.create(at(LISTENERS, ns), listenerBody(i), { timeoutMs: 5000 });
          break;
        } catch (e) {
          if (isConflict(e)) break;
          retries++;
          if (Date.now() > o.deadline) return;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      created++;
      o.onCreated?.(created);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  return { created, retries };
}

interface ListenerView {
  metadata: { name: string; uid: string };
  spec: { className?: string };
  status?: { ingressAddresses?: unknown[] | null; nodePorts?: Record<string, number> | null; conditions?: { type: string; status: string }[] | null };
}

interface ServiceView { metadata: { name: string; ownerReferences?: { uid: string; controller?: boolean; kind: string }[] } }

export interface Health {
  listeners: number;
  converged: number;
  /** Listeners with no Service of their own. */
  lost: number;
  /** Listeners with more than one Service controlled by them. */
  duplicated: number;
  /** Our Services whose controlling Listener does not exist. */
  orphaned: number;
}

function complete(l: ListenerView): boolean {
  const s = l.status;
  const ready = s?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  const addresses = (s?.ingressAddresses?.length ?? 0) > 0;
  const ports = l.spec.className !== CLASS_NODE_PORT || (s?.nodePorts?.http ?? 0) > 0;
  return ready && addresses && ports;
}

export async function health(admin: KubeClient, ns: string): Promise<Health> {
  const [listeners, services] = await Promise.all([
    admin.list<ListenerView>(at(LISTENERS, ns)),
    admin.list<ServiceView>(at(SERVICES, ns), { labelSelector: `${LABEL_APP_MANAGED_BY}=${MANAGED_BY}` }),
  ]);
  const owned = new Map<string, number>();
  for (const s of services.items) {
    for (const r of s.metadata.ownerReferences ?? []) if (r.controller === true && r.kind === 'Listener') owned.set(r.uid, (owned.get(r.uid) ?? 0) + 1);
  }
  const uids = new Set(listeners.items.map((l) => l.metadata.uid));
  let converged = 0;
  let lost = 0;
  let duplicated = 0;
  for (const l of listeners.items) {
    const n = owned.get(l.metadata.uid) ?? 0;
    if (n === 0) lost++;
    if (n > 1) duplicated++;
    if (n === 1 && complete(l)) converged++;
  }
  const orphaned = services.items.filter((s) => !(s.metadata.ownerReferences ?? []).some((r) => r.controller === true && uids.has(r.uid))).length;
  return { listeners: listeners.items.length, converged, lost, duplicated, orphaned };
}

/** Polls until all `expected` Listeners have converged (or `timeoutMs`); the last health and how long it took. */
export async function waitConverged(admin: KubeClient, ns: string, expected: number, timeoutMs: number): Promise<{ health: Health; ms: number; done: boolean }> {
  const t0 = Date.now();
  let last: Health = { listeners: 0, converged: 0, lost: 0, duplicated: 0, orphaned: 0 };
  for (;;) {
    try {
      last = await health(admin, ns);
      if (last.listeners === expected && last.converged === expected && last.duplicated === 0 && last.orphaned === 0) return { health: last, ms: Date.now() - t0, done: true };
    } catch {
      // the API server may still be coming back
    }
    if (Date.now() - t0 > timeoutMs) return { health: last, ms: Date.now() - t0, done: false };
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Services a Listener lost would be created again; this catches any that are gone for good. */
export function zeroLoss(h: Health, expected: number): string | undefined {
  if (h.listeners !== expected) return `${h.listeners} of ${expected} Listeners exist`;
  if (h.lost > 0 || h.duplicated > 0 || h.orphaned > 0) return `lost ${h.lost}, duplicated ${h.duplicated}, orphaned ${h.orphaned}`;
  if (h.converged !== expected) return `${h.converged} of ${expected} converged`;
  return undefined;
}

