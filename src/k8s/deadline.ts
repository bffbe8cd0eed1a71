// The bound of one API request: its timeout and its caller's AbortSignal, as one signal that ends
// the request wherever it is (connecting, sending, waiting for or reading the response), and the
// error that says which of the two ended it and which request it was.

/** The request took longer than its timeout. */
export class RequestTimeout extends Error {
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number) {
    super(`${what} timed out after ${timeoutMs} ms`);
    this.name = 'RequestTimeout';
    this.timeoutMs = timeoutMs;
  }
}

/** The caller aborted the request; `cause` is the caller's reason. */
export class RequestAborted extends Error {
  constructor(what: string, reason: unknown) {
    super(`${what} was aborted`, { cause: reason });
    this.name = 'RequestAborted';
  }
}

export function isRequestTimeout(e: unknown): e is RequestTimeout {
  return e instanceof RequestTimeout;
}

export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly caller: AbortSignal | undefined;
  private readonly onCallerAbort: () => void;

  /** `what` names the request in errors, e.g. `GET /api/v1/namespaces/default`. */
  constructor(what: string, timeoutMs: number, caller?: AbortSignal) {
    this.caller = caller;
    this.onCallerAbort = () => { this.controller.abort(new RequestAborted(what, caller?.reason)); };
    this.timer = setTimeout(() => { this.controller.abort(new RequestTimeout(what, timeoutMs)); }, timeoutMs);
    if (caller?.aborted === true) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The error to report for `e`: the timeout or the abort when either ended the request. */
  explain(e: unknown): unknown {
    return this.controller.signal.aborted ? this.controller.signal.reason : e;
  }

  /** Call when the request is over (the caller's signal outlives it: no listener may stay behind). */
  clear(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}
