import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PROTO_LOADER_OPTIONS, loadCsiPackageDefinition, loadCsiProto } from './load.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GENERATED_DIR = fileURLToPath(new URL('./generated/', import.meta.url));

async function genScript(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const script = pkg.scripts['gen:proto'];
  assert.ok(script, 'package.json has a gen:proto script');
  // Its first command generates the types; the second compiles the descriptor set for reflection
  // (checked by test/integration/csi-server.test.ts, which has grpcurl).
  return (script.split('&&')[0] ?? '').trim().split(/\s+/);
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

test('committed generated code equals a fresh `npm run gen:proto` (no drift)', async () => {
  const argv = await genScript();
  assert.equal(argv[0], 'proto-loader-gen-types');
  const outFlag = argv.indexOf('-O');
  assert.ok(outFlag > 0 && argv[outFlag + 1] === 'src/csi/proto/generated', 'gen:proto writes to src/csi/proto/generated');
  const out = await mkdtemp(join(tmpdir(), 'csi-gen-'));
  try {
    const args = argv.slice(1);
    args[outFlag] = out; // argv[outFlag + 1] is args[outFlag]
    const bin = join(REPO_ROOT, 'node_modules', '.bin', 'proto-loader-gen-types');
    await promisify(execFile)(bin, args, { cwd: REPO_ROOT });
    const fresh = await listFiles(out);
    const committed = await listFiles(GENERATED_DIR);
    assert.deepEqual(committed, fresh, 'same set of generated files');
    for (const file of fresh) {
      const [a, b] = await Promise.all([readFile(join(GENERATED_DIR, file), 'utf8'), readFile(join(out, file), 'utf8')]);
      assert.equal(a, b, `${file} is up to date (run npm run gen:proto)`);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('loader options describe the same shapes as the generator flags', async () => {
  const flags = new Set((await genScript()).filter((a) => a.startsWith('--') && !a.startsWith('--grpcLib') && !a.startsWith('--importFileExtension')));
  assert.deepEqual(flags, new Set(['--keepCase', '--longs=String', '--enums=String', '--defaults', '--oneofs']));
  assert.equal(PROTO_LOADER_OPTIONS.keepCase, true);
  assert.equal(PROTO_LOADER_OPTIONS.longs, String);
  assert.equal(PROTO_LOADER_OPTIONS.enums, String);
  assert.equal(PROTO_LOADER_OPTIONS.defaults, true);
  assert.equal(PROTO_LOADER_OPTIONS.oneofs, true);
});

test('the typed tree exposes the CSI services under csi.v1', () => {
  const csi = loadCsiProto().csi.v1;
  assert.equal(csi.Identity.service.Probe.path, '/csi.v1.Identity/Probe');
  assert.equal(csi.Controller.service.CreateVolume.path, '/csi.v1.Controller/CreateVolume');
  assert.equal(csi.Node.service.NodePublishVolume.path, '/csi.v1.Node/NodePublishVolume');
  assert.equal(csi.GroupController.service.GroupControllerGetCapabilities.path, '/csi.v1.GroupController/GroupControllerGetCapabilities');
  assert.equal(csi.SnapshotMetadata.service.GetMetadataAllocated.responseStream, true);
});

test('wire format: field numbers of the messages this driver uses', () => {
  const node = loadCsiProto().csi.v1.Node.service;
  // NodePublishVolumeRequest: volume_id = 1, target_path = 4, volume_context = 8 (map entry key 1, value 2).
  const bytes = node.NodePublishVolume.requestSerialize({ volume_id: 'v', target_path: '/t', volume_context: { k: 'x' } });
  assert.equal(Buffer.from(bytes).toString('hex'), '0a0176' + '22022f74' + '4206' + '0a016b' + '120178');
  const decoded = node.NodePublishVolume.requestDeserialize(Buffer.from('0a0176', 'hex'));
  assert.equal(decoded.volume_id, 'v');
  assert.equal(decoded.target_path, '', '--defaults: absent strings decode as ""');
  assert.deepEqual(decoded.volume_context, {});
  // NodeGetInfoResponse: node_id = 1, max_volumes_per_node = 2 (int64 as string), accessible_topology = 3.
  const info = node.NodeGetInfo.responseSerialize({ node_id: 'n', max_volumes_per_node: '5', accessible_topology: { segments: { a: 'b' } } });
  assert.equal(Buffer.from(info).toString('hex'), '0a016e' + '1005' + '1a08' + '0a06' + '0a0161' + '120162');
});

test('custom options (csi_secret, alpha_*) load; secrets maps sit at their spec numbers', () => {
  const def = loadCsiPackageDefinition();
  const req = def['csi.v1.NodePublishVolumeRequest'];
  assert.ok(req && 'type' in req);
  const secrets = (req.type as { field: { name: string; number: number; options?: Record<string, unknown> }[] }).field.find((f) => f.name === 'secrets');
  assert.equal(secrets?.number, 7);
});
