// A watch-based cache of one resource (optionally label-selected): LIST once, then WATCH from the
// list's resourceVersion with bookmarks, resuming from the last seen version when a watch ends,
// and re-listing only on 410 Gone. Errors back off exponentially (capped) and never stop it.
//
// As client-go's reflector, each watch asks for a timeout drawn uniformly from [5, 10) minutes,
// so that the watches of many informers (and replicas) do not all reconnect at once. A connection
// can also die silently (a network partition, a dropped NAT entry): no error, just no more data,
// until TCP gives up many minutes later. Bookmarks give every healthy watch regular traffic (the
// API server sends one to an idle watcher every minute or two), so a watch that has delivered
// nothing at all for the progress deadline is restarted from its last resourceVersion.
import type { KubeClient, KubeObject, ResourceRef, WatchEvent } from './client.ts';
import { ApiError } from './client.ts';
import { sleep } from '../util/sleep.ts';

export type ChangeType = 'add' | 'update' | 'delete';
export type ChangeHandler<T> = (type: ChangeType, obj: T, old: T | undefined) => void;

export interface InformerOptions<T> {
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Reduces an object to what its readers use before it is cached (and before handlers see it):
   * a cache holds every object of its kind, so what it keeps is most of the process's memory.
   */
  transform?: (obj: T) => T;
  /**
   * Each watch asks for a timeout drawn uniformly from [min, 2·min) seconds (client-go: 300, so 5
   * to 10 minutes). Default 300.
   */
  minWatchTimeoutSeconds?: number;
  /** A watch that delivers nothing (no event, no bookmark) for this long is restarted. Default 3 min. */
  progressDeadlineMs?: number;
  /** The source of randomness for the watch timeouts (tests). Default Math.random. */
  random?: () => number;
  onError?: (e: unknown) => void;
}

/** A watch was restarted because it delivered nothing for the progress deadline. */
export class WatchStalled extends Error {
  constructor(what: string, ms: number) {
    super(`the watch of ${what} delivered nothing (no event, no bookmark) for ${ms} ms; restarting it`);
    this.name = 'WatchStalled';
  }
}

export function objectKey(o: KubeObject): string {
  const ns = o.metadata?.namespace;
  const name = o.metadata?.name ?? '';
  return ns === undefined || ns === '' ? name : `${ns}/${name}`;
}

const MANAGED_FIELDS = ['managedFields'];

/**
 * The object with a new metadata lacking these fields. A copy rather than `delete`: deleting a
 * property turns a V8 object into a slower, larger dictionary (about 375 bytes more for each cached
 * Listener or Service's metadata, measured on objects as the API server sends them).
 */
export function withoutMetadata<T extends KubeObject>(obj: T, drop: readonly string[]): T {
  const metadata = obj.metadata;
  if (metadata === undefined || !drop.some((k) => Object.hasOwn(metadata, k))) return obj;
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) if (!drop.includes(k)) kept[k] = v;
  return { ...obj, metadata: kept };
}

/** Objects per LIST page (client-go's reflector pages its initial LIST by 500 too). */
const PAGE_SIZE = 500;
// Reconnect attempts back off to at most 10 s: an outage costs a few requests, a recovery little delay.
const MAX_BACKOFF_MS = 10_000;
// While waiting for the first LIST (e.g. for CRDs being installed) retry sooner: start-up latency matters.
const MAX_START_BACKOFF_MS = 5_000;
const MIN_WATCH_TIMEOUT_SECONDS = 300;
// Longer than the API server's gap between bookmarks to an idle watcher (about one to two minutes,
// measured on v1.36): a healthy idle watch is rarely restarted, and a restart costs one request.
const PROGRESS_DEADLINE_MS = 180_000;

export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private readonly abort = new AbortController();
  private resourceVersion = '';
  private running: Promise<void> | undefined;
  /** Ends the watch of the moment (see reconnect). */
  private currentWatch: AbortController | undefined;
  private readonly client: KubeClient;
  private readonly ref: ResourceRef;
  private readonly opts: InformerOptions<T>;

  constructor(client: KubeClient, ref: ResourceRef, opts: InformerOptions<T> = {}) {
    this.client = client;
    this.ref = ref;
    this.opts = opts;
  }

  onChange(h: ChangeHandler<T>): void {
    this.handlers.push(h);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  get size(): number {
    return this.store.size;
  }

  /** Lists (retrying until it succeeds or stop()), then watches in the background. */
  async start(): Promise<void> {
    let backoff = 200;
    for (;;) {
      if (this.abort.signal.aborted) return;
      try {
        await this.relist();
        break;
      } catch (e) {
        this.opts.onError?.(e);
        await sleep(backoff, this.abort.signal);
        backoff = Math.min(backoff * 2, MAX_START_BACKOFF_MS);
      }
    }
    this.running = this.watchLoop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /**
   * Ends the current watch and starts a new one from the last resourceVersion at once (no re-list):
   * after the API server was unreachable, a watch may be dead without having said so.
   */
  reconnect(): void {
    this.currentWatch?.abort();
  }

  private query(): Record<string, string | undefined> {
    return { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
  }

  /**
   * LISTs in pages of PAGE_SIZE (limit/continue): one page of objects is in flight at a time, not
   * the whole collection as one response body, one string and one parsed array (at 10000
   * Listeners that peak stayed in the process: RSS after a restart 201-224 MiB against 143-150
   * after create; docs/benchmark.md). The pages are one consistent snapshot: the API server serves
   * every continuation from the first page's resourceVersion.
   */
  private async relist(): Promise<void> {
    const seen = new Set<string>();
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const list = await this.client.list<T>(this.ref, { ...this.query(), limit: PAGE_SIZE, continue: cont }, { signal: this.abort.signal });
      // LIST items come without apiVersion and kind (watch events carry them); fill them in so a
      // cached object looks the same however it arrived.
      const kind = list.kind?.replace(/List$/, '');
      for (const item of list.items) {
        item.apiVersion ??= list.apiVersion;
        item.kind ??= kind;
        seen.add(objectKey(item));
        this.put(item);
      }
      resourceVersion = list.metadata.resourceVersion;
      cont = list.metadata.continue === '' ? undefined : list.metadata.continue;
    } while (cont !== undefined);
    for (const [key, old] of this.store) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.emit('delete', old, old);
      }
    }
    this.resourceVersion = resourceVersion ?? '';
  }

  private async watchLoop(): Promise<void> {
    let backoff = 200;
    while (!this.abort.signal.aborted) {
      try {
        await this.watchOnce();
        backoff = 200;
      } catch (e) {
        if (this.abort.signal.aborted) return;
        if (e instanceof ApiError && e.status === 410) {
          // Our resourceVersion is too old: the only case that needs a full re-list.
          try { await this.relist(); continue; } catch (e2) { this.opts.onError?.(e2); }
        } else {
          this.opts.onError?.(e);
        }
        await sleep(backoff, this.abort.signal);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /** One watch, until the server ends it or it stops; WatchStalled when it went silent. */
  private async watchOnce(): Promise<void> {
    const deadlineMs = this.opts.progressDeadlineMs ?? PROGRESS_DEADLINE_MS;
    const silent = new AbortController();
    const current = new AbortController();
    this.currentWatch = current;
    let lastProgress = Date.now();
    // One timer per watch, re-armed for the rest of the deadline when it fires early (cheaper than
    // re-arming it on every event of a busy watch).
    let timer: NodeJS.Timeout | undefined;
    const check = (): void => {
      const idle = Date.now() - lastProgress;
      if (idle >= deadlineMs) silent.abort();
      else timer = setTimeout(check, deadlineMs - idle);
    };
    timer = setTimeout(check, deadlineMs);
    const min = this.opts.minWatchTimeoutSeconds ?? MIN_WATCH_TIMEOUT_SECONDS;
    try {
      await this.client.watch<T>(this.ref, {
        ...this.query(),
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.floor(min * (1 + (this.opts.random ?? Math.random)())),
      }, (e) => {
        lastProgress = Date.now();
        this.apply(e);
      }, AbortSignal.any([this.abort.signal, silent.signal, current.signal]));
    } finally {
      clearTimeout(timer);
    }
    if (silent.signal.aborted && !this.abort.signal.aborted) throw new WatchStalled(resourceName(this.ref), deadlineMs);
  }

  private apply(e: WatchEvent<T>): void {
    const rv = e.object.metadata?.resourceVersion;
    if (rv !== undefined) this.resourceVersion = rv;
    if (e.type === 'BOOKMARK') return;
    if (e.type === 'DELETED') {
      const obj = this.shrink(e.object);
      const key = objectKey(obj);
      const old = this.store.get(key);
      this.store.delete(key);
      this.emit('delete', obj, old);
      return;
    }
    this.put(e.object);
  }

  /** What the cache keeps of an object, and what its handlers see. */
  private shrink(received: T): T {
    // Nothing reads managedFields from a cache, and they are a large part of every object
    // (the benchmark: heap 144 → 118 MiB for 10000 Listeners with their Services).
    const obj = withoutMetadata(received, MANAGED_FIELDS);
    return this.opts.transform?.(obj) ?? obj;
  }

  private put(received: T): void {
    const obj = this.shrink(received);
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (old?.metadata?.resourceVersion === obj.metadata?.resourceVersion && old !== undefined) return;
    this.store.set(key, obj);
    this.emit(old === undefined ? 'add' : 'update', obj, old);
  }

  private emit(type: ChangeType, obj: T, old: T | undefined): void {
    for (const h of this.handlers) {
      try {
        h(type, obj, old);
      } catch (e) {
        this.opts.onError?.(e);
      }
    }
  }

}

function resourceName(r: ResourceRef): string {
  return r.namespace === undefined ? r.plural : `${r.plural} in ${r.namespace}`;
}
