// Watch events that may be the echo of a reconcile's own write, seen while that reconcile still
// runs. The watch event of a write can arrive before the write's answer, so the reconcile cannot
// yet know the resourceVersion it wrote; waking the key for it would run the reconcile once more
// for nothing (the work queue re-runs a key that is added while it runs). Such an event is held
// until the reconcile ends, then dropped if it was the echo (its resourceVersion is the one the
// write returned), and otherwise it wakes the key as any event does, so nothing is lost.

/** An event held for a running key: the object it was about (Listener or Service) and its version. */
export interface HeldEvent {
  kind: 'Listener' | 'Service';
  /** namespace/name of the object the event is about. */
  object: string;
  resourceVersion: string | undefined;
}

export class EchoFilter {
  private readonly running = new Set<string>();
  private readonly held = new Map<string, HeldEvent[]>();
  private readonly isEcho: (e: HeldEvent) => boolean;

  /** `isEcho`: whether the event's version is the one the key's own write returned. */
  constructor(isEcho: (e: HeldEvent) => boolean) {
    this.isEcho = isEcho;
  }

  /** A reconcile of `key` starts. */
  start(key: string): void {
    this.running.add(key);
  }

  /** Holds the event when `key` is being reconciled (true: the caller does not wake the key now). */
  hold(key: string, e: HeldEvent): boolean {
    if (!this.running.has(key)) return false;
    const list = this.held.get(key);
    if (list === undefined) this.held.set(key, [e]);
    else list.push(e);
    return true;
  }

  /** The reconcile of `key` ended: true when a held event was not its echo (the caller wakes the key). */
  end(key: string): boolean {
    this.running.delete(key);
    const events = this.held.get(key) ?? [];
    this.held.delete(key);
    // Every event is checked (no short cut): isEcho also forgets the versions it matched.
    return events.map((e) => this.isEcho(e)).includes(false);
  }
}
