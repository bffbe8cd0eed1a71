// A keyed work queue in the style of client-go's workqueue: adding a key that is already waiting
// collapses into one run; a key that is being processed is never run twice at once, but is run
// again afterwards if it was added meanwhile (so no event is lost); at most `concurrency` keys
// run at a time; a failing key is retried with per-key exponential backoff (capped) without
// blocking the others.

export interface QueueOptions {
  concurrency: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export type Worker = (key: string) => Promise<void>;

export class WorkQueue {
  private readonly waiting: string[] = [];
  private readonly waitingSet = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly idleWaiters: (() => void)[] = [];
  private shuttingDown = false;
  private readonly opts: Required<QueueOptions>;
  private readonly worker: Worker;
  private readonly onError: (key: string, e: unknown, retryInMs: number) => void;

  constructor(worker: Worker, opts: QueueOptions, onError: (key: string, e: unknown, retryInMs: number) => void = () => undefined) {
    this.worker = worker;
    this.opts = { baseDelayMs: 250, maxDelayMs: 60_000, ...opts };
    this.onError = onError;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waitingSet.has(key)) return;
    this.waitingSet.add(key);
    this.waiting.push(key);
    this.pump();
  }

  /** Adds the key after a delay (replacing an earlier pending delay for it). */
  addAfter(key: string, ms: number): void {
    const t = this.timers.get(key);
    if (t !== undefined) clearTimeout(t);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, timer);
  }

  /** Number of consecutive failures of a key (0 after a success). */
  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  get length(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.processing.size;
  }

  /** True when nothing waits or runs (delayed retries do not count). */
  isIdle(): boolean {
    return this.waiting.length === 0 && this.processing.size === 0;
  }

  /** Resolves the next time the queue is idle. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work, cancels retries, and waits for in-flight keys to finish. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.waiting.length = 0;
    this.waitingSet.clear();
    this.dirty.clear();
    await this.idle();
  }

  private pump(): void {
    while (this.processing.size < this.opts.concurrency && this.waiting.length > 0) {
      const key = this.waiting.shift();
      if (key === undefined) break;
      this.waitingSet.delete(key);
      this.processing.add(key);
      void this.run(key);
    }
    if (this.isIdle()) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.worker(key);
      this.failures.delete(key);
    } catch (e) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(this.opts.baseDelayMs * 2 ** (n - 1), this.opts.maxDelayMs);
      this.onError(key, e, delay);
      if (!this.shuttingDown) this.addAfter(key, delay);
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
