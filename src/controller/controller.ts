// The Listener controller: caches → keyed work queue → reconcile. Maps every change that can
// affect a Listener (itself, its class, its Service, its EndpointSlices, its labelled PVs, the
// Nodes behind it) to that Listener's namespace/name key, never wider.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { GROUP_VERSION, LABEL_SERVICE_NAME } from '../constants.ts';
import { isNamespaceTerminating, type KubeClient, type KubeObject } from '../k8s/client.ts';
import { EventRecorder } from '../k8s/events.ts';
import { objectKey } from '../k8s/informer.ts';
import { WorkQueue, type QueueObserver } from '../util/queue.ts';
import { NOOP_TRACER, type Tracer } from '../util/trace.ts';
import { stableJson } from '../util/stable-json.ts';
import { Caches, namespacedKey, pvListenerKey, type EndpointSlice, type EndpointsApi, type Node, type PersistentVolume } from './caches.ts';
import { EchoFilter } from './echoes.ts';
import { ListenerProblem, reconcileListener, type ReconcileContext } from './reconcile.ts';

export interface ControllerOptions {
  client: KubeClient;
  log: Logger;
  clusterDomain: string;
  concurrency: number;
  /** Watch only this namespace (default: all). */
  namespace?: string | undefined;
  /** How long one reconcile may run before it is aborted and retried. Default 30 s. */
  reconcileTimeoutMs?: number | undefined;
  /** Where endpoints are read from (default EndpointSlices; Endpoints where those are forbidden). */
  endpointsApi?: EndpointsApi | undefined;
  /** A span per reconcile (default: none). */
  tracer?: Tracer | undefined;
  /** Reconcile outcomes (metrics). */
  observer?: ReconcileObserver | undefined;
  /** The work queue's events (metrics). */
  queueObserver?: QueueObserver | undefined;
}

/**
 * How a reconcile ended, in controller-runtime's terms: `error` also covers a `terminal` error (a
 * problem in the objects that no retry fixes) and a `panic` (a programming error: TypeError,
 * RangeError, ReferenceError, SyntaxError).
 */
export interface ReconcileOutcome {
  result: 'success' | 'error';
  kind?: 'terminal' | 'panic' | undefined;
  seconds: number;
}
export type ReconcileObserver = (o: ReconcileOutcome) => void;

function isPanic(e: unknown): boolean {
  return e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || e instanceof SyntaxError;
}

const RECONCILE_TIMEOUT_MS = 30_000;

export class ListenerController {
  readonly caches: Caches;
  readonly queue: WorkQueue;
  private readonly ctx: ReconcileContext;
  private readonly log: Logger;
  private readonly tracer: Tracer;
  private readonly observer: ReconcileObserver | undefined;
  private started = false;
  private readonly perKey = new Map<string, number>();
  private readonly echoes: EchoFilter;
  private readonly listed = new Set<string>();
  reconciles = 0;

  constructor(o: ControllerOptions) {
    this.log = o.log;
    this.tracer = o.tracer ?? NOOP_TRACER;
    this.observer = o.observer;
    this.caches = new Caches(o.client, (what, e) => { this.log.warn({ err: errText(e) }, `Watching ${what} failed; retrying`); }, o.namespace, o.endpointsApi);
    const events = new EventRecorder(o.client, 'listeners.stackable.tech/listener-controller', hostname());
    this.ctx = { client: o.client, caches: this.caches, events, clusterDomain: o.clusterDomain, nodesOfListener: new Map(), now: () => new Date(), written: new Map(), applied: new Map() };
    // An event held while its key ran is its own write's echo when its version is the one the
    // write returned (the Service's entry is then forgotten, as on the direct path below).
    this.echoes = new EchoFilter((e) => {
      if (e.kind === 'Listener') return e.resourceVersion !== undefined && this.ctx.written.get(e.object)?.listener.metadata?.resourceVersion === e.resourceVersion;
      if (e.resourceVersion === undefined || this.ctx.applied.get(e.object) !== e.resourceVersion) return false;
      this.ctx.applied.delete(e.object);
      return true;
    });
    this.queue = new WorkQueue((key, signal) => this.traced(key, signal), { concurrency: o.concurrency, timeoutMs: o.reconcileTimeoutMs ?? RECONCILE_TIMEOUT_MS, observer: o.queueObserver }, (key, e, delay) => {
      this.log.warn({ listener: key, err: errText(e), retryInMs: delay }, 'Reconcile failed; will retry');
    });
    o.client.onRequest((verb, path) => {
      if (verb === 'list') this.listed.add(path.split('/').pop() ?? path);
    });
    this.wire();
  }

  /** How often a Listener key was reconciled (tests, debugging). */
  reconcilesOf(key: string): number {
    return this.perKey.get(key) ?? 0;
  }

  /** The resources this controller has LISTed (plural names). */
  listedResources(): ReadonlySet<string> {
    return this.listed;
  }

  // Every change that can affect a Listener wakes it, and nothing else does: the echoes of the
  // reconcile's own writes (its status, its Service apply: it computed the status from their
  // answers already), EndpointSlices whose Nodes did not change, PV updates that left its labels
  // and pinned Node alone, and Node updates that left the addresses alone hold nothing new.
  // (docs/benchmark.md: 3.9 reconciles per new Listener before, about 1.3 after.)
  private wire(): void {
    const c = this.caches;
    c.listeners.onChange((type, l) => {
      const key = objectKey(l);
      if (type === 'update' && this.ctx.written.get(key)?.listener.metadata?.resourceVersion === l.metadata?.resourceVersion) return;
      if (type === 'update' && this.echoes.hold(key, { kind: 'Listener', object: key, resourceVersion: l.metadata?.resourceVersion })) return;
      this.enqueue(key);
    });
    c.classes.onChange((_t, cls) => {
      for (const k of c.listenersByClass.get(cls.metadata?.name ?? '')) this.enqueue(k);
    });
    c.services.onChange((type, svc) => {
      const key = objectKey(svc);
      if (type === 'delete') this.ctx.applied.delete(key);
      else if (this.ctx.applied.get(key) === svc.metadata?.resourceVersion) {
        this.ctx.applied.delete(key);
        return;
      }
      const owner = ownerKey(svc);
      if (type !== 'delete' && owner !== undefined && this.echoes.hold(owner, { kind: 'Service', object: key, resourceVersion: svc.metadata?.resourceVersion })) return;
      this.enqueueOwner(svc);
    });
    c.endpointSlices.onChange((type, slice, old) => {
      if (stableJson(type === 'delete' ? [] : endpointNodes(slice)) === stableJson(old === undefined ? [] : endpointNodes(old))) return;
      const svcName = slice.metadata?.labels?.[LABEL_SERVICE_NAME];
      const svc = c.services.get(namespacedKey(slice.metadata?.namespace, svcName));
      if (svc !== undefined) this.enqueueOwner(svc);
    });
    c.pvs.onChange((type, pv, old) => {
      if (type === 'update' && old !== undefined && stableJson(withoutVersion(pv)) === stableJson(withoutVersion(old))) return;
      for (const pvKey of new Set([pvListenerKey(pv), old === undefined ? undefined : pvListenerKey(old)])) {
        if (pvKey !== undefined) for (const k of c.listenersByPvKey.get(pvKey)) this.enqueue(k);
      }
    });
    c.nodes.onChange((type, node, old) => {
      if (type === 'update' && old !== undefined && stableJson(addressesOf(node)) === stableJson(addressesOf(old))) return;
      const name = node.metadata?.name ?? '';
      for (const [k, names] of this.ctx.nodesOfListener) if (names.includes(name)) this.enqueue(k);
    });
  }

  /** Only after the caches have synced do events start reconciles (their first view is complete). */
  private enqueue(key: string): void {
    if (this.started) this.queue.add(key);
  }

  private enqueueOwner(obj: KubeObject): void {
    const owner = ownerKey(obj);
    if (owner !== undefined) this.enqueue(owner);
  }

  async start(): Promise<void> {
    this.log.info('Starting caches (waiting for the CRDs if they are not installed yet)');
    await this.caches.start();
    this.started = true;
    for (const l of this.caches.listeners.list()) this.queue.add(objectKey(l));
    this.log.info({ listeners: this.caches.listeners.size }, 'Caches synced; reconciling');
  }

  /** Stops reconciling: in-flight reconciles get `graceMs` (default 10 s) to finish, then are aborted. */
  async stop(graceMs?: number): Promise<void> {
    this.started = false;
    const left = await this.queue.shutdown(graceMs);
    if (left.length > 0) this.log.warn({ listeners: left }, 'Reconciles still running at shutdown were aborted');
    await this.caches.stop();
  }

  /** One reconcile in its span (the parent of its API requests' spans), measured. */
  private traced(key: string, signal: AbortSignal): Promise<void> {
    const [namespace, name] = key.split('/');
    const attributes = { 'listener.namespace': namespace, 'listener.name': name, 'controller': 'listener' };
    return this.tracer.inSpan('reconcile', { target: 'listener_operator::controller', level: 'info', attributes }, async (span) => {
      const started = performance.now();
      const seconds = (): number => (performance.now() - started) / 1000;
      try {
        await this.reconcile(key, signal);
        span.setAttributes({ 'reconcile.result': 'success', 'reconcile.requeue': false });
        this.observer?.({ result: 'success', seconds: seconds() });
      } catch (e) {
        // The queue retries every error but a problem in the objects themselves (see below).
        const terminal = e instanceof ListenerProblem && !e.retry;
        span.setAttributes({ 'reconcile.result': 'error', 'reconcile.requeue': !terminal, 'reconcile.error': errText(e) });
        this.observer?.({ result: 'error', kind: isPanic(e) ? 'panic' : terminal ? 'terminal' : undefined, seconds: seconds() });
        if (!terminal) throw e;
      }
    });
  }

  private async reconcile(key: string, signal: AbortSignal): Promise<void> {
    this.reconciles++;
    // Counted only while the Listener exists, so churn does not grow the map forever.
    if (this.caches.listeners.get(key) === undefined) this.perKey.delete(key);
    else this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
    const target = { apiVersion: GROUP_VERSION, kind: 'Listener', namespace: key.split('/')[0] ?? '', name: key.split('/')[1] ?? '' };
    this.echoes.start(key);
    try {
      await this.reconcileOnce(key, target, signal);
    } finally {
      // Added while it runs, the queue runs the key again afterwards.
      if (this.echoes.end(key)) this.enqueue(key);
    }
  }

  private async reconcileOnce(key: string, target: { apiVersion: string; kind: string; namespace: string; name: string }, signal: AbortSignal): Promise<void> {
    try {
      await reconcileListener(this.ctx, key, signal);
      this.ctx.events.forget(target);
    } catch (e) {
      if (isNamespaceTerminating(e)) {
        this.log.debug({ listener: key }, 'Namespace is being deleted; leaving the Listener to the garbage collector');
        return;
      }
      // Aborted (deadline or shutdown): the queue has already reported it, and an event now would
      // be one more write from a reconcile that has been told to stop.
      if (signal.aborted) throw e;
      const raw = this.caches.listeners.get(key);
      const uid = raw?.metadata?.uid;
      const reason = e instanceof ListenerProblem ? e.reason : 'ReconcileFailed';
      const message = errText(e);
      this.log.warn({ listener: key, reason }, message);
      const failed = await this.ctx.events.publish({ ...target, uid }, { type: 'Warning', reason, action: 'Reconcile', note: message });
      if (failed !== undefined) this.log.warn({ listener: key, err: failed.message }, 'Publishing an event failed');
      // Problems in the objects themselves are fixed by editing them, which re-triggers us: the
      // caller (traced) counts them as terminal errors and does not retry them.
      throw e;
    }
  }
}

/** Where a slice's endpoints run, and whether they are ready: all the status reads of it. */
function endpointNodes(slice: EndpointSlice): unknown {
  return (slice.endpoints ?? []).map((e) => [e.nodeName ?? '', e.conditions?.ready ?? null]);
}

/** A cached PV (labels and pinned Node: keepPv) without its resourceVersion. */
function withoutVersion(pv: PersistentVolume): unknown {
  return { labels: pv.metadata?.labels, spec: pv.spec };
}

/** The namespace/name of the Listener that controls an object, if one does. */
function ownerKey(obj: KubeObject): string | undefined {
  const owner = obj.metadata?.ownerReferences?.find((r) => r.controller === true && r.kind === 'Listener' && r.apiVersion.startsWith('listeners.stackable.tech/'));
  return owner === undefined ? undefined : namespacedKey(obj.metadata?.namespace, owner.name);
}

function addressesOf(n: Node): unknown {
  return n.status?.addresses ?? [];
}

export function errText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause !== undefined ? `: ${errText(e.cause)}` : '';
  return `${e.message}${cause}`;
}
