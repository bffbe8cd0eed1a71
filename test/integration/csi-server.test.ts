// The CSI server itself, through its real Unix socket: socket mode and lifecycle, Identity, the
// funnel (UNIMPLEMENTED, typed errors, INTERNAL for the unexpected), and the CLI wiring
// (`run node` / `run controller` serve the socket, /readyz, SIGTERM removes the socket).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { lstat, readFile, watch, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { identityService } from '../../src/csi/identity.ts';
import { err } from '../../src/csi/result.ts';
import { startCsiServer } from '../../src/csi/server.ts';
import { PROTO_DIR } from '../../src/csi/proto/load.ts';
import { VERSION } from '../../src/version.ts';
import { CsiClient, expectCode, startCsi, tempDir } from '../support/csi.ts';
import { eventually, testClient } from '../support/k8s.ts';
import { installCrds } from '../support/operator.ts';
import { SHARED_PLANE_ENV } from '../support/operator-process.ts';

const quiet = pino({ level: 'silent' });
const execFileAsync = promisify(execFile);
const MAIN = path.join(import.meta.dirname, '..', '..', 'src', 'main.ts');

async function modeOf(p: string): Promise<number> {
  return (await lstat(p)).mode & 0o777;
}

test('the socket is 0600 from the moment it appears, a stale socket is replaced, close removes it', async (t) => {
  const dir = await tempDir(t);
  const endpoint = path.join(dir, 'csi.sock');
  // A stale socket from a previous run: a process that listened there and was killed.
  spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(endpoint)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  assert.ok((await lstat(endpoint)).isSocket(), 'the stale socket is there');

  // Watch the directory while the server starts: whenever the endpoint exists, it must be 0600,
  // and the private bind directory must be 0700.
  const seen: string[] = [];
  const abort = new AbortController();
  t.after(() => { abort.abort(); });
  const watcher = watch(dir, { signal: abort.signal });
  const watching = (async (): Promise<void> => {
    try {
      for await (const ev of watcher) {
        const name = ev.filename ?? '';
        const st = await lstat(path.join(dir, name)).catch(() => undefined);
        if (st !== undefined) seen.push(`${name.startsWith('.csi-') ? '.csi-*' : name}:${(st.mode & 0o777).toString(8)}`);
      }
    } catch (e) {
      if (!abort.signal.aborted) throw e;
    }
  })();

  const server = await startCsiServer({ endpoint, log: quiet, services: { identity: identityService() } });
  t.after(() => server.close());
  assert.equal(await modeOf(endpoint), 0o600, 'mode right after start');
  assert.ok((await lstat(endpoint)).isSocket());
  const csi = new CsiClient(endpoint);
  t.after(() => { csi.close(); });
  const info = await csi.call('Identity', 'GetPluginInfo', {});
  assert.equal(info.name, 'listeners.stackable.tech', 'the stale socket was replaced by a live one');
  // The watcher has seen the endpoint appear (so the checks below are not vacuous).
  await eventually('the directory watch saw the socket', () => (seen.some((s) => s.startsWith('csi.sock:')) ? true : undefined), 5000);
  abort.abort();
  await watching;
  t.diagnostic(`observed while starting: ${seen.join(', ') || '(no events)'}`);
  for (const s of seen) {
    if (s.startsWith('csi.sock:')) assert.equal(s, 'csi.sock:600', `the endpoint was seen as ${s}`);
    if (s.startsWith('.csi-*:')) assert.equal(s, '.csi-*:700', `the bind directory was seen as ${s}`);
  }

  await server.close();
  assert.equal(await lstat(endpoint).catch(() => undefined), undefined, 'the socket is removed on close');
});

test('something other than a socket at the endpoint is refused, not deleted', async (t) => {
  const dir = await tempDir(t);
  const endpoint = path.join(dir, 'csi.sock');
  await writeFile(endpoint, 'precious');
  await assert.rejects(startCsiServer({ endpoint, log: quiet, services: { identity: identityService() } }), (e: Error) => {
    assert.match(`${e.message}: ${String((e.cause as Error | undefined)?.message)}`, /not a socket/);
    return true;
  });
  assert.ok((await lstat(endpoint)).isFile());
});

test('close does not remove a socket that a successor has put in its place', async (t) => {
  const dir = await tempDir(t);
  const endpoint = path.join(dir, 'csi.sock');
  const first = await startCsiServer({ endpoint, log: quiet, services: { identity: identityService() } });
  t.after(() => first.close());
  const second = await startCsiServer({ endpoint, log: quiet, services: { identity: identityService() } });
  t.after(() => second.close());
  await first.close();
  assert.ok((await lstat(endpoint)).isSocket(), 'the successor\'s socket stays');
  const csi = new CsiClient(endpoint);
  t.after(() => { csi.close(); });
  assert.deepEqual(await csi.call('Identity', 'Probe', {}), { ready: { value: true } });
});

test('Identity: name, version, capabilities, Probe; on both plugins', async (t) => {
  const controller = await startCsi(t, { controller: true });
  const node = await startCsi(t, { nodeName: 'n1' });
  for (const { csi } of [controller, node]) {
    const info = await csi.call('Identity', 'GetPluginInfo', {});
    assert.equal(info.name, 'listeners.stackable.tech');
    assert.equal(info.vendor_version, VERSION);
    const caps = await csi.call('Identity', 'GetPluginCapabilities', {});
    assert.deepEqual(caps.capabilities.map((c) => c.service?.type), ['CONTROLLER_SERVICE', 'VOLUME_ACCESSIBILITY_CONSTRAINTS']);
    assert.equal((await csi.call('Identity', 'Probe', {})).ready?.value, true);
  }
});

test('what the driver does not support answers UNIMPLEMENTED', async (t) => {
  const controller = await startCsi(t, { controller: true });
  const node = await startCsi(t, { nodeName: 'n1' });
  await expectCode(controller.csi.call('Controller', 'ListVolumes', {}), status.UNIMPLEMENTED, /ListVolumes/);
  await expectCode(controller.csi.call('Controller', 'ControllerPublishVolume', {}), status.UNIMPLEMENTED);
  await expectCode(controller.csi.call('Controller', 'CreateSnapshot', {}), status.UNIMPLEMENTED);
  await expectCode(controller.csi.call('Controller', 'GetCapacity', {}), status.UNIMPLEMENTED);
  await expectCode(node.csi.call('Node', 'NodeStageVolume', {}), status.UNIMPLEMENTED, /NodeStageVolume/);
  await expectCode(node.csi.call('Node', 'NodeGetVolumeStats', {}), status.UNIMPLEMENTED);
  await expectCode(node.csi.call('Node', 'NodeExpandVolume', {}), status.UNIMPLEMENTED);
  // A service a plugin does not serve at all.
  await expectCode(node.csi.call('Controller', 'CreateVolume', {}), status.UNIMPLEMENTED);
  await expectCode(controller.csi.call('Node', 'NodePublishVolume', {}), status.UNIMPLEMENTED);
});

test('the funnel: a typed error becomes its code and message, a throw becomes INTERNAL with the cause chain', async (t) => {
  const dir = await tempDir(t);
  const endpoint = path.join(dir, 'csi.sock');
  const server = await startCsiServer({
    endpoint,
    log: quiet,
    services: {
      identity: {
        GetPluginInfo: () => err({ kind: 'VolumeNotFound', volumeId: 'v-1' }),
        Probe: () => { throw new Error('outer', { cause: new Error('root cause') }); },
        GetPluginCapabilities: () => Promise.reject(new TypeError('async boom')),
      },
    },
  });
  t.after(() => server.close());
  const csi = new CsiClient(endpoint);
  t.after(() => { csi.close(); });
  await expectCode(csi.call('Identity', 'GetPluginInfo', {}), status.NOT_FOUND, /volume "v-1" does not exist/);
  await expectCode(csi.call('Identity', 'Probe', {}), status.INTERNAL, /outer: root cause/);
  await expectCode(csi.call('Identity', 'GetPluginCapabilities', {}), status.INTERNAL, /async boom/);
});

for (const mode of ['node', 'controller'] as const) {
  test(`run ${mode}: serves the socket (0600), /readyz turns 200, SIGTERM removes the socket and exits 0`, async (t) => {
    if (mode === 'controller') {
      const client = await testClient();
      await installCrds(client);
      client.close();
    }
    const dir = await tempDir(t);
    const endpoint = path.join(dir, 'csi.sock');
    const args = mode === 'node' ? ['run', 'node', '--node-name=n1'] : ['run', 'controller', '--listener-class-preset=none', '--watch-namespace=csi-server-test-none'];
    const child = spawn(process.execPath, [MAIN, ...args, '--http-address=127.0.0.1:0', '--console-log-format=json'], {
      env: { PATH: process.env.PATH ?? '', KUBECONFIG: process.env.KUBECONFIG ?? '', CSI_ENDPOINT: `unix://${endpoint}`, ...SHARED_PLANE_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => { r(code); }));
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    await eventually('CSI server listening', () => (log.includes('CSI server listening') ? true : undefined), 30_000);
    assert.equal(await modeOf(endpoint), 0o600);
    const port = await eventually('http port', () => {
      const m = /"port":(\d+)[^\n]*"target":"listener_operator::http"/.exec(log);
      return m?.[1] === undefined ? undefined : Number(m[1]);
    });
    await eventually('/readyz 200', async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), 30_000);
    const csi = new CsiClient(endpoint);
    assert.equal((await csi.call('Identity', 'GetPluginInfo', {})).name, 'listeners.stackable.tech');
    csi.close();
    child.kill('SIGTERM');
    assert.equal(await exited, 0, log);
    assert.equal(await lstat(endpoint).catch(() => undefined), undefined, 'socket removed on SIGTERM');
    // Nobody can connect any more.
    await assert.rejects(new Promise((resolve, reject) => {
      const c = createConnection(endpoint, () => { c.end(); resolve(undefined); });
      c.on('error', reject);
    }));
  });
}

test('gRPC server reflection: grpcurl lists and describes the services without the .proto file', async (t) => {
  const bin = process.env.LISTENER_OPERATOR_BIN;
  assert.ok(bin !== undefined && bin !== '', 'LISTENER_OPERATOR_BIN is not set: run through scripts/test.sh, which builds grpcurl');
  const dir = await tempDir(t);
  const endpoint = path.join(dir, 'csi.sock');
  const server = await startCsiServer({ endpoint, log: quiet, services: { identity: identityService(), node: {} } });
  t.after(() => server.close());
  // Asynchronously: the server answers from this very process.
  const grpcurl = async (...args: string[]): Promise<string> => {
    const r = await execFileAsync(path.join(bin, 'grpcurl'), ['-plaintext', '-max-time', '10', '-unix', endpoint, ...args], { encoding: 'utf8', timeout: 20_000 });
    return r.stdout;
  };
  const services = (await grpcurl('list')).trim().split('\n').sort();
  for (const s of ['csi.v1.Controller', 'csi.v1.GroupController', 'csi.v1.Identity', 'csi.v1.Node', 'csi.v1.SnapshotMetadata']) {
    assert.ok(services.includes(s), `${s} in ${services.join(', ')}`);
  }
  assert.match(await grpcurl('describe', 'csi.v1.Node'), /rpc NodePublishVolume \( \.csi\.v1\.NodePublishVolumeRequest \) returns \( \.csi\.v1\.NodePublishVolumeResponse \)/);
  // The described types are real: a call through reflection alone works.
  assert.match(await grpcurl('csi.v1.Identity/GetPluginInfo'), /"name": "listeners.stackable.tech"/);
  t.diagnostic(`grpcurl -unix <socket> list: ${services.join(', ')}`);
  // The descriptors it serves are csi.proto's as it is now (`npm run gen:proto` after an edit).
  const fresh = path.join(dir, 'fresh.protoset');
  await execFileAsync(path.join(bin, 'grpcurl'), ['-import-path', PROTO_DIR, '-proto', 'csi.proto', '-protoset-out', fresh, 'describe', 'csi.v1.Node'], { timeout: 20_000 });
  assert.ok((await readFile(fresh)).equals(await readFile(path.join(PROTO_DIR, 'csi.protoset'))), 'proto/csi.protoset is out of date: run npm run gen:proto');
});
