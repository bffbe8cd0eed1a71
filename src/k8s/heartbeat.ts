// A heartbeat to the API server: a watch whose connection a network stall has killed can stay
// silent without an error for minutes (HTTP/1.1 has no ping), and a controller with nothing to do
// asks nothing else. So every interval it asks for /version (any authenticated client may): if
// that fails to reach the API server, the client notes it, and the next answered request restarts
// the watches from where they were (KubeClient.onReconnected → Informer.reconnect). Cost: one
// small GET per interval.
import type { KubeClient } from './client.ts';
import { sleep } from '../util/sleep.ts';

export interface HeartbeatOptions {
  intervalMs: number;
  timeoutMs: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 10_000, timeoutMs: 5000 };

/** Runs until `signal` aborts; never throws (a failed beat is what it is there to notice). */
export async function runHeartbeat(client: KubeClient, o: HeartbeatOptions, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await sleep(o.intervalMs, signal);
    if (signal.aborted) return;
    await client.request<unknown>('get', 'GET', '/version', { timeoutMs: o.timeoutMs, signal }).catch(() => undefined);
  }
}
