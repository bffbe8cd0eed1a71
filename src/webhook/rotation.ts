// Keeps the webhook's certificate fresh without a restart and without a failed request, on
// upstream's schedule (24 h lifetime, checked every 5 minutes, rotated when less than a sixth of
// the lifetime, 4 h, is left). A rotation first publishes a CA bundle that trusts both the old and
// the new CA (the CRDs are re-applied), waits for the API server to take it up, and only then
// serves the new certificate: at no moment is the served certificate untrusted.
import type { Logger } from '../cli/log.ts';
import { sleep } from '../util/sleep.ts';
import type { IssuedCertificate } from './certificates.ts';

export const DEFAULT_CERTIFICATE_LIFETIME_MS = 24 * 3_600_000;
export const DEFAULT_ROTATION_CHECK_MS = 5 * 60_000;
/**
 * The pause between publishing the new CA and serving the new certificate: long enough for the
 * API server (and a client that has just read the old bundle) to take the new bundle up, short
 * against the time left (a 24th of the lifetime, between 1 and 10 s).
 */
const MIN_PROPAGATION_DELAY_MS = 1000;
const MAX_PROPAGATION_DELAY_MS = 10_000;

export interface RotationOptions {
  lifetimeMs: number;
  checkIntervalMs: number;
  /** Issues a new CA and leaf. */
  issue: () => Promise<IssuedCertificate>;
  /** Makes the API server trust these CAs (re-applies the CRDs); undefined when nobody is told. */
  publish: ((caPems: string[]) => Promise<void>) | undefined;
  /** Starts serving a certificate. */
  serve: (c: IssuedCertificate) => void;
  log: Logger;
  now?: () => number;
}

/** When a certificate valid until `notAfterMs` is due for rotation (a sixth of the lifetime before). */
export function rotationDue(notAfterMs: number, lifetimeMs: number, nowMs: number): boolean {
  return nowMs >= notAfterMs - lifetimeMs / 6;
}

export class CertificateRotation {
  private readonly o: RotationOptions;
  private current: IssuedCertificate;
  rotations = 0;

  constructor(o: RotationOptions, first: IssuedCertificate) {
    this.o = o;
    this.current = first;
  }

  get certificate(): IssuedCertificate {
    return this.current;
  }

  /** Checks every interval until `signal` aborts; a failed rotation is retried at the next check. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.o.checkIntervalMs, signal);
      if (signal.aborted) return;
      const now = (this.o.now ?? Date.now)();
      if (!rotationDue(this.current.notAfterMs, this.o.lifetimeMs, now)) continue;
      try {
        await this.rotate(signal);
      } catch (e) {
        const left = Math.round((this.current.notAfterMs - now) / 1000);
        this.o.log.warn({ err: e instanceof Error ? e.message : String(e), expiresInSeconds: left }, 'Rotating the webhook certificate failed; retrying at the next check');
      }
    }
  }

  private async rotate(signal: AbortSignal): Promise<void> {
    const next = await this.o.issue();
    if (this.o.publish !== undefined) {
      await this.o.publish([this.current.caPem, next.caPem]);
      const delay = Math.min(MAX_PROPAGATION_DELAY_MS, Math.max(MIN_PROPAGATION_DELAY_MS, this.o.lifetimeMs / 24));
      await sleep(delay, signal);
    }
    if (signal.aborted) return;
    this.o.serve(next);
    this.current = next;
    this.rotations++;
    this.o.log.info({ notAfter: new Date(next.notAfterMs).toISOString() }, 'Rotated the webhook certificate');
  }
}
