// One Listener, level-triggered: read its world from the caches, compute the desired Service and
// status with pure functions, and write only what differs. A reconcile of an unchanged Listener
// makes no API request at all. Every API call carries the reconcile's AbortSignal, so a reconcile
// past its deadline (see the work queue) stops at its next request and writes nothing after it.
import { GROUP_VERSION, FIELD_MANAGER } from '../constants.ts';
import { parseListener, parseListenerClass, type Listener, type ListenerClass, type ListenerCondition, type ListenerStatus } from '../crd/index.ts';
import { conditionTime, noAddressReason, ownConditions } from '../core/conditions.ts';
import { buildService, type DesiredService } from '../core/service.ts';
import { buildListenerStatus, backingNodeNames } from '../core/status.ts';
import { isControlledByListener } from '../core/ownership.ts';
import { statusEqual } from '../core/status-equal.ts';
import { isNotFound, type KubeClient } from '../k8s/client.ts';
import type { EventRecorder } from '../k8s/events.ts';
import { LISTENERS, SERVICES, at } from '../k8s/resources.ts';
import { contentHash, isSubset } from '../util/stable-json.ts';
import { listenerPvKey, namespacedKey, type Caches, type Node, type RawObject, type Service } from './caches.ts';

/** Annotation on the Service holding the hash of what we last applied, so restarts write nothing. */
export const APPLIED_HASH_ANNOTATION = 'listeners.stackable.tech/applied-hash';

export interface ReconcileContext {
  client: KubeClient;
  caches: Caches;
  events: EventRecorder;
  clusterDomain: string;
  /** Node names each Listener's status was built from (the controller maps Node events by it). */
  nodesOfListener: Map<string, string[]>;
  now: () => Date;
  /**
   * The Listener as our last status write returned it, with the resourceVersion the write was
   * computed from: until the watch delivers our own write, the cache still holds that older
   * version, and a reconcile in between (triggered by our own Service apply) would write the same
   * status again.
   */
  written: Map<string, { from: string | undefined; listener: RawObject }>;
  /**
   * The resourceVersion of each Service as our last apply returned it, until its watch event (the
   * echo of our own write, which holds nothing the reconcile did not already use) arrives.
   */
  applied: Map<string, string>;
}

/** A problem with the Listener or its class that retrying cannot fix: an event, and no retry. */
export class ListenerProblem extends Error {
  readonly reason: string;
  readonly retry: boolean;
  constructor(reason: string, message: string, retry = false) {
    super(message);
    this.name = 'ListenerProblem';
    this.reason = reason;
    this.retry = retry;
  }
}

export async function reconcileListener(ctx: ReconcileContext, key: string, signal?: AbortSignal): Promise<void> {
  let raw = ctx.caches.listeners.get(key);
  if (raw === undefined) {
    ctx.nodesOfListener.delete(key);
    ctx.written.delete(key);
    return; // deleted: the garbage collector removes the Service through its owner reference
  }
  const written = ctx.written.get(key);
  if (written !== undefined) {
    if (written.from === raw.metadata?.resourceVersion) raw = written.listener; // the cache is behind our own write
    else ctx.written.delete(key); // the cache has our write (or a newer version)
  }
  const parsed = parseListener(raw);
  if (!parsed.ok) throw new ListenerProblem('InvalidListener', parsed.error);
  const listener = parsed.value;
  try {
    await reconcileParsed(ctx, key, listener, signal);
  } catch (e) {
    // A problem with the Listener or its class also shows in its Ready condition (the addresses
    // it had stay: its Service is left as it was).
    if (e instanceof ListenerProblem) {
      const conditions = ready(ctx, listener, false, e.reason, e.message);
      await patchStatus(ctx, listener, { ...listener.status, conditions }, signal);
    }
    throw e;
  }
}

async function reconcileParsed(ctx: ReconcileContext, key: string, listener: Listener, signal: AbortSignal | undefined): Promise<void> {
  const listenerClass = resolveClass(ctx, listener);
  const built = buildService(listener, listenerClass);
  if (!built.ok) throw new ListenerProblem('InvalidListener', `Listener ${key}: ${built.error}`);
  const service = await applyService(ctx, listener, built.value, signal);

  const nodes = nodesFor(ctx, listener, listenerClass, service);
  const status = buildListenerStatus({ listenerClass, service, nodes, clusterDomain: ctx.clusterDomain });
  const reachable = (status.ingressAddresses?.length ?? 0) > 0;
  const why = reachable ? { reason: 'AddressesAvailable', message: 'The Listener has addresses.' } : noAddressReason(listenerClass.spec.serviceType);
  await patchStatus(ctx, listener, { ...status, conditions: ready(ctx, listener, reachable, why.reason, why.message) }, signal);
}

function ready(ctx: ReconcileContext, listener: Listener, isReady: boolean, reason: string, message: string): ListenerCondition[] {
  return ownConditions({
    previous: listener.status, ready: isReady, reason, message: message.slice(0, 1024),
    generation: listener.metadata.generation, now: conditionTime(ctx.now()),
  });
}

function resolveClass(ctx: ReconcileContext, listener: Listener): ListenerClass {
  const key = namespacedKey(listener.metadata.namespace, listener.metadata.name);
  const className = listener.spec?.className;
  if (className === undefined || className === null || className === '') {
    throw new ListenerProblem('NoListenerClass', `Listener ${key} has no spec.className: set it to the ListenerClass that decides how it is exposed`);
  }
  const rawClass = ctx.caches.classes.get(className);
  if (rawClass === undefined) {
    throw new ListenerProblem('ListenerClassNotFound', `Listener ${key} names ListenerClass "${className}", which does not exist`);
  }
  const parsed = parseListenerClass(rawClass);
  if (!parsed.ok) throw new ListenerProblem('InvalidListenerClass', `Listener ${key} uses ListenerClass "${className}", which is invalid: ${parsed.error}`);
  return parsed.value;
}

async function applyService(ctx: ReconcileContext, listener: Listener, desired: DesiredService, signal: AbortSignal | undefined): Promise<Service> {
  const ns = listener.metadata.namespace ?? '';
  const name = desired.metadata.name;
  const listenerKey = namespacedKey(ns, listener.metadata.name);
  const hash = contentHash(desired);
  const body = { ...desired, metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, [APPLIED_HASH_ANNOTATION]: hash } } };

  let existing: Service | undefined = ctx.caches.services.get(namespacedKey(ns, name));
  if (existing === undefined) {
    // Not one of ours (our cache holds only Services carrying our label): if a Service of that
    // name exists anyway, it is someone else's and must not be taken over.
    existing = await ctx.client.getOptional<Service>(at(SERVICES, ns, name), { signal });
  }
  if (existing !== undefined && !isControlledByListener(existing, listener)) {
    throw new ListenerProblem('ServiceNotOwned',
      `Listener ${listenerKey} wants Service ${ns}/${name}, but that Service already exists and is not controlled by this Listener; it was left untouched`,
      true);
  }
  if (existing !== undefined && existing.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] === hash && isSubset(desired, existing)) {
    return existing;
  }
  const result = await ctx.client.apply<Service>(at(SERVICES, ns, name), body, FIELD_MANAGER, true, { signal });
  const rv = result.metadata?.resourceVersion;
  if (rv !== undefined) ctx.applied.set(namespacedKey(ns, name), rv);
  return result;
}

/** The Nodes behind a NodePort Listener: pinned by its PVs, or running its ready endpoints. */
function nodesFor(ctx: ReconcileContext, listener: Listener, listenerClass: ListenerClass, service: Service): Node[] {
  const listenerKey = namespacedKey(listener.metadata.namespace, listener.metadata.name);
  // The class decides, as in buildListenerStatus (an override may change the Service's type).
  if (listenerClass.spec.serviceType !== 'NodePort') {
    ctx.nodesOfListener.delete(listenerKey);
    return [];
  }
  const pvs = ctx.caches.pvsByListener.get(listenerPvKey(listener)).flatMap((k) => ctx.caches.pvs.get(k) ?? []);
  const serviceKey = namespacedKey(service.metadata?.namespace, service.metadata?.name);
  const slices = ctx.caches.slicesByService.get(serviceKey).flatMap((k) => ctx.caches.endpointSlices.get(k) ?? []);
  const names = backingNodeNames(pvs, slices);
  ctx.nodesOfListener.set(listenerKey, names);
  return names.flatMap((n) => ctx.caches.nodes.get(n) ?? []);
}

async function patchStatus(ctx: ReconcileContext, listener: Listener, status: ListenerStatus, signal: AbortSignal | undefined): Promise<void> {
  if (statusEqual(listener.status, status)) return;
  const ns = listener.metadata.namespace ?? '';
  const name = listener.metadata.name ?? '';
  try {
    const result = await ctx.client.apply<RawObject>(at(LISTENERS, ns, name, 'status'), {
      apiVersion: GROUP_VERSION, kind: 'Listener', metadata: { name, namespace: ns }, status,
    }, FIELD_MANAGER, true, { signal });
    ctx.written.set(namespacedKey(ns, name), { from: listener.metadata.resourceVersion, listener: result });
  } catch (e) {
    if (isNotFound(e)) return; // deleted meanwhile
    throw e;
  }
}

