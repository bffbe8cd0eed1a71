// Lease-based leader election (coordination.k8s.io/v1), as client-go does it: a candidate takes
// the Lease when it is free or when its holder has not renewed it for a whole lease duration as
// observed on *our* clock (no cross-machine clock comparison), renews it periodically with
// optimistic concurrency (resourceVersion), and gives it up on shutdown so a standby takes over at
// once.
//
// Never two leaders: a standby takes over no sooner than leaseDuration after it last saw the
// record change, so the leader must stop acting within renewDeadline (< leaseDuration) of the
// start of its last successful renew. Two things make sure it does, even when the API server
// stops answering: every request times out within max(renewDeadline/2, 1 s) (client-go's
// leader-election client timeout), and a timer, not a check after the request returns, ends
// hold() at the renew deadline while a request still hangs. Losing the Lease is reported through
// hold()'s result and onStoppedLeading, so the caller stops reconciling before a standby starts.
import { isConflict, type KubeClient } from './client.ts';
import { LEASES, at } from './resources.ts';
import { sleep } from '../util/sleep.ts';

export type StoppedLeading = 'lost' | 'released';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log?: (msg: string) => void;
  /** Called once when this candidate stops leading: it lost the Lease, or released it. */
  onStoppedLeading?: (reason: StoppedLeading) => void;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string | null; leaseDurationSeconds?: number; acquireTime?: string | null; renewTime?: string | null; leaseTransitions?: number };
}

const microTime = (d: Date): string => d.toISOString().replace(/Z$/, '000Z');

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, 'log' | 'onStoppedLeading'>> & { log: (m: string) => void };
  private readonly onStoppedLeading: ((reason: StoppedLeading) => void) | undefined;
  /** Every request's timeout: max(renewDeadline/2, 1 s), as client-go's leader-election client. */
  private readonly requestTimeoutMs: number;
  /** Aborted by release(): ends sleeps and requests in flight. */
  private readonly stopping = new AbortController();
  private lease: Lease | undefined;
  private observed = '';
  private observedAt = 0;
  /** When the last successful acquire or renew *started* (the record was written after it). */
  private renewedAt = 0;
  private stopped = false;
  private leading = false;

  constructor(o: LeaderElectionOptions) {
    const { onStoppedLeading, ...rest } = o;
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, log: () => undefined, ...rest };
    this.onStoppedLeading = onStoppedLeading;
    this.requestTimeoutMs = Math.max(this.o.renewDeadlineMs / 2, 1000);
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Resolves once this candidate leads (or stop() was called: then resolves false). */
  async acquire(): Promise<boolean> {
    while (!this.stopped) {
      const started = Date.now();
      if (await this.tryAcquireOrRenew(this.stopping.signal) && !this.stopped) {
        this.renewedAt = started;
        this.leading = true;
        this.o.log(`Became leader (Lease ${this.o.namespace}/${this.o.name})`);
        return true;
      }
      await sleep(this.o.retryPeriodMs, this.stopping.signal);
    }
    return false;
  }

  /**
   * Renews until release() (resolves 'stopped') or until the renew deadline passes without a
   * successful renew ('lost'; at that moment, even if a renew request is still hanging).
   */
  async hold(): Promise<'stopped' | 'lost'> {
    while (!this.stopped) {
      await sleep(this.o.retryPeriodMs, this.stopping.signal);
      if (this.stopped) break;
      const started = Date.now();
      const outcome = await this.renewBy(this.renewedAt + this.o.renewDeadlineMs);
      if (this.stopped) break;
      if (outcome === 'renewed') this.renewedAt = started;
      else if (outcome === 'deadline' || Date.now() >= this.renewedAt + this.o.renewDeadlineMs) return this.lose();
    }
    return 'stopped';
  }

  /** One renew attempt, cut off (request aborted) when the renew deadline `by` arrives first. */
  private async renewBy(by: number): Promise<'renewed' | 'failed' | 'deadline'> {
    const remaining = by - Date.now();
    if (remaining <= 0) return 'deadline';
    const attempt = new AbortController();
    const signal = AbortSignal.any([attempt.signal, this.stopping.signal]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => {
        attempt.abort(new Error('the renew deadline passed'));
        resolve('deadline');
      }, remaining);
    });
    try {
      const renewed = this.tryAcquireOrRenew(signal).then((ok) => (ok ? 'renewed' as const : 'failed' as const));
      return await Promise.race([renewed, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private lose(): 'lost' {
    this.leading = false;
    this.o.log(`Lost leadership (Lease ${this.o.namespace}/${this.o.name}): not renewed within ${this.o.renewDeadlineMs} ms`);
    this.onStoppedLeading?.('lost');
    return 'lost';
  }

  /** Stops campaigning; if leading, releases the Lease so another candidate takes over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    this.stopping.abort(new Error('leader election stopped'));
    if (!this.leading || this.lease === undefined) return;
    this.leading = false;
    this.onStoppedLeading?.('released');
    try {
      await this.o.client.replace(at(LEASES, this.o.namespace, this.o.name), {
        ...this.lease,
        spec: { ...this.lease.spec, holderIdentity: null, acquireTime: null, renewTime: null, leaseDurationSeconds: 1 },
      }, { timeoutMs: this.requestTimeoutMs });
    } catch {
      // Best effort: the Lease expires on its own.
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { client, namespace, name, identity } = this.o;
    const call = { signal, timeoutMs: this.requestTimeoutMs };
    const now = new Date();
    const spec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000), renewTime: microTime(now) };
    try {
      const current = await client.getOptional<Lease>(at(LEASES, namespace, name), call);
      if (current === undefined) {
        this.lease = await client.create<Lease>(at(LEASES, namespace), {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace },
          spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
        }, call);
        return true;
      }
      const record = JSON.stringify(current.spec);
      if (record !== this.observed) {
        this.observed = record;
        this.observedAt = Date.now();
      }
      const holder = current.spec.holderIdentity ?? '';
      const expired = holder === '' || this.observedAt + (current.spec.leaseDurationSeconds ?? 15) * 1000 < Date.now();
      if (holder !== identity && !expired) return false;
      const transitions = (current.spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
      this.lease = await client.replace<Lease>(at(LEASES, namespace, name), {
        ...current,
        spec: { ...current.spec, ...spec, acquireTime: holder === identity ? current.spec.acquireTime : microTime(now), leaseTransitions: transitions },
      }, call);
      this.observed = JSON.stringify(this.lease.spec);
      this.observedAt = Date.now();
      return true;
    } catch (e) {
      this.report(e, signal);
      return false;
    }
  }

  /** A failed attempt is worth a line, unless it lost an update race or was cut off on purpose. */
  private report(e: unknown, signal: AbortSignal): void {
    if (isConflict(e) || signal.aborted) return;
    this.o.log(`Leader election: ${e instanceof Error ? e.message : String(e)}`);
  }
}
