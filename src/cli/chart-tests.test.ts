import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listenerVolume } from './chart-tests.ts';

test('listener-volume: reads the default address and its ports; an unpublished or empty volume fails, naming what is missing', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'chart-tests-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(listenerVolume(dir), new RegExp(`${dir}/default-address is missing: the volume was not published`));
  const addr = path.join(dir, 'addresses', 'web.ns.svc.cluster.local');
  await mkdir(path.join(addr, 'ports'), { recursive: true });
  await writeFile(path.join(addr, 'address'), 'web.ns.svc.cluster.local');
  await symlink('addresses/web.ns.svc.cluster.local', path.join(dir, 'default-address'));
  await assert.rejects(listenerVolume(dir), /no address or no ports/);
  await writeFile(path.join(addr, 'ports', 'http'), '8080');
  assert.deepEqual(await listenerVolume(dir), [
    `${dir}/default-address -> addresses/web.ns.svc.cluster.local`, 'address: web.ns.svc.cluster.local', 'port http: 8080',
  ]);
});
