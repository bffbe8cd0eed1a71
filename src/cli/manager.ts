// One lifecycle for every component of the process (controller-runtime's Manager): components
// start in order; the first that fails, at start or later, stops all the others, in reverse order,
// and the process exits non-zero with one line saying which and why. SIGTERM stops them the same
// way with exit 0. Shutdown is bounded by a grace period: what has not stopped by then is left
// behind and the exit is non-zero, before the kubelet's SIGKILL.

export interface Running {
  /**
   * Settles when the component ends on its own. A service (the default) must not end before
   * shutdown: resolving is then an unexpected stop, rejecting a failure. A task may resolve.
   */
  done?: Promise<unknown>;
  /** Stops it; must not throw. */
  stop?: () => Promise<void>;
}

export interface Component {
  name: string;
  /** `task`: it may finish on its own (e.g. creating the presets). Default `service`. */
  kind?: 'service' | 'task';
  /** Starts it; `signal` aborts when the process is stopping (a long start must then give up). */
  start(signal: AbortSignal): Promise<Running>;
}

export type ManagerState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface ManagerOptions {
  graceMs: number;
  /** The one line of a failure (it goes to the log, or to stderr when the log is off). */
  fatal: (line: string) => void;
  info: (message: string, fields?: Record<string, unknown>) => void;
}

const reasonOf = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e);
  return e.cause !== undefined ? `${e.message}: ${reasonOf(e.cause)}` : e.message;
};

export class Manager {
  private readonly o: ManagerOptions;
  private readonly components: Component[] = [];
  private readonly started: { component: Component; running: Running }[] = [];
  private readonly abort = new AbortController();
  private phase: ManagerState = 'starting';
  /** A start still under way when the process began to stop (it may yet deliver something to stop). */
  private pending: { component: Component; start: Promise<Running> } | undefined;

  constructor(o: ManagerOptions) {
    this.o = o;
  }

  add(c: Component): this {
    this.components.push(c);
    return this;
  }

  get state(): ManagerState {
    return this.phase;
  }

  /** Whether `name` has started (readiness). */
  hasStarted(name: string): boolean {
    return this.started.some((s) => s.component.name === name);
  }

  /** Runs everything until `stopRequested` settles (a signal's name) or a component fails; returns the exit code. */
  async run(stopRequested: Promise<string>): Promise<number> {
    let failure: string | undefined;
    let stopSignal: string | undefined;
    const stopped = stopRequested.then((s) => { stopSignal = s; });
    const failed = new Promise<void>((resolve) => {
      this.onFailure = (line) => { failure ??= line; resolve(); };
    });
    void stopped.then(() => { this.abort.abort(); });
    for (const c of this.components) {
      if (stopSignal !== undefined || failure !== undefined) break;
      try {
        const start = c.start(this.abort.signal);
        this.pending = { component: c, start };
        const running = await Promise.race([start, stopped.then(() => undefined), failed.then(() => undefined)]);
        if (running === undefined) break;
        this.pending = undefined;
        this.started.push({ component: c, running });
        this.watch(c, running);
      } catch (e) {
        this.pending = undefined;
        if (stopSignal === undefined) failure ??= `${c.name} failed to start: ${reasonOf(e)}`;
        break;
      }
    }
    if (stopSignal === undefined && failure === undefined) {
      this.phase = 'running';
      await Promise.race([stopped, failed]);
    }
    this.phase = 'stopping';
    this.abort.abort();
    if (failure !== undefined) this.o.fatal(failure);
    else this.o.info('Shutting down', { signal: stopSignal });
    const clean = await this.stopAll();
    this.phase = 'stopped';
    return failure !== undefined || !clean ? 1 : 0;
  }

  private onFailure: (line: string) => void = () => undefined;

  private watch(c: Component, running: Running): void {
    running.done?.then(
      () => {
        if (this.phase !== 'stopping' && this.phase !== 'stopped' && c.kind !== 'task') this.onFailure(`${c.name} stopped unexpectedly`);
      },
      (e: unknown) => {
        if (this.phase !== 'stopping' && this.phase !== 'stopped') this.onFailure(`${c.name} failed: ${reasonOf(e)}`);
      },
    );
  }

  /** Stops the started components in reverse order within the grace period; false if it ran out. */
  private async stopAll(): Promise<boolean> {
    const deadline = Date.now() + this.o.graceMs;
    const within = async <T>(p: Promise<T>): Promise<{ value: T } | undefined> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((r) => { timer = setTimeout(() => { r(undefined); }, Math.max(0, deadline - Date.now())); });
      try {
        return await Promise.race([p.then((value) => ({ value })), late]);
      } finally {
        clearTimeout(timer);
      }
    };
    const toStop = [...this.started].reverse();
    if (this.pending !== undefined) {
      // Its start saw the abort; if it still delivers a component, that one is stopped first.
      const late = await within(this.pending.start.catch(() => undefined));
      if (late === undefined) return this.overdue(this.pending.component);
      if (late.value !== undefined) toStop.unshift({ component: this.pending.component, running: late.value });
    }
    for (const { component, running } of toStop) {
      const done = await within((running.stop?.() ?? Promise.resolve()).catch(() => undefined));
      if (done === undefined) return this.overdue(component);
    }
    return true;
  }

  private overdue(c: Component): false {
    this.o.fatal(`shutdown took longer than ${this.o.graceMs} ms (still stopping: ${c.name}); exiting`);
    return false;
  }
}
