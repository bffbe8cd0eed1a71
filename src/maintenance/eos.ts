// The end-of-support check, as upstream's (operator-rs `eos`): a build is supported for 365 days
// from its build time; past that, a warning is logged at start and then every EOS_INTERVAL
// (default 1 day), until the operator is upgraded. Nothing else changes: it keeps working.
import type { Logger } from '../cli/log.ts';
import { formatDuration } from '../cli/duration.ts';
import { sleep } from '../util/sleep.ts';

export const SUPPORT_DURATION_MS = 365 * 86_400_000;

/** The warning due at `nowMs` for a build made at `builtAtMs`, or undefined while supported. */
export function endOfSupportWarning(builtAtMs: number, nowMs: number): string | undefined {
  if (nowMs <= builtAtMs + SUPPORT_DURATION_MS) return undefined;
  const age = formatDuration(Math.floor((nowMs - builtAtMs) / 1000) * 1000);
  return `This operator version was built on ${new Date(builtAtMs).toUTCString()} (${age} ago) and may have reached end-of-support. Running unsupported versions may contain security vulnerabilities. Please upgrade to a supported version as soon as possible.`;
}

export interface EosOptions {
  builtAtMs: number;
  intervalMs: number;
  log: Logger;
  now?: () => number;
}

/** Checks at once, then every interval, until `signal` aborts. */
export async function runEndOfSupportCheck(o: EosOptions, signal: AbortSignal): Promise<void> {
  const now = o.now ?? Date.now;
  o.log.info({ builtAt: new Date(o.builtAtMs).toISOString(), supportedUntil: new Date(o.builtAtMs + SUPPORT_DURATION_MS).toISOString(), interval: formatDuration(o.intervalMs) }, 'End-of-support check running');
  while (!signal.aborted) {
    const warning = endOfSupportWarning(o.builtAtMs, now());
    if (warning !== undefined) o.log.warn({ builtAt: new Date(o.builtAtMs).toISOString() }, warning);
    await sleep(o.intervalMs, signal);
  }
}
