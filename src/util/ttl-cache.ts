// A small time-bounded cache for what a node plugin may keep (its own Node, ListenerClasses):
// entries expire after `ttlMs`; concurrent misses for one key share a single load; a failed or
// empty load is not cached, so "not there yet" is asked again on the next call. Size-bounded
// (oldest entry dropped first) so that a stream of distinct keys cannot grow it without limit.

export interface TtlCacheOptions {
  readonly ttlMs: number;
  readonly maxEntries?: number;
  /** Milliseconds since some epoch; injectable for tests. */
  readonly now?: () => number;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private readonly loading = new Map<string, Promise<V | undefined>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(opts: TtlCacheOptions) {
    this.ttlMs = opts.ttlMs;
    this.maxEntries = opts.maxEntries ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  /** The fresh cached value, else the result of `load` (cached when it is not undefined). */
  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.expires > this.now()) return hit.value;
    if (hit !== undefined) this.entries.delete(key);
    const pending = this.loading.get(key);
    if (pending !== undefined) return pending;
    const promise = load().then(
      (value) => {
        this.loading.delete(key);
        if (value !== undefined && this.ttlMs > 0) this.set(key, value);
        return value;
      },
      (e: unknown) => {
        this.loading.delete(key);
        throw e;
      },
    );
    this.loading.set(key, promise);
    return promise;
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
