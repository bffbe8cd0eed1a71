import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from './config.ts';

class Exit extends Error {
  code: number;
  constructor(code: number) { super(`exit ${code}`); this.code = code; }
}
const exit = (code: number): never => { throw new Exit(code); };
const quiet = async <T>(fn: () => T): Promise<T> => {
  const w = process.stderr.write.bind(process.stderr);
  const o = process.stdout.write.bind(process.stdout);
  process.stderr.write = () => true;
  process.stdout.write = () => true;
  try { return await Promise.resolve(fn()); } finally { process.stderr.write = w; process.stdout.write = o; }
};

test('flags and their environment variables', () => {
  const env = { CSI_ENDPOINT: 'unix:///csi/csi.sock', LISTENER_CLASS_PRESET: 'stable-nodes', KUBERNETES_CLUSTER_DOMAIN: 'corp.local', CONSOLE_LOG_FORMAT: 'json' };
  const cfg = parseArgs(['run', 'controller'], env, exit);
  assert.equal(cfg.mode, 'controller');
  if (cfg.mode !== 'controller') return;
  assert.equal(cfg.csiEndpoint, '/csi/csi.sock');
  assert.equal(cfg.preset, 'stable-nodes');
  assert.equal(cfg.clusterDomain, 'corp.local');
  assert.equal(cfg.logFormat, 'json');
  assert.equal(cfg.logLevel, 'info');
  const flagWins = parseArgs(['run', 'controller', '--listener-class-preset', 'none', '--csi-endpoint', '/x.sock'], env, exit);
  assert.equal(flagWins.mode === 'controller' && flagWins.preset, 'none');
  assert.equal(flagWins.mode === 'controller' && flagWins.csiEndpoint, '/x.sock');
});

test('defaults: ephemeral-nodes preset, cluster.local', () => {
  const cfg = parseArgs(['run', 'controller', '--csi-endpoint=/s'], {}, exit);
  assert.ok(cfg.mode === 'controller');
  assert.equal(cfg.preset, 'ephemeral-nodes');
  assert.equal(cfg.clusterDomain, 'cluster.local');
});

test('node needs its node name', async () => {
  await assert.rejects(quiet(() => parseArgs(['run', 'node', '--csi-endpoint=/s'], {}, exit)), (e: unknown) => e instanceof Exit && e.code !== 0);
  const cfg = parseArgs(['run', 'node'], { CSI_ENDPOINT: '/s', KUBERNETES_NODE_NAME: 'n1' }, exit);
  assert.ok(cfg.mode === 'node' && cfg.nodeName === 'n1');
});

test('missing required value, bad choice and unknown flag exit non-zero', async () => {
  for (const argv of [['run', 'controller'], ['run', 'controller', '--csi-endpoint=/s', '--listener-class-preset=bogus'], ['run', 'controller', '--csi-endpoint=/s', '--nope'], ['run', 'controller', '--csi-endpoint=/s', '--concurrency=0'], ['frobnicate']]) {
    await assert.rejects(quiet(() => parseArgs(argv, {}, exit)), (e: unknown) => e instanceof Exit && e.code !== 0, argv.join(' '));
  }
});

test('crd needs nothing', () => {
  assert.deepEqual(parseArgs(['crd'], {}, exit), { mode: 'crd' });
});

test('--leader-elect: bare flag, flag value and environment', () => {
  const le = (argv: string[], env: Record<string, string> = {}): boolean => {
    const c = parseArgs(['run', 'controller', '--csi-endpoint=/s', ...argv], env, exit);
    return c.mode === 'controller' && c.leaderElect;
  };
  assert.equal(le([]), false);
  assert.equal(le(['--leader-elect']), true);
  assert.equal(le(['--leader-elect=false']), false);
  assert.equal(le([], { LEADER_ELECT: 'true' }), true);
  assert.equal(le([], { LEADER_ELECT: 'false' }), false);
});
