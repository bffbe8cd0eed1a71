// CSI Node, served by `run node` on every Node: NodeGetInfo, NodeGetCapabilities (none: no
// stage/unstage), NodePublishVolume and NodeUnpublishVolume.
//
// NodePublishVolume follows the contract, after validating the whole request (no API call and no
// file write for a bad request), in two rounds of requests that do not depend on each other
// (docs/csi.md draws the chain):
//   1. at once: the Pod, the PV and the Listener or ListenerClass the volume context names. For a
//      `listener-name` volume the PV's read *is* its label write (3.): a JSON merge patch that also
//      asserts the PV is this driver's volume with this handle (its CSI source is immutable, so a
//      mismatch is refused) and answers with the PV; the labels it sets follow from the PV's own
//      volume attributes. A `listener-class` volume reads the PV, then its claim, and creates the
//      Listener named after the claim, owned by the PV (create-only: a same-named Listener this PV
//      does not own is refused with FAILED_PRECONDITION, never updated);
//   then the checks: the Pod's UID is the volume context's, the PV is bound, the Pod mounts its
//   claim, the Listener decodes; and the addresses for this Pod (5.: its own Node's address with
//   the node ports, or the Listener's ingress addresses; the class and Node come from a short-lived
//   cache);
//   2. at once: the PV labels (3., a `listener-class` volume's, skipped when there), the Pod's mount
//      label (4., skipped when there; the patch carries the Pod's UID, so a Pod recreated meanwhile
//      is refused, not labelled), and, when there are addresses, PodListeners `pod-<uid>` (6.:
//      created, merged into on conflict); no address yet is UNAVAILABLE after the labels, so
//      kubelet retries while the controller, which needs the labels, works;
//   7. the file tree (pod-dir.ts).
// Every step is idempotent, so a repeated publish converges to the same state.
//
// Bounded and serialised: every API request carries the call's signal (its gRPC deadline and
// cancellation), so a call the caller gave up on stops at its next request. Calls for one target
// path never overlap: one that arrives while another publish or unpublish of that path is in
// flight is answered ABORTED at once (CSI: "operation pending for volume"), so that a kubelet
// retry cannot interleave its file swaps and API writes with the call it retries. The target
// path is the key because it is the state the calls share (kubelet's path embeds the Pod UID and
// the volume); publishes of one volume to different Pods share only idempotent API merges.
//
// The Pod read from the API server must be the one kubelet publishes for: a different UID than
// the volume context's means the Pod was recreated under the same name, and labelling it or
// writing its PodListeners would hand the old incarnation's volume to the new Pod. That is
// UNAVAILABLE (kubelet retries), checked before any write.
//
// The plugin never watches cluster-wide: it caches only its ListenerClasses and Nodes (by name,
// for a short time; in practice only its own Node is ever asked for).

import { DRIVER_NAME, FIELD_MANAGER, TOPOLOGY_KEY_HOSTNAME } from '../constants.ts';
import type { Listener } from '../crd/index.ts';
import { ApiError, isConflict, isNotFound, type KubeClient, type ResourceRef } from '../k8s/client.ts';
import { LISTENER_CLASSES, LISTENERS, NODES, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, POD_LISTENERS, PODS, at } from '../k8s/resources.ts';
import { TtlCache } from '../util/ttl-cache.ts';
import {
  buildAutoListener,
  buildPodLabelPatch,
  buildPodListenersPatch,
  buildPvLabelPatch,
  hasLabels,
  isListenerOwnedByVolume,
  podAddresses,
  volumeNameForPvc,
  type LabelPatch,
  type PodAddresses,
  type PodListenersPatch,
} from './decisions.ts';
import type { NodePublishVolumeError, ObjectRef, OperationPending, WriteObject } from './errors.ts';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from './kube-types.ts';
import { decodeListener, decodeListenerClass, fetchObject, fetchOptional, resolveClass, type ClassLookup } from './lookups.ts';
import { removePodDir, writePodDir } from './pod-dir.ts';
import { err, ok, type Result } from './result.ts';
import type { NodeImpl, RpcContext } from './server.ts';
import { validateNodePublishVolume, validateNodeUnpublishVolume, type NodePublishVolumeArgs } from './validation.ts';

export interface NodeServiceOptions {
  readonly client: KubeClient;
  /** The Kubernetes Node this plugin runs on. */
  readonly nodeName: string;
  /** How long a ListenerClass or Node read is reused. Default 10 s; 0 disables the cache. */
  readonly cacheTtlMs?: number;
}

interface Deps {
  readonly client: KubeClient;
  readonly lookupClass: (name: string, signal: AbortSignal) => ReturnType<ClassLookup>;
  readonly lookupNode: (name: string, signal: AbortSignal) => Promise<Result<Node, NodePublishVolumeError>>;
}

/** What one call works with: the shared dependencies, and the call's own signal. */
interface Call extends Deps {
  readonly signal: AbortSignal;
  readonly lookup: ClassLookup;
}

export function nodeService(opts: NodeServiceOptions): NodeImpl {
  const { client, nodeName } = opts;
  const ttlMs = opts.cacheTtlMs ?? 10_000;
  const classes = new TtlCache<unknown>({ ttlMs, maxEntries: 256 });
  const nodes = new TtlCache<Node>({ ttlMs, maxEntries: 16 });
  const deps: Deps = {
    client,
    // A cached read may be shared by concurrent calls: each stops waiting when its own signal
    // aborts, and the read itself stops when no call waits for it any more.
    lookupClass: async (name, signal) => {
      const ref: ObjectRef = { kind: 'ListenerClass', name };
      try {
        const raw = await classes.get(name, async (loadSignal) => {
          const got = await fetchOptional<unknown>(client, at(LISTENER_CLASSES, undefined, name), ref, loadSignal);
          if (!got.ok) throw got.error.cause;
          return got.value;
        }, signal);
        return decodeListenerClass(raw, name);
      } catch (cause) {
        return err({ kind: 'GetObject', ref, cause });
      }
    },
    lookupNode: async (name, signal) => {
      const ref: ObjectRef = { kind: 'Node', name };
      try {
        const node = await nodes.get(name, async (loadSignal) => {
          const got = await fetchObject<Node>(client, at(NODES, undefined, name), ref, loadSignal);
          if (!got.ok) throw got.error.cause;
          return got.value;
        }, signal);
        return node === undefined ? err({ kind: 'GetObject', ref, cause: undefined }) : ok(node);
      } catch (cause) {
        return err({ kind: 'GetObject', ref, cause });
      }
    },
  };

  const inFlight = new Set<string>();
  const call = (signal: AbortSignal): Call => ({ ...deps, signal, lookup: (name) => deps.lookupClass(name, signal) });
  return {
    NodeGetInfo: () => ok({ node_id: nodeName, max_volumes_per_node: 0, accessible_topology: { segments: { [TOPOLOGY_KEY_HOSTNAME]: nodeName } } }),
    NodeGetCapabilities: () => ok({ capabilities: [] }),
    NodePublishVolume: (request, ctx) => {
      const valid = validateNodePublishVolume(request);
      if (!valid.ok) return valid;
      return exclusive(inFlight, valid.value.targetPath, () => publish(call(ctx.signal), valid.value, ctx));
    },
    NodeUnpublishVolume: (request) => {
      const args = validateNodeUnpublishVolume(request);
      if (!args.ok) return args;
      return exclusive(inFlight, args.value.targetPath, async () => {
        const removed = await removePodDir(args.value.targetPath);
        return removed.ok ? ok({}) : removed;
      });
    },
  };
}

/** Runs `fn` unless a call for `targetPath` is in flight (then ABORTED, without waiting). */
async function exclusive<T, E>(inFlight: Set<string>, targetPath: string, fn: () => Promise<Result<T, E>>): Promise<Result<T, E | OperationPending>> {
  if (inFlight.has(targetPath)) return err({ kind: 'OperationPending', targetPath });
  inFlight.add(targetPath);
  try {
    return await fn();
  } finally {
    inFlight.delete(targetPath);
  }
}

type Outcome<T> = Result<T, NodePublishVolumeError>;

async function publish(c: Call, args: NodePublishVolumeArgs, { log }: RpcContext): Promise<Outcome<Record<string, never>>> {
  const namespace = args.pod.namespace;

  // 1. The objects, and the Listener.
  const read = await readObjects(c, args);
  if (!read.ok) return read;
  const { pv, pvRef, pod, podRef, claimRef, volumeName, early } = read.value;
  const resolved = early.via === 'name' ? ok(early.listener) : await getOrCreateAutoListener(c, { pv, pvRef, pod, claimRef, className: early.className, log });
  if (!resolved.ok) return resolved;
  const listener = withIdentity(resolved.value, { kind: 'Listener', namespace, name: early.via === 'name' ? early.listener.metadata.name ?? '' : claimRef.name });
  if (!listener.ok) return listener;
  const { name: listenerName, uid: listenerUid, ref: listenerRef } = listener.value;

  // 5. The addresses for this Pod (no write yet).
  const addresses = await addressesForPod(c, { listener: listener.value.listener, listenerRef, pod, podRef });

  // 2. The writes that do not depend on each other: 3. + 4. the labels, 6. PodListeners.
  // The Pod's UID in its patch: a Pod deleted and recreated since it was read is refused (its UID
  // is immutable), not labelled.
  const podLabel = { metadata: { uid: pod.metadata?.uid, labels: buildPodLabelPatch({ name: listenerName, uid: listenerUid }).metadata.labels } };
  const writes: Promise<Result<void, WriteObject>>[] = [
    labelIfMissing(c, at(PERSISTENT_VOLUMES, undefined, args.volumeId), pvRef, pv, buildPvLabelPatch({ namespace, name: listenerName })),
    labelIfMissing(c, at(PODS, namespace, args.pod.name), podRef, pod, podLabel),
  ];
  if (addresses.ok) {
    writes.push(upsertPodListeners(c, buildPodListenersPatch({ pod, volumeName, scope: addresses.value.scope, ingressAddresses: addresses.value.addresses })));
  }
  for (const w of await Promise.all(writes)) if (!w.ok) return w;
  if (!addresses.ok) return addresses;

  // 7. The files.
  const written = await writePodDir(args.targetPath, addresses.value.addresses);
  if (!written.ok) return written;
  log.info({ listener: `${namespace}/${listenerName}`, volume: volumeName, addresses: addresses.value.addresses.map((a) => a.address) }, 'Volume published');
  return ok({});
}

interface PublishObjects {
  readonly pv: PersistentVolume;
  readonly pvRef: ObjectRef;
  readonly pod: Pod;
  readonly podRef: ObjectRef;
  readonly claimRef: ObjectRef & { readonly namespace: string };
  /** The Pod's name for the volume (the PodListeners key). */
  readonly volumeName: string;
  readonly early: { readonly via: 'class'; readonly className: string } | { readonly via: 'name'; readonly listener: Listener };
}

/** The PV and the Pod, plus the class or the named Listener, read at once; the claim and the Pod checked. */
async function readObjects(c: Call, args: NodePublishVolumeArgs): Promise<Outcome<PublishObjects>> {
  const { client, signal } = c;
  const namespace = args.pod.namespace;
  const pvRef: ObjectRef = { kind: 'PersistentVolume', name: args.volumeId };
  const podRef: ObjectRef = { kind: 'Pod', namespace, name: args.pod.name };
  const [pv, pod, early] = await Promise.all([
    readPv(c, args, pvRef),
    fetchObject<Pod>(client, at(PODS, namespace, args.pod.name), podRef, signal),
    args.selector.kind === 'class' ? resolveClassOf(c, args.selector.className) : readNamedListener(c, namespace, args.selector.listenerName),
  ]);
  if (!pv.ok) return pv;
  if (!pod.ok) return pod;
  if (!early.ok) return early;
  const uid = pod.value.metadata?.uid;
  if (args.pod.uid !== undefined && uid !== args.pod.uid) return err({ kind: 'PodUidMismatch', pod: podRef, expected: args.pod.uid, actual: uid });
  const claim = pv.value.spec?.claimRef;
  if (claim?.name === undefined || claim.name === '') return err({ kind: 'VolumeHasNoClaim', volume: pvRef });
  const claimRef = { kind: 'PersistentVolumeClaim', namespace: claim.namespace ?? namespace, name: claim.name };
  // A Pod can only mount claims of its own namespace.
  const volumeName = claimRef.namespace === namespace ? volumeNameForPvc({ pod: pod.value, pvcName: claim.name }) : undefined;
  if (volumeName === undefined) return err({ kind: 'VolumeNotInPod', pod: podRef, claim: claimRef });
  return ok({ pv: pv.value, pvRef, pod: pod.value, podRef, claimRef, volumeName, early: early.value });
}

/** The PV: for a `listener-name` volume through its label patch (labelPvAsRead), else a GET. */
function readPv(c: Call, args: NodePublishVolumeArgs, ref: ObjectRef): Promise<Outcome<PersistentVolume>> {
  if (args.selector.kind === 'name') return labelPvAsRead(c, args.volumeId, ref, { namespace: args.pod.namespace, name: args.selector.listenerName });
  return fetchObject<PersistentVolume>(c.client, at(PERSISTENT_VOLUMES, undefined, args.volumeId), ref, c.signal);
}

/**
 * A `listener-name` volume's PV, read by writing its labels (contract step 3): they follow from
 * the request alone (the Listener its volume attributes name, in the Pod's namespace), so the
 * read and the write are one request. The patch also names the PV's CSI driver and handle, which
 * are immutable: a PV that is not this driver's volume with this handle is refused (422), not
 * labelled. A missing PV is UNAVAILABLE, as a failed read.
 */
async function labelPvAsRead(c: Call, volumeId: string, ref: ObjectRef, listener: { namespace: string; name: string }): Promise<Outcome<PersistentVolume>> {
  const patch = { metadata: buildPvLabelPatch(listener).metadata, spec: { csi: { driver: DRIVER_NAME, volumeHandle: volumeId } } };
  try {
    return ok(await c.client.mergePatch<PersistentVolume>(at(PERSISTENT_VOLUMES, undefined, volumeId), patch, FIELD_MANAGER, { signal: c.signal }));
  } catch (cause) {
    if (isNotFound(cause)) return err({ kind: 'GetObject', ref, cause });
    if (cause instanceof ApiError && cause.status === 422) return err({ kind: 'InvalidObject', ref, reason: `it is not a volume of ${DRIVER_NAME} with handle "${volumeId}"` });
    return err({ kind: 'WriteObject', ref, action: 'patch', cause });
  }
}

/** The Listener with the name and UID the labels need (always set on an object read from the API server). */
function withIdentity(listener: Listener, ref: ObjectRef): Outcome<{ listener: Listener; name: string; uid: string; ref: ObjectRef }> {
  const name = listener.metadata.name ?? ref.name;
  const uid = listener.metadata.uid;
  if (uid === undefined || uid === '') return err({ kind: 'InvalidObject', ref, reason: 'metadata.uid is missing' });
  return ok({ listener, name, uid, ref: { ...ref, name } });
}

/** A `listener-class` volume: the class must exist before a Listener is created for it. */
async function resolveClassOf(c: Call, className: string): Promise<Outcome<{ via: 'class'; className: string }>> {
  const resolved = await resolveClass(c.lookup, className);
  return resolved.ok ? ok({ via: 'class', className }) : resolved;
}

/** The Listener named by `listener-name`, decoded; a missing one is UNAVAILABLE (it may be created later). */
async function readNamedListener(c: Call, namespace: string, name: string): Promise<Outcome<{ via: 'name'; listener: Listener }>> {
  const ref: ObjectRef = { kind: 'Listener', namespace, name };
  const raw = await fetchObject<unknown>(c.client, at(LISTENERS, namespace, name), ref, c.signal);
  if (!raw.ok) return raw;
  const listener = decodeListener(raw.value, ref);
  return listener.ok ? ok({ via: 'name', listener: listener.value }) : listener;
}

/**
 * Creates the Listener for a `listener-class` volume. Create-only: when one with that name exists,
 * it is used if this PV owns it, and refused otherwise (never overwritten: no GET-then-apply race).
 */
async function getOrCreateAutoListener(c: Call, a: {
  readonly pv: PersistentVolume;
  readonly pvRef: ObjectRef;
  readonly pod: Pod;
  readonly claimRef: ObjectRef & { readonly namespace: string };
  readonly className: string;
  readonly log: RpcContext['log'];
}): Promise<Outcome<Listener>> {
  const { client, signal } = c;
  const { claimRef } = a;
  const namespace = claimRef.namespace;
  const pvc = await fetchObject<PersistentVolumeClaim>(client, at(PERSISTENT_VOLUME_CLAIMS, namespace, claimRef.name), claimRef, signal);
  if (!pvc.ok) return pvc;
  const desired = buildAutoListener({ pvc: pvc.value, pv: a.pv, pod: a.pod, className: a.className });
  const ref: ObjectRef = { kind: 'Listener', namespace: desired.metadata.namespace, name: desired.metadata.name };
  let raw: unknown;
  try {
    raw = await client.create<unknown>(at(LISTENERS, desired.metadata.namespace), desired, { signal });
    a.log.info({ listener: `${ref.namespace ?? ''}/${ref.name}` }, 'Created the Listener for the volume');
  } catch (cause) {
    if (!isConflict(cause)) return err({ kind: 'WriteObject', ref, action: 'create', cause });
    const existing = await fetchObject<unknown>(client, at(LISTENERS, desired.metadata.namespace, desired.metadata.name), ref, signal);
    if (!existing.ok) return existing;
    raw = existing.value;
    if (!isListenerOwnedByVolume(raw as Listener, a.pv)) return err({ kind: 'ForeignListener', listener: ref, volume: a.pvRef });
  }
  return decodeListener(raw, ref);
}

async function labelIfMissing(c: Call, resource: ResourceRef, ref: ObjectRef, object: Pod | PersistentVolume, patch: LabelPatch): Promise<Result<void, WriteObject>> {
  if (hasLabels(object, patch)) return ok(undefined);
  try {
    await c.client.mergePatch(resource, patch, FIELD_MANAGER, { signal: c.signal });
    return ok(undefined);
  } catch (cause) {
    return err({ kind: 'WriteObject', ref, action: 'patch', cause });
  }
}

async function addressesForPod(c: Call, a: {
  readonly listener: Listener;
  readonly listenerRef: ObjectRef;
  readonly pod: Pod;
  readonly podRef: ObjectRef;
}): Promise<Outcome<PodAddresses>> {
  const status = a.listener.status;
  const nodePorts = status?.nodePorts;
  if (nodePorts === undefined || nodePorts === null) {
    return podAddresses({ listener: a.listenerRef, listenerStatus: status, node: {}, preferredAddressType: undefined });
  }
  // Reached through the Pod's own Node: its address, of the kind the class prefers (the class and
  // the Node come from the plugin's short-lived cache).
  const listenerClass = await resolveClass(c.lookup, a.listener.spec.className, a.listenerRef);
  if (!listenerClass.ok) return listenerClass;
  const nodeName = a.pod.spec?.nodeName;
  if (nodeName === undefined || nodeName === '') return err({ kind: 'PodNotScheduled', pod: a.podRef });
  const node = await c.lookupNode(nodeName, c.signal);
  if (!node.ok) return node;
  return podAddresses({ listener: a.listenerRef, listenerStatus: status, node: node.value, preferredAddressType: listenerClass.value.spec.preferredAddressType });
}

/**
 * This volume's key in `pod-<uid>`: created (a Pod's first listener volume, the usual case: one
 * request), merged into when it exists (another volume of the Pod made it; a re-publish). The
 * rare object deleted between a refused create and the merge is created again (bounded).
 */
async function upsertPodListeners(c: Call, patch: PodListenersPatch): Promise<Result<void, WriteObject>> {
  const { client, signal } = c;
  const { namespace, name } = patch.metadata;
  const ref: ObjectRef = { kind: 'PodListeners', namespace, name };
  for (let attempt = 0; ; attempt++) {
    try {
      await client.create(at(POD_LISTENERS, namespace), patch, { signal });
      return ok(undefined);
    } catch (cause) {
      if (!isConflict(cause)) return err({ kind: 'WriteObject', ref, action: 'create', cause });
    }
    try {
      await client.mergePatch(at(POD_LISTENERS, namespace, name), patch, FIELD_MANAGER, { signal });
      return ok(undefined);
    } catch (cause) {
      if (!isNotFound(cause) || attempt >= 2) return err({ kind: 'WriteObject', ref, action: 'patch', cause });
    }
  }
}
