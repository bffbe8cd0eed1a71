// Never two leaders: when the leader's API traffic stalls (a proxy in front of the real API server
// stops forwarding), the leader notices its renew deadline passing while its renew request hangs
// and stops leading before the standby can acquire the Lease (leaseDuration > renewDeadline).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeClient } from '../../src/k8s/client.ts';
import { LeaderElector } from '../../src/k8s/leader.ts';
import { tempDir } from '../support/csi.ts';
import { freshNamespace, settlesWithin, testClient } from '../support/k8s.ts';
import { sharedStallProxy } from '../support/stall-proxy.ts';

const TIMING = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 250 };

test('a stalled leader stops leading before the standby acquires the Lease', async (t) => {
  const client = await testClient();
  t.after(() => { client.close(); });
  const ns = await freshNamespace(t, client);
  const proxy = await sharedStallProxy(t, await tempDir(t, 'lo-stall-'));
  const leaderClient = await KubeClient.fromKubeconfig(proxy.kubeconfig);
  const standbyClient = await testClient();
  t.after(() => { leaderClient.close(); standbyClient.close(); });

  const times: Record<string, number> = {};
  const leader = new LeaderElector({
    client: leaderClient, namespace: ns, name: 'lease', identity: 'leader', ...TIMING,
    onStoppedLeading: (reason) => { times[`leader stopped (${reason})`] = Date.now(); },
  });
  const standby = new LeaderElector({ client: standbyClient, namespace: ns, name: 'lease', identity: 'standby', ...TIMING });
  t.after(async () => {
    proxy.resume();
    await Promise.all([leader.release(), standby.release()]);
  });

  assert.equal(await leader.acquire(), true);
  const holding = leader.hold();
  const standbyWon = standby.acquire().then((won) => {
    times['standby acquired'] = Date.now();
    // The moment the standby leads, the old leader must already have stopped.
    times['leader still leading when the standby acquired'] = leader.isLeader() ? 1 : 0;
    return won;
  });
  proxy.stall();
  times.stalled = Date.now();
  assert.equal(await settlesWithin(standbyWon, 20_000, 'the standby\'s acquire'), true);
  const since = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, k.startsWith('leader still') ? v : v - (times.stalled ?? 0)]));
  t.diagnostic(`ms after the stall: ${JSON.stringify(since)}`);
  assert.equal(times['leader still leading when the standby acquired'], 0, `two leaders at once: ${JSON.stringify(since)}`);
  assert.equal(await settlesWithin(holding, 1000, 'the leader\'s hold()'), 'lost');
  const stoppedAt = times['leader stopped (lost)'];
  assert.ok(stoppedAt !== undefined && stoppedAt < (times['standby acquired'] ?? 0), `the leader reported the loss first: ${JSON.stringify(since)}`);
  assert.ok(stoppedAt - (times.stalled ?? 0) <= TIMING.renewDeadlineMs + 500, `the loss was noticed by the renew deadline: ${JSON.stringify(since)}`);
});
