// The fault-injection run's faults that fit in seconds (`npm run chaos` runs them all, larger), on
// a control plane of this file's own (they restart its API server): each must end with every
// Listener converged, no Service lost, duplicated or orphaned, and every volume consistent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiServerRestart, controllerKills } from '../../chaos/faults/controller.ts';
import { concurrentPublishes, fullFilesystem, nodePluginKill } from '../../chaos/faults/node.ts';
import type { Fault, FaultOptions } from '../../chaos/faults/types.ts';
import { startWorld, type World } from '../../chaos/lib/world.ts';

const OPTIONS: FaultOptions = { listeners: 40, volumes: 8, convergeTimeoutMs: 120_000, spreadMs: 4000 };

test('faults end with zero loss', { timeout: 600_000 }, async (t) => {
  const world: World = await startWorld(() => undefined);
  t.after(() => world.stop());
  const faults: [string, Fault][] = [
    ['the controller SIGKILLed at random points, repeatedly', controllerKills],
    ['kube-apiserver restarted under create load', apiServerRestart],
    ['the node plugin SIGKILLed mid-publish', nodePluginKill],
    ['concurrent publishes of one target', concurrentPublishes],
    ['a target on a full filesystem', fullFilesystem],
  ];
  for (const [name, fault] of faults) {
    await t.test(name, async (st) => {
      const r = await fault(world, OPTIONS);
      assert.deepEqual(r.problems, [], `${r.fault}: ${r.problems.join('; ')}`);
      if (r.health !== undefined) {
        assert.deepEqual(r.health, { listeners: OPTIONS.listeners, converged: OPTIONS.listeners, lost: 0, duplicated: 0, orphaned: 0 });
      }
      if (r.volumes !== undefined) assert.equal(r.volumes.consistent, r.volumes.total);
      st.diagnostic(`${r.fault}: ${JSON.stringify(r.health ?? r.volumes)}; ${Object.entries(r.figures).map(([k, v]) => `${k}: ${String(v)}`).join('; ')}${r.convergeMs === undefined ? '' : `; converged ${r.convergeMs} ms after the fault`}`);
    });
  }
});
