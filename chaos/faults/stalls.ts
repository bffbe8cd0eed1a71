// Network stalls between a controller and the API server: a proxy of its own in front of the API
// server stops forwarding (requests are held, then dropped; open streams freeze), as a partition
// or a hung API server looks to a client.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startStallProxy, type StallProxy } from '../../test/support/stall-proxy.ts';
import { createListeners, createPinnedPvs, waitConverged, zeroLoss } from '../lib/listeners.ts';
import type { World } from '../lib/world.ts';
import type { Fault } from './types.ts';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function proxy(world: World): Promise<StallProxy> {
  return startStallProxy(world.cluster.dir, await mkdtemp(path.join(tmpdir(), 'chaos-proxy-')));
}

/** Forwarded (not held) writes, with when they passed the proxy. */
function forwardedWrites(p: StallProxy): number[] {
  return p.requests.filter((q) => !q.held && WRITES.has(q.method)).map((q) => q.at);
}

export const apiStall: Fault = async (world, o) => {
  const ns = await world.namespace('stall');
  await createPinnedPvs(world.admin, ns, o.listeners);
  const p = await proxy(world);
  const ctl = await world.controller(ns, { kubeconfig: p.kubeconfig });
  await ctl.waitLog(/Caches synced/, 'the controller running', 60_000);
  const half = Math.floor(o.listeners / 2);
  await createListeners(world.admin, ns, 0, half, { concurrency: 8, deadline: Date.now() + 120_000 });
  await waitConverged(world.admin, ns, half, o.convergeTimeoutMs);
  const stallMs = 10_000;
  p.stall();
  // The rest arrives while the controller cannot see or write anything.
  await createListeners(world.admin, ns, half, o.listeners, { concurrency: 8, deadline: Date.now() + 120_000 });
  await new Promise((r) => setTimeout(r, stallMs));
  p.resume();
  const resumed = Date.now();
  const c = await waitConverged(world.admin, ns, o.listeners, o.convergeTimeoutMs);
  const problem = zeroLoss(c.health, o.listeners);
  const running = ctl.running();
  await ctl.stop();
  await p.close();
  return {
    fault: 'network stall to the API server', what: `the controller's proxy stopped forwarding for ${stallMs / 1000} s (held requests dropped, open watches frozen) while ${o.listeners - half} Listeners were created`,
    expected: o.listeners, health: c.health, convergeMs: Date.now() - resumed,
    figures: { 'requests held during the stall': p.requests.filter((q) => q.held).length },
    problems: [...(problem === undefined ? [] : [problem]), ...(running ? [] : ['the controller exited'])],
  };
};

/**
 * Two replicas, each behind a proxy of its own that records every request: the leader's stalls
 * under load. It must stop writing before the standby starts: every write that reached the API
 * server from the old leader came before the new leader's first.
 */
export const leaderStall: Fault = async (world, o) => {
  const ns = await world.namespace('stalled-leader');
  await createPinnedPvs(world.admin, ns, o.listeners);
  const env = { LEADER_ELECT: 'true', OPERATOR_NAMESPACE: ns };
  const pa = await proxy(world);
  const pb = await proxy(world);
  const a = await world.controller(ns, { kubeconfig: pa.kubeconfig, env });
  await a.waitLog(/Caches synced/, 'the first replica leading', 60_000);
  const b = await world.controller(ns, { kubeconfig: pb.kubeconfig, env });
  await b.waitLog(/Waiting to become the leader/, 'the standby waiting', 60_000);
  // The leader serves a first third, then its proxy stalls while the rest is created.
  const third = Math.floor(o.listeners / 3);
  await createListeners(world.admin, ns, 0, third, { concurrency: 8, deadline: Date.now() + 120_000 });
  await waitConverged(world.admin, ns, third, o.convergeTimeoutMs);
  pa.stall();
  const stalledAt = Date.now();
  const load = createListeners(world.admin, ns, third, o.listeners, { concurrency: 8, deadline: Date.now() + 240_000 });
  await b.waitLog(/Became leader/, 'the standby taking over', 90_000);
  const exitA = await Promise.race([a.exited, new Promise<'running'>((r) => setTimeout(() => { r('running'); }, 15_000))]);
  // Let the old leader's traffic through again: had it kept acting, its writes would arrive now.
  pa.resume();
  await load;
  const c = await waitConverged(world.admin, ns, o.listeners, o.convergeTimeoutMs);
  await new Promise((r) => setTimeout(r, 2000));
  const aWrites = forwardedWrites(pa);
  const bWrites = forwardedWrites(pb);
  const lastA = Math.max(...aWrites);
  const firstB = Math.min(...bWrites);
  const problems: string[] = [];
  if (!(lastA < firstB)) problems.push(`two writers: the old leader's last write at +${lastA - stalledAt} ms, the new leader's first at +${firstB - stalledAt} ms`);
  if (exitA === 'running') problems.push('the stalled leader did not exit');
  const problem = zeroLoss(c.health, o.listeners);
  if (problem !== undefined) problems.push(problem);
  await Promise.all([a.stop(), b.stop()]);
  await Promise.all([pa.close(), pb.close()]);
  return {
    fault: 'stalled leader', what: 'two replicas, each behind a recording proxy; the leader\'s proxy stalls under load, and forwards again once the standby leads',
    expected: o.listeners, health: c.health, convergeMs: Date.now() - stalledAt,
    figures: {
      'old leader: writes that reached the API server': aWrites.length, 'old leader: last write (ms after the stall)': lastA - stalledAt,
      'new leader: writes': bWrites.length, 'new leader: first write (ms after the stall)': firstB - stalledAt,
      'old leader exit code': String(exitA),
    },
    problems,
  };
};

