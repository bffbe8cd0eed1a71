// status.conditions is a list keyed by `type` for server-side apply: another field manager can
// apply a condition of its own next to our Ready, and our status writes neither conflict with it
// nor erase it, nor are they triggered by it.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { LISTENERS, LISTENER_CLASSES, at } from '../../src/k8s/resources.ts';
import { controllerTest, installCrds } from '../support/operator.ts';
import { eventually, testClient } from '../support/k8s.ts';
import { createClass, createListener, waitStatus, GV } from '../support/listeners.ts';

before(async () => {
  const client = await testClient();
  await installCrds(client);
  client.close();
});

const CHECKED = 'example.com/Checked';

test('a condition applied by another field manager is kept through our status writes', async (t) => {
  const { client, ns, ctl } = await controllerTest(t);
  await createClass(t, client, `${ns}-c`, { serviceType: 'ClusterIP', preferredAddressType: 'IP' });
  await createListener(client, ns, 'web', { className: `${ns}-c`, ports: [{ name: 'http', port: 80 }] });
  await waitStatus(client, ns, 'web', 'Ready', (s) => s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true);
  await eventually('the controller is idle', () => (ctl.controller.queue.isIdle() ? true : undefined));
  const statusWrites: string[] = [];
  ctl.client.onRequest((verb, path) => { if (verb === 'apply' && path.endsWith('/status')) statusWrites.push(path); });

  // Another controller adds its own condition the server-side-apply way (no force).
  const checked = { type: CHECKED, status: 'True', reason: 'Checked', message: 'checked by another controller', lastTransitionTime: '2026-01-01T00:00:00Z' };
  await client.apply(at(LISTENERS, ns, 'web', 'status'), { apiVersion: GV, kind: 'Listener', metadata: { name: 'web', namespace: ns }, status: { conditions: [checked] } }, 'example-checker');
  const both = await waitStatus(client, ns, 'web', 'both conditions', (s) => s.conditions?.some((c) => c.type === CHECKED) === true);
  assert.deepEqual(both.conditions?.map((c) => [c.type, c.status]).sort(), [['Ready', 'True'], [CHECKED, 'True']]);
  // Its write wakes our reconcile, which has nothing to write.
  await eventually('the controller has seen the change', () => (ctl.controller.reconcilesOf(`${ns}/web`) > 1 && ctl.controller.queue.isIdle() ? true : undefined));
  assert.deepEqual(statusWrites, [], 'another manager\'s condition costs us no write');

  // Our next status write (Ready turns False: the class is gone) keeps their condition.
  await client.delete(at(LISTENER_CLASSES, undefined, `${ns}-c`));
  const after = await waitStatus(client, ns, 'web', 'Ready False', (s) => s.conditions?.some((c) => c.type === 'Ready' && c.status === 'False') === true);
  assert.ok(statusWrites.length > 0, 'we wrote the status');
  assert.deepEqual(after.conditions?.find((c) => c.type === CHECKED), checked);
});
