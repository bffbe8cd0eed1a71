// A small time-bounded cache for what a node plugin may keep (its own Node, ListenerClasses):
// entries expire after `ttlMs`; concurrent misses for one key share a single load; a failed or
// empty load is not cached, so "not there yet" is asked again on the next call. Size-bounded
// (oldest entry dropped first) so that a stream of distinct keys cannot grow it without limit.
//
// Cancellation: each caller may pass its signal; it stops waiting when that aborts, and the shared
// load is aborted (through the signal it was given) once every caller waiting for it has gone, so
// a cancelled call leaves no request behind, and never fails a caller that still waits.
import { raceAbort } from './abort.ts';

export interface TtlCacheOptions {
  readonly ttlMs: number;
  readonly maxEntries?: number;
  /** Milliseconds since some epoch; injectable for tests. */
  readonly now?: () => number;
}

interface Loading<V> {
  readonly promise: Promise<V | undefined>;
  readonly controller: AbortController;
  /** Callers still waiting for it. */
  waiters: number;
  readonly done: () => void;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private readonly loading = new Map<string, Loading<V>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(opts: TtlCacheOptions) {
    this.ttlMs = opts.ttlMs;
    this.maxEntries = opts.maxEntries ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /** The fresh cached value, else the result of `load` (cached when it is not undefined). */
  async get(key: string, load: (signal: AbortSignal) => Promise<V | undefined>, signal?: AbortSignal): Promise<V | undefined> {
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.expires > this.now()) return hit.value;
    if (hit !== undefined) this.entries.delete(key);
    if (signal?.aborted === true) throw signal.reason;
    let loading = this.loading.get(key);
    if (loading === undefined) {
      const controller = new AbortController();
      const done = (): void => { if (this.loading.get(key) === loading) this.loading.delete(key); };
      const promise = load(controller.signal).then(
        (value) => {
          done();
          if (value !== undefined && this.ttlMs > 0) this.set(key, value);
          return value;
        },
        (e: unknown) => {
          done();
          throw e;
        },
      );
      loading = { promise, controller, waiters: 0, done };
      this.loading.set(key, loading);
    }
    return this.wait(loading, signal);
  }

  /** One caller's wait for a shared load; the last caller to give up aborts the load. */
  private async wait(loading: Loading<V>, signal: AbortSignal | undefined): Promise<V | undefined> {
    loading.waiters++;
    try {
      return signal === undefined ? await loading.promise : await raceAbort(loading.promise, signal);
    } finally {
      loading.waiters--;
      if (signal?.aborted === true && loading.waiters === 0) {
        loading.done(); // a later caller starts a load of its own
        loading.controller.abort(signal.reason);
      }
    }
  }

  /** Forgets one key (e.g. after learning the cached value is stale). */
  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }
}
