// A keyed work queue in the style of client-go's workqueue: adding a key that is already waiting
// collapses into one run; a key that is being processed is never started twice at once, but is
// run again afterwards if it was added meanwhile (so no event is lost); at most `concurrency` keys
// run at a time; a failing key is retried with per-key exponential backoff (capped) without
// blocking the others.
//
// Every run is bounded (controller-runtime's ReconciliationTimeout): it gets an AbortSignal that
// aborts at its deadline, and at that moment the run counts as failed, its slot is given to the
// next key and the key is retried after its backoff, even if the worker ignores the signal. A
// worker passes the signal to its I/O, so an abandoned run cannot write anything afterwards and a
// retry does not race with it. Shutdown is bounded the same way.

/** What the queue reports as it works (client-go's workqueue metrics are built on it). */
export interface QueueObserver {
  /** A key was added that was not already waiting (collapsed adds are not counted, as client-go). */
  added(): void;
  /** A key starts its run after waiting this long since it was added. */
  started(waitedSeconds: number): void;
  /** A run ended (successfully or not) after this long. */
  finished(seconds: number): void;
  /** A failed key was scheduled to run again after its backoff. */
  retried(): void;
}

export interface QueueOptions {
  concurrency: number;
  observer?: QueueObserver;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** How long one run may take before it is aborted and retried. Default 30 s. */
  timeoutMs?: number;
}

export type Worker = (key: string, signal: AbortSignal) => Promise<void>;

/** Why a run's signal was aborted at its deadline. */
export class DeadlineExceeded extends Error {
  constructor(key: string, ms: number) {
    super(`${key} was still running at its ${ms} ms deadline; aborted`);
    this.name = 'DeadlineExceeded';
  }
}

/** Why in-flight runs' signals were aborted at the end of shutdown's grace period. */
export class ShuttingDown extends Error {
  constructor(graceMs: number) {
    super(`the work queue is shutting down and its ${graceMs} ms grace period is over; aborted`);
    this.name = 'ShuttingDown';
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

export class WorkQueue {
  private readonly waiting: string[] = [];
  private readonly waitingSet = new Set<string>();
  /** Keys running now, with the controller that aborts their run. */
  private readonly processing = new Map<string, AbortController>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly idleWaiters: (() => void)[] = [];
  /** When each waiting (or dirty) key was added, and when each running key started (performance.now()). */
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private shuttingDown = false;
  private readonly opts: Required<Omit<QueueOptions, 'observer'>>;
  private readonly observer: QueueObserver | undefined;
  private readonly worker: Worker;
  private readonly onError: (key: string, e: unknown, retryInMs: number) => void;

  constructor(worker: Worker, opts: QueueOptions, onError: (key: string, e: unknown, retryInMs: number) => void = () => undefined) {
    this.worker = worker;
    const { observer, ...rest } = opts;
    this.opts = { baseDelayMs: 250, maxDelayMs: 60_000, timeoutMs: DEFAULT_TIMEOUT_MS, ...rest };
    this.observer = observer;
    this.onError = onError;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      if (!this.dirty.has(key)) this.noteAdded(key);
      this.dirty.add(key);
      return;
    }
    if (this.waitingSet.has(key)) return;
    if (!this.addedAt.has(key)) this.noteAdded(key);
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

  /** How long each running key has been running, in seconds (client-go's unfinished work). */
  runningSeconds(): number[] {
    const now = performance.now();
    return [...this.startedAt.values()].map((t) => (now - t) / 1000);
  }

  private noteAdded(key: string): void {
    this.addedAt.set(key, performance.now());
    this.observer?.added();
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

  /**
   * Stops taking work, cancels retries, and waits for in-flight keys to finish, at most `graceMs`;
   * then aborts the runs still going and returns their keys (empty when everything finished).
   */
  async shutdown(graceMs = DEFAULT_SHUTDOWN_GRACE_MS): Promise<string[]> {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.waiting.length = 0;
    this.waitingSet.clear();
    this.dirty.clear();
    this.addedAt.clear();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs); });
    await Promise.race([this.idle(), graceOver]);
    clearTimeout(timer);
    const left = [...this.processing.keys()];
    const reason = new ShuttingDown(graceMs);
    for (const run of this.processing.values()) run.abort(reason);
    return left;
  }

  private pump(): void {
    while (this.processing.size < this.opts.concurrency && this.waiting.length > 0) {
      const key = this.waiting.shift();
      if (key === undefined) break;
      this.waitingSet.delete(key);
      const now = performance.now();
      this.observer?.started((now - (this.addedAt.get(key) ?? now)) / 1000);
      this.addedAt.delete(key);
      this.startedAt.set(key, now);
      const run = new AbortController();
      this.processing.set(key, run);
      void this.run(key, run);
    }
    if (this.isIdle()) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async run(key: string, run: AbortController): Promise<void> {
    const timeoutMs = this.opts.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    // Settles (rejects) when the run's signal aborts, whoever aborted it: the run is over then,
    // whether or not the worker has noticed.
    const aborted = new Promise<never>((_resolve, reject) => {
      run.signal.addEventListener('abort', () => { reject(run.signal.reason as Error); }, { once: true });
      timer = setTimeout(() => { run.abort(new DeadlineExceeded(key, timeoutMs)); }, timeoutMs);
    });
    try {
      await Promise.race([this.worker(key, run.signal), aborted]);
      this.failures.delete(key);
    } catch (e) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(this.opts.baseDelayMs * 2 ** (n - 1), this.opts.maxDelayMs);
      this.onError(key, e, delay);
      if (!this.shuttingDown) {
        this.observer?.retried();
        this.addAfter(key, delay);
      }
    } finally {
      clearTimeout(timer);
      this.observer?.finished((performance.now() - (this.startedAt.get(key) ?? performance.now())) / 1000);
      this.startedAt.delete(key);
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
