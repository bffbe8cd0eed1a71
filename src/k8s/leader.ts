// Lease-based leader election (coordination.k8s.io/v1), as client-go does it: a candidate takes
// the Lease when it is free or when its holder has not renewed it for a whole lease duration as
// observed on *our* clock (no cross-machine clock comparison), renews it periodically with
// optimistic concurrency (resourceVersion), and gives it up on shutdown so a standby takes over at
// once. Losing it (renewals failing for longer than the renew deadline) is reported to the caller.
import type { KubeClient } from './client.ts';
import { ApiError } from './client.ts';
import { LEASES, at } from './resources.ts';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log?: (msg: string) => void;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string | null; leaseDurationSeconds?: number; acquireTime?: string | null; renewTime?: string | null; leaseTransitions?: number };
}

const microTime = (d: Date): string => d.toISOString().replace(/Z$/, '000Z');

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, 'log'>> & { log: (m: string) => void };
  private lease: Lease | undefined;
  private observed = '';
  private observedAt = 0;
  private stopped = false;
  private leading = false;

  constructor(o: LeaderElectionOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, log: () => undefined, ...o };
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Resolves once this candidate leads (or stop() was called: then resolves false). */
  async acquire(): Promise<boolean> {
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.o.log(`Became leader (Lease ${this.o.namespace}/${this.o.name})`);
        return true;
      }
      await this.sleep(this.o.retryPeriodMs);
    }
    return false;
  }

  /** Renews until stop() (resolves 'stopped') or until renewing fails past the deadline ('lost'). */
  async hold(): Promise<'stopped' | 'lost'> {
    let lastRenew = Date.now();
    while (!this.stopped) {
      await this.sleep(this.o.retryPeriodMs);
      if (this.stopped) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.o.renewDeadlineMs) {
        this.leading = false;
        this.o.log(`Lost leadership (Lease ${this.o.namespace}/${this.o.name})`);
        return 'lost';
      }
    }
    return 'stopped';
  }

  /** Stops campaigning; if leading, releases the Lease so another candidate takes over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    if (!this.leading || this.lease === undefined) return;
    this.leading = false;
    try {
      await this.o.client.replace(at(LEASES, this.o.namespace, this.o.name), {
        ...this.lease,
        spec: { ...this.lease.spec, holderIdentity: null, acquireTime: null, renewTime: null, leaseDurationSeconds: 1 },
      });
    } catch {
      // Best effort: the Lease expires on its own.
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.o;
    const now = new Date();
    const spec = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000), renewTime: microTime(now) };
    try {
      const current = await client.getOptional<Lease>(at(LEASES, namespace, name));
      if (current === undefined) {
        this.lease = await client.create<Lease>(at(LEASES, namespace), {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace },
          spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
        });
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
      });
      this.observed = JSON.stringify(this.lease.spec);
      this.observedAt = Date.now();
      return true;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409)) this.o.log(`Leader election: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }
}
