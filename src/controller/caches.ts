// The controller's view of the cluster: one watch-based cache per kind it reads, narrowed by label
// selectors to what concerns Listeners, plus the few indexes a reconcile needs so that it never
// scans a whole cache.
import { LABEL_APP_MANAGED_BY, LABEL_PV_LISTENER_NAME, LABEL_PV_LISTENER_NAMESPACE, LABEL_SERVICE_NAME, MANAGED_BY } from '../constants.ts';
import type * as core from '../core/kube.ts';
import { labelValueFor } from '../core/names.ts';
import { ApiError, type KubeClient, type KubeObject } from '../k8s/client.ts';
import { Informer, objectKey, withoutMetadata } from '../k8s/informer.ts';
import { ENDPOINTS, ENDPOINT_SLICES, LISTENERS, LISTENER_CLASSES, NODES, PERSISTENT_VOLUMES, SERVICES, at } from '../k8s/resources.ts';

/** Objects as they come from the API: not yet validated against our schemas. */
export type RawObject = KubeObject & Record<string, unknown>;
export type Service = core.Service & KubeObject;
// Of EndpointSlices, PVs and Nodes the caches keep only what the controller reads (see `keep*`):
// at 10000 Listeners a whole EndpointSlice and PV per Listener would be a quarter of the heap.
export type EndpointSlice = core.EndpointSlice & KubeObject;
export type PersistentVolume = core.PersistentVolume & KubeObject;
export type Node = core.Node & KubeObject;

function pickLabels(labels: Record<string, string> | undefined, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = labels?.[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** A Listener without what no reconcile reads (it needs uid and generation). */
export function keepListener(l: RawObject): RawObject {
  return withoutMetadata(l, ['creationTimestamp']);
}

/** A Service without the metadata no reconcile reads (ownership is in its ownerReferences). */
export function keepService(s: Service): Service {
  return withoutMetadata(s, ['uid', 'creationTimestamp', 'generation']);
}

/** Its Service (by label) and where its endpoints run. */
export function keepSlice(s: EndpointSlice): EndpointSlice {
  const m = s.metadata;
  return {
    metadata: { name: m?.name, namespace: m?.namespace, resourceVersion: m?.resourceVersion, labels: pickLabels(m?.labels, [LABEL_SERVICE_NAME]) },
    endpoints: (s.endpoints ?? []).map((e) => ({ nodeName: e.nodeName, conditions: { ready: e.conditions?.ready } })),
  };
}

/** A v1 Endpoints object, as much of it as says where its endpoints run. */
export interface Endpoints extends KubeObject {
  subsets?: { addresses?: { nodeName?: string }[] | null; notReadyAddresses?: { nodeName?: string }[] | null }[] | null;
}

/**
 * A v1 Endpoints object as the EndpointSlice the controller reads (its Service by label, where
 * its endpoints run and whether they are ready): the cache holds one shape whichever API it
 * watches. An Endpoints object is named after its Service.
 */
export function endpointsAsSlice(e: Endpoints): EndpointSlice {
  const m = e.metadata;
  const endpoints = (e.subsets ?? []).flatMap((s) => [
    ...(s.addresses ?? []).map((a) => ({ nodeName: a.nodeName, conditions: { ready: true } })),
    ...(s.notReadyAddresses ?? []).map((a) => ({ nodeName: a.nodeName, conditions: { ready: false } })),
  ]);
  return { metadata: { name: m?.name, namespace: m?.namespace, resourceVersion: m?.resourceVersion, labels: { [LABEL_SERVICE_NAME]: m?.name ?? '' } }, endpoints };
}

/** Which API says where a Service's endpoints run. */
export type EndpointsApi = 'EndpointSlices' | 'Endpoints';

/** The Listener it is labelled for, and the Node it is pinned to. */
export function keepPv(pv: PersistentVolume): PersistentVolume {
  const m = pv.metadata;
  return {
    metadata: { name: m?.name, resourceVersion: m?.resourceVersion, labels: pickLabels(m?.labels, [LABEL_PV_LISTENER_NAME, LABEL_PV_LISTENER_NAMESPACE]) },
    spec: { nodeAffinity: pv.spec?.nodeAffinity },
  };
}

/** Its addresses (a real Node also lists its images, conditions and capacity: kilobytes each). */
export function keepNode(n: Node): Node {
  return { metadata: { name: n.metadata?.name, resourceVersion: n.metadata?.resourceVersion }, status: { addresses: n.status?.addresses } };
}

/** A secondary index: index key → set of object keys, kept current by informer events. */
export class Index<T extends KubeObject> {
  private readonly map = new Map<string, Set<string>>();
  private readonly of: (o: T) => string[];

  constructor(informer: Informer<T>, of: (o: T) => string[]) {
    this.of = of;
    informer.onChange((type, obj, old) => {
      if (old !== undefined) this.remove(old);
      if (type !== 'delete') this.add(obj);
    });
  }

  get(indexKey: string): string[] {
    return [...(this.map.get(indexKey) ?? [])];
  }

  private add(o: T): void {
    for (const k of this.of(o)) {
      let s = this.map.get(k);
      if (s === undefined) this.map.set(k, (s = new Set()));
      s.add(objectKey(o));
    }
  }

  private remove(o: T): void {
    for (const k of this.of(o)) {
      const s = this.map.get(k);
      s?.delete(objectKey(o));
      if (s?.size === 0) this.map.delete(k);
    }
  }
}

export function namespacedKey(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

/**
 * The `namespace/label value` a PV is labelled for, if any. The label value is the Listener's name,
 * or its derived form when the name is too long for a label value (see labelValueFor).
 */
export function pvListenerKey(pv: KubeObject): string | undefined {
  const labels = pv.metadata?.labels ?? {};
  const ns = labels[LABEL_PV_LISTENER_NAMESPACE];
  const name = labels[LABEL_PV_LISTENER_NAME];
  return ns !== undefined && name !== undefined ? namespacedKey(ns, name) : undefined;
}

/** The pvListenerKey that PVs of this Listener carry. */
export function listenerPvKey(listener: KubeObject): string {
  return namespacedKey(listener.metadata?.namespace, labelValueFor(listener.metadata?.name ?? ''));
}

export class Caches {
  readonly listeners: Informer<RawObject>;
  readonly classes: Informer<RawObject>;
  readonly services: Informer<Service>;
  readonly endpointSlices: Informer<EndpointSlice>;
  readonly pvs: Informer<PersistentVolume>;
  readonly nodes: Informer<Node>;
  /** className → Listener keys */
  readonly listenersByClass: Index<RawObject>;
  /** `namespace/label value` (pvListenerKey) → labelled PV names */
  readonly pvsByListener: Index<PersistentVolume>;
  /** `namespace/label value` → Listener keys (the way back from a PV's labels) */
  readonly listenersByPvKey: Index<RawObject>;
  /** Service key → EndpointSlice keys */
  readonly slicesByService: Index<EndpointSlice>;

  /**
   * `namespace` narrows every namespaced watch (and the PV watch) to one namespace. `endpointsApi`
   * is EndpointSlices unless they are forbidden (see endpointSlicesAllowed).
   */
  constructor(client: KubeClient, onError: (what: string, e: unknown) => void, namespace?: string, endpointsApi: EndpointsApi = 'EndpointSlices') {
    const managed = `${LABEL_APP_MANAGED_BY}=${MANAGED_BY}`;
    const pvSelector = namespace === undefined ? LABEL_PV_LISTENER_NAME : `${LABEL_PV_LISTENER_NAME},${LABEL_PV_LISTENER_NAMESPACE}=${namespace}`;
    const opts = (what: string): { onError: (e: unknown) => void } => ({ onError: (e: unknown) => { onError(what, e); } });
    this.listeners = new Informer(client, at(LISTENERS, namespace), { transform: keepListener, ...opts('Listeners') });
    this.classes = new Informer(client, at(LISTENER_CLASSES, undefined), opts('ListenerClasses'));
    this.services = new Informer(client, at(SERVICES, namespace), { labelSelector: managed, transform: keepService, ...opts('Services') });
    // The EndpointSlice (and Endpoints) controller copies the Service's labels onto its slices, so
    // the same selector narrows this watch to the slices of our Services.
    this.endpointSlices = endpointsApi === 'EndpointSlices'
      ? new Informer(client, at(ENDPOINT_SLICES, namespace), { labelSelector: managed, transform: keepSlice, ...opts('EndpointSlices') })
      : new Informer<EndpointSlice>(client, at(ENDPOINTS, namespace), { labelSelector: managed, transform: (e) => endpointsAsSlice(e), ...opts('Endpoints') });
    this.pvs = new Informer(client, at(PERSISTENT_VOLUMES, undefined), { labelSelector: pvSelector, transform: keepPv, ...opts('PersistentVolumes') });
    this.nodes = new Informer(client, at(NODES, undefined), { transform: keepNode, ...opts('Nodes') });
    this.listenersByClass = new Index(this.listeners, (l) => {
      const spec = l.spec as { className?: unknown } | undefined;
      return typeof spec?.className === 'string' ? [spec.className] : [];
    });
    this.pvsByListener = new Index(this.pvs, (pv) => {
      const k = pvListenerKey(pv);
      return k === undefined ? [] : [k];
    });
    this.listenersByPvKey = new Index(this.listeners, (l) => [listenerPvKey(l)]);
    // Watches that the network dropped without a word are restarted once the API server answers again.
    client.onReconnected(() => { for (const i of this.all()) i.reconnect(); });
    this.slicesByService = new Index(this.endpointSlices, (s) => {
      const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
      return svc === undefined ? [] : [namespacedKey(s.metadata?.namespace, svc)];
    });
  }

  /** Whether this client may list EndpointSlices: false only when the API server says 403. */
  static async endpointSlicesAllowed(client: KubeClient, namespace?: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await client.list(at(ENDPOINT_SLICES, namespace), { limit: 1, labelSelector: `${LABEL_APP_MANAGED_BY}=${MANAGED_BY}` }, { signal });
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) return false;
      return true; // anything else: the informer retries it as usual
    }
  }

  all(): Informer<KubeObject>[] {
    return [this.listeners, this.classes, this.services, this.endpointSlices, this.pvs, this.nodes] as Informer<KubeObject>[];
  }

  /** Starts every cache; resolves once each has listed (retrying while a CRD is not yet installed). */
  async start(): Promise<void> {
    await Promise.all(this.all().map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((i) => i.stop()));
  }
}
