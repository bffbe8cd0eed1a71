// Faults of the control plane and of the controller, each under create load: N Listeners created
// by 8 clients that retry through the fault, the fault injected once a third are created; then
// every Listener must converge, with no Service lost, duplicated or orphaned.
import { compactEtcd } from '../../test/support/etcd.ts';
import { createListeners, createPinnedPvs, waitConverged, zeroLoss, type LoadResult } from '../lib/listeners.ts';
import { metric, type ControllerProcess, type World } from '../lib/world.ts';
import type { Fault, FaultOptions, FaultResult } from './types.ts';

const LOAD_CONCURRENCY = 8;
const LOAD_DEADLINE_MS = 240_000;

/** Creates `n` Listeners; runs `fault` once `at` of them exist; resolves when both are done. */
async function loadWith(world: World, o: FaultOptions, ns: string, fault: () => Promise<void>): Promise<{ load: LoadResult; faultEnded: number }> {
  const n = o.listeners;
  const at = Math.floor(n / 3);
  let faultRun: Promise<number> | undefined;
  const startFault = (): void => { faultRun ??= fault().then(() => Date.now()); };
  const load = await createListeners(world.admin, ns, 0, n, {
    concurrency: LOAD_CONCURRENCY, deadline: Date.now() + LOAD_DEADLINE_MS, spreadMs: o.spreadMs, onCreated: (c) => { if (c >= at) startFault(); },
  });
  startFault();
  return { load, faultEnded: await (faultRun ?? Promise.resolve(Date.now())) };
}

async function settle(world: World, ns: string, o: FaultOptions, since: number, r: Omit<FaultResult, 'health' | 'convergeMs' | 'expected'>): Promise<FaultResult> {
  const c = await waitConverged(world.admin, ns, o.listeners, o.convergeTimeoutMs);
  const problem = zeroLoss(c.health, o.listeners);
  return { ...r, expected: o.listeners, health: c.health, convergeMs: Date.now() - since, problems: [...r.problems, ...(problem === undefined ? [] : [problem])] };
}

async function controllerFor(world: World, ns: string, extra: Parameters<World['controller']>[1] = {}): Promise<ControllerProcess> {
  const ctl = await world.controller(ns, extra);
  await ctl.waitLog(/Caches synced/, 'the controller running', 60_000);
  return ctl;
}

function stillRunning(ctl: ControllerProcess, what: string): string[] {
  return ctl.running() ? [] : [`${what} exited during the fault`];
}

export const apiServerRestart: Fault = async (world, o) => {
  const ns = await world.namespace('apiserver');
  await createPinnedPvs(world.admin, ns, o.listeners);
  const ctl = await controllerFor(world, ns);
  const { load, faultEnded } = await loadWith(world, o, ns, () => world.cluster.restartApiServer(3000));
  const r = await settle(world, ns, o, faultEnded, {
    fault: 'kube-apiserver restart', what: `kube-apiserver stopped for 3 s and restarted while ${LOAD_CONCURRENCY} clients created ${o.listeners} Listeners`,
    figures: { 'create retries': load.retries }, problems: stillRunning(ctl, 'the controller'),
  });
  await ctl.stop();
  return r;
};

export const etcdRestart: Fault = async (world, o) => {
  const ns = await world.namespace('etcd');
  await createPinnedPvs(world.admin, ns, o.listeners);
  const ctl = await controllerFor(world, ns);
  const { load, faultEnded } = await loadWith(world, o, ns, () => world.cluster.restartEtcd(3000));
  const r = await settle(world, ns, o, faultEnded, {
    fault: 'etcd restart', what: `etcd stopped for 3 s and restarted under the same load`,
    figures: { 'create retries': load.retries }, problems: stillRunning(ctl, 'the controller'),
  });
  await ctl.stop();
  return r;
};

export const watchExpiry: Fault = async (world, o) => {
  const ns = await world.namespace('expiry');
  await createPinnedPvs(world.admin, ns, o.listeners);
  const ctl = await controllerFor(world, ns);
  const half = Math.floor(o.listeners / 2);
  await createListeners(world.admin, ns, 0, half, { concurrency: LOAD_CONCURRENCY, deadline: Date.now() + LOAD_DEADLINE_MS });
  await waitConverged(world.admin, ns, half, o.convergeTimeoutMs);
  const listsBefore = await metric(ctl.http, 'listener_operator_api_requests_total', { verb: 'list' }) ?? 0;
  // Forget etcd's history, then drop every watch: each resumes from a resourceVersion that is gone.
  const revision = await compactEtcd(world.cluster.etcdUrl);
  await world.cluster.restartApiServer(500);
  const faultEnded = Date.now();
  const load = await createListeners(world.admin, ns, half, o.listeners, { concurrency: LOAD_CONCURRENCY, deadline: Date.now() + LOAD_DEADLINE_MS });
  const r = await settle(world, ns, o, faultEnded, {
    fault: 'watch expiry (410)', what: `etcd compacted to revision ${revision} and the API server restarted: every watch resumes from a compacted resourceVersion, then ${o.listeners - half} more Listeners`,
    figures: { 'create retries': load.retries }, problems: stillRunning(ctl, 'the controller'),
  });
  const relists = (await metric(ctl.http, 'listener_operator_api_requests_total', { verb: 'list' }) ?? 0) - listsBefore;
  r.figures['LISTs after the compaction'] = relists;
  if (relists < 1) r.problems.push('no re-LIST after the compaction: the 410 path was not taken');
  await ctl.stop();
  return r;
};

export const controllerKills: Fault = async (world, o) => {
  const ns = await world.namespace('sigkill');
  await createPinnedPvs(world.admin, ns, o.listeners);
  let ctl = await controllerFor(world, ns);
  const kills = 5;
  let killed = 0;
  let lastStart = Date.now();
  let loadDone = false;
  let killsDuringLoad = 0;
  // Kills spread over the load: each 0 to 0.8 s after the controller synced its caches (while it
  // works through what arrived meanwhile), each followed by a fresh controller.
  const killer = (async (): Promise<void> => {
    for (let k = 0; k < kills; k++) {
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 800)));
      await ctl.kill('SIGKILL');
      killed++;
      if (!loadDone) killsDuringLoad++;
      ctl = await controllerFor(world, ns);
      lastStart = Date.now();
    }
  })();
  const load = await createListeners(world.admin, ns, 0, o.listeners, { concurrency: 2, deadline: Date.now() + LOAD_DEADLINE_MS, spreadMs: o.spreadMs });
  loadDone = true;
  await killer;
  const r = await settle(world, ns, o, lastStart, {
    fault: 'controller SIGKILL', what: `the controller SIGKILLed ${kills} times at random points (0 to 0.8 s after it synced, then restarted at once) while 2 clients created ${o.listeners} Listeners over about ${o.spreadMs / 1000} s`,
    figures: { kills: killed, 'kills while Listeners were being created': killsDuringLoad, 'create retries': load.retries }, problems: [],
  });
  await ctl.stop();
  return r;
};

export const leaderFailover: Fault = async (world, o) => {
  const ns = await world.namespace('failover');
  await createPinnedPvs(world.admin, ns, o.listeners);
  const env = { LEADER_ELECT: 'true', OPERATOR_NAMESPACE: ns };
  const a = await world.controller(ns, { env });
  await a.waitLog(/Became leader/, 'the first replica leading', 60_000);
  await a.waitLog(/Caches synced/, 'the leader reconciling', 60_000);
  const b = await world.controller(ns, { env });
  await b.waitLog(/Waiting to become the leader/, 'the standby waiting', 60_000);
  let killedAt = 0;
  const { load } = await loadWith(world, o, ns, async () => {
    await a.kill('SIGKILL');
    killedAt = Date.now();
  });
  await b.waitLog(/Became leader/, 'the standby taking over', 60_000);
  const takeover = Date.now() - killedAt;
  const r = await settle(world, ns, o, killedAt, {
    fault: 'leader failover', what: `two replicas with --leader-elect; the leader SIGKILLed under the load of ${o.listeners} Listeners (Lease 15 s)`,
    figures: { 'takeover after the kill (ms, at most)': takeover, 'create retries': load.retries }, problems: [],
  });
  await b.stop();
  return r;
};

