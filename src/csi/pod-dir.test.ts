import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, lutimes, mkdir, mkdtemp, readFile, readdir, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import fc from 'fast-check';
import { status } from '@grpc/grpc-js';
import { grpcCode } from './errors.ts';
import { planPodDir, podDirNameProblem, removePodDir, writePodDir, type PodDirAddress } from './pod-dir.ts';

let sandbox = '';
before(async () => {
  sandbox = await realpath(await mkdtemp(join(tmpdir(), 'pod-dir-test-')));
});
after(async () => {
  await rm(sandbox, { recursive: true, force: true });
});

let counter = 0;
/** A fresh target path below the sandbox (not created: writePodDir must create it). */
function freshTarget(): string {
  counter += 1;
  return join(sandbox, `case-${counter}`, 'mount');
}

/** Every file under `dir` through the public `addresses` view: relative path → content. */
async function snapshot(target: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const relPath = `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(path, relPath);
      else out[relPath] = await readFile(path, 'utf8');
    }
  };
  await walk(join(target, 'addresses'), 'addresses');
  out['default-address -> '] = await readlink(join(target, 'default-address'));
  return out;
}

async function ok(target: string, addresses: readonly PodDirAddress[]): Promise<void> {
  const r = await writePodDir(target, addresses);
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.error));
}

const kafkaNode: PodDirAddress[] = [
  { address: '10.0.0.1', addressType: 'IP', ports: { kafka: 31234, metrics: 9606 } },
  { address: 'n1.example', addressType: 'Hostname', ports: { kafka: 31234 } },
];

test('writes the upstream layout byte for byte, with a relative default-address link', async () => {
  const target = freshTarget();
  await ok(target, kafkaNode);
  assert.deepEqual(await snapshot(target), {
    'addresses/10.0.0.1/address': '10.0.0.1',
    'addresses/10.0.0.1/ports/kafka': '31234',
    'addresses/10.0.0.1/ports/metrics': '9606',
    'addresses/n1.example/address': 'n1.example',
    'addresses/n1.example/ports/kafka': '31234',
    'default-address -> ': 'addresses/10.0.0.1',
  });
  assert.deepEqual(await readFile(join(target, 'default-address', 'address')), Buffer.from('10.0.0.1'));
  assert.equal(await readFile(join(target, 'default-address', 'ports', 'kafka'), 'utf8'), '31234');
  const visible = (await readdir(target)).filter((n) => !n.startsWith('.')).sort();
  assert.deepEqual(visible, ['addresses', 'default-address']);
  const hidden = (await readdir(target)).filter((n) => n.startsWith('.'));
  assert.equal(hidden.length, 1, 'exactly one version directory, no temporary links');
  assert.equal(await readlink(join(target, 'addresses')), hidden[0]);
});

test('idempotent: publishing twice succeeds and leaves the same bytes', async () => {
  const target = freshTarget();
  await ok(target, kafkaNode);
  const first = await snapshot(target);
  await ok(target, kafkaNode);
  assert.deepEqual(await snapshot(target), first);
  assert.equal((await readdir(target)).length, 3);
});

test('re-publishing other addresses removes the stale ones and repoints default-address', async () => {
  const target = freshTarget();
  await ok(target, kafkaNode);
  await ok(target, [{ address: '10.0.0.2', ports: { kafka: 30000 } }]);
  assert.deepEqual(await snapshot(target), {
    'addresses/10.0.0.2/address': '10.0.0.2',
    'addresses/10.0.0.2/ports/kafka': '30000',
    'default-address -> ': 'addresses/10.0.0.2',
  });
  assert.equal((await readdir(target)).length, 3, 'the old version directory is gone');
});

test('migrates an upstream-written tree (a real addresses directory with stale entries)', async () => {
  const target = freshTarget();
  await mkdir(join(target, 'addresses', 'old.example', 'ports'), { recursive: true });
  await writeFile(join(target, 'addresses', 'old.example', 'address'), 'old.example');
  await symlink('addresses/old.example', join(target, 'default-address'));
  await writeFile(join(target, 'unrelated-file'), 'kept');
  await ok(target, [{ address: 'new.example', ports: { http: 80 } }]);
  assert.deepEqual(await snapshot(target), {
    'addresses/new.example/address': 'new.example',
    'addresses/new.example/ports/http': '80',
    'default-address -> ': 'addresses/new.example',
  });
  assert.deepEqual((await readdir(target)).filter((n) => !n.startsWith('.')).sort(), ['addresses', 'default-address', 'unrelated-file']);
  assert.equal((await readdir(target)).length, 4);
});

test('a default-address that is a real directory is replaced too', async () => {
  const target = freshTarget();
  await mkdir(join(target, 'default-address', 'x'), { recursive: true });
  await ok(target, [{ address: 'a', ports: {} }]);
  assert.equal(await readlink(join(target, 'default-address')), 'addresses/a');
  assert.deepEqual(await snapshot(target), { 'addresses/a/address': 'a', 'default-address -> ': 'addresses/a' });
});

test('repeated addresses are merged: ports united, the later value wins, first position kept', async () => {
  const target = freshTarget();
  await ok(target, [
    { address: 'a', ports: { x: 1, y: 2 } },
    { address: 'b', ports: { x: 3 } },
    { address: 'a', ports: { y: 20, z: 30 } },
  ]);
  assert.deepEqual(await snapshot(target), {
    'addresses/a/address': 'a',
    'addresses/a/ports/x': '1',
    'addresses/a/ports/y': '20',
    'addresses/a/ports/z': '30',
    'addresses/b/address': 'b',
    'addresses/b/ports/x': '3',
    'default-address -> ': 'addresses/a',
  });
});

test('unsafe names are refused with the value in the error, and nothing is written', async () => {
  const cases: [PodDirAddress[], string][] = [
    [[{ address: '../../etc', ports: {} }], 'contains "/"'],
    [[{ address: '..', ports: {} }], 'relative directory'],
    [[{ address: '.', ports: {} }], 'relative directory'],
    [[{ address: '', ports: {} }], 'is empty'],
    [[{ address: 'a\0b', ports: {} }], 'NUL'],
    [[{ address: 'x'.repeat(256), ports: {} }], 'longer than 255 bytes'],
    [[{ address: 'é'.repeat(128), ports: {} }], 'longer than 255 bytes'],
    [[{ address: 'a\ud800', ports: {} }], 'lone surrogate'],
    [[{ address: 'ok', ports: { '../x': 80 } }], 'contains "/"'],
    [[{ address: 'ok', ports: { '..': 80 } }], 'relative directory'],
    [[{ address: 'ok', ports: { http: 0 } }], 'from 1 to 65535'],
    [[{ address: 'ok', ports: { http: 65536 } }], 'from 1 to 65535'],
    [[{ address: 'ok', ports: { http: 80.5 } }], 'from 1 to 65535'],
    [[{ address: 'ok', ports: { http: Number.NaN } }], 'from 1 to 65535'],
    [[{ address: 'ok', ports: { http: '80' as unknown as number } }], 'from 1 to 65535'],
    [[{ address: 'ok', ports: null as unknown as Record<string, number> }], 'not a map'],
    [[{ address: 5 as unknown as string, ports: {} }], 'must be a string'],
  ];
  for (const [addresses, reason] of cases) {
    const target = freshTarget();
    const r = await writePodDir(target, addresses);
    assert.ok(!r.ok);
    assert.equal(r.error.kind, 'UnsafePodDirEntry');
    assert.equal(grpcCode(r.error), status.FAILED_PRECONDITION);
    assert.ok('reason' in r.error && r.error.reason.includes(reason), `${JSON.stringify(r.error)} ∌ ${reason}`);
    await assert.rejects(lstat(dirname(target)), { code: 'ENOENT' }, 'nothing was created');
  }
});

test('255-byte names are fine, multi-byte counted in bytes', async () => {
  const target = freshTarget();
  const name = `${'é'.repeat(127)}x`; // 255 bytes
  assert.equal(podDirNameProblem(name), undefined);
  await ok(target, [{ address: name, ports: { [name]: 443 } }]);
  assert.equal(await readFile(join(target, 'addresses', name, 'ports', name), 'utf8'), '443');
});

test('no address, a relative or root target path: refused', async () => {
  const none = await writePodDir(freshTarget(), []);
  assert.ok(!none.ok && none.error.kind === 'NoPodDirAddresses');
  assert.equal(grpcCode(none.error), status.UNAVAILABLE);
  for (const bad of ['relative/mount', '/', '/a/../b', '']) {
    const r = await writePodDir(bad, kafkaNode);
    assert.ok(!r.ok && r.error.kind === 'InvalidTargetPath', bad);
    assert.equal(grpcCode(r.error), status.INVALID_ARGUMENT);
  }
});

test('filesystem failures are a WriteFiles error (INTERNAL), never a throw', async () => {
  const file = join(sandbox, `plain-file-${++counter}`);
  await writeFile(file, 'x');
  const r = await writePodDir(join(file, 'mount'), kafkaNode);
  assert.ok(!r.ok && r.error.kind === 'WriteFiles');
  assert.equal(grpcCode(r.error), status.INTERNAL);
  const targetIsFile = await writePodDir(file, kafkaNode);
  assert.ok(!targetIsFile.ok && targetIsFile.error.kind === 'WriteFiles');
});

test('removePodDir: removes recursively; a missing path is success; relative or root refused', async () => {
  const target = freshTarget();
  await ok(target, kafkaNode);
  assert.deepEqual(await removePodDir(target), { ok: true, value: undefined });
  await assert.rejects(lstat(target), { code: 'ENOENT' });
  assert.deepEqual(await removePodDir(target), { ok: true, value: undefined });
  for (const bad of ['relative', '/', '/x/..']) {
    const r = await removePodDir(bad);
    assert.ok(!r.ok && r.error.kind === 'InvalidTargetPath');
  }
});

test('removePodDir on a symlinked target removes the link, not what it points to', async () => {
  const real = freshTarget();
  await ok(real, kafkaNode);
  const link = join(sandbox, `link-${++counter}`);
  await symlink(real, link);
  assert.ok((await removePodDir(link)).ok);
  await assert.rejects(lstat(link), { code: 'ENOENT' });
  assert.ok((await lstat(join(real, 'addresses'))).isSymbolicLink());
});

test('a concurrent reader never sees a half-written file or a mixed tree', async (t) => {
  const target = freshTarget();
  const setA = [{ address: 'a.example', ports: { http: 80 } }, { address: 'b.example', ports: { http: 80 } }];
  const setB = [{ address: 'a.example', ports: { http: 8080 } }, { address: 'c.example', ports: { http: 8080 } }];
  await ok(target, setA);
  let writing = true;
  const seen = { reads: 0, transientEnoent: 0 };
  const read = async <T>(f: () => Promise<T>, check: (v: T) => void): Promise<void> => {
    try {
      check(await f());
      seen.reads += 1;
    } catch (e) {
      // The previous version directory is deleted right after the swap: a read that had already
      // resolved into it can fail. It must never return wrong or partial content.
      if (e instanceof Error && 'code' in e && e.code === 'ENOENT') seen.transientEnoent += 1;
      else throw e;
    }
  };
  const reader = async (): Promise<void> => {
    while (writing) {
      await read(() => readFile(join(target, 'default-address', 'address'), 'utf8'), (v) => {
        assert.equal(v, 'a.example');
      });
      await read(() => readFile(join(target, 'default-address', 'ports', 'http'), 'utf8'), (v) => {
        assert.ok(v === '80' || v === '8080', v);
      });
      await read(() => readdir(join(target, 'addresses')), (names) => {
        const sorted = [...names].sort().join(',');
        assert.ok(sorted === 'a.example,b.example' || sorted === 'a.example,c.example', sorted);
      });
      await read(async () => {
        const [addr, port] = await Promise.all([readFile(join(target, 'addresses', 'a.example', 'address'), 'utf8'), readFile(join(target, 'addresses', 'a.example', 'ports', 'http'), 'utf8')]);
        return [addr, port];
      }, ([addr, port]) => {
        assert.equal(addr, 'a.example');
        assert.ok(port === '80' || port === '8080');
      });
    }
  };
  const writer = async (): Promise<void> => {
    for (let i = 0; i < 150; i++) await ok(target, i % 2 === 0 ? setB : setA);
    writing = false;
  };
  await Promise.all([writer(), reader(), reader(), reader()]);
  assert.ok(seen.reads > 100, `readers made progress (${JSON.stringify(seen)})`);
  assert.ok(seen.transientEnoent <= seen.reads / 10, `ENOENT stays rare (${JSON.stringify(seen)})`);
  t.diagnostic(JSON.stringify(seen));
});

test('overlapping writes to one target never leave addresses pointing at a removed version', async () => {
  // The node service refuses a second call for a target in flight; this is the file writer's own
  // guarantee should two writers (two plugin processes during an upgrade) still overlap.
  const target = freshTarget();
  const setA = [{ address: 'a.example', ports: { http: 80 } }];
  const setB = [{ address: 'a.example', ports: { http: 8080 } }, { address: 'b.example', ports: { http: 8080 } }];
  await ok(target, setA);
  for (let round = 0; round < 50; round++) {
    const results = await Promise.all([writePodDir(target, setA), writePodDir(target, setB), writePodDir(target, setA)]);
    for (const r of results) assert.ok(r.ok, `round ${round}: ${r.ok ? '' : JSON.stringify(r.error)}`);
    const port = await readFile(join(target, 'addresses', 'a.example', 'ports', 'http'), 'utf8').catch((e: unknown) => `unreadable: ${String(e)}`);
    assert.ok(port === '80' || port === '8080', `round ${round}: addresses/a.example is ${port}`);
    assert.equal(await readFile(join(target, 'default-address', 'address'), 'utf8'), 'a.example');
  }
});

test('leftovers of interrupted calls are removed once they are old; recent ones may belong to a call in flight', async () => {
  const target = freshTarget();
  await ok(target, kafkaNode);
  const old = new Date(Date.now() - 3600_000);
  for (const name of ['.addresses-interrupted', '.tmp-addresses-interrupted']) {
    if (name.startsWith('.addresses-')) await mkdir(join(target, name, '10.0.0.9'), { recursive: true });
    else await symlink('.addresses-interrupted', join(target, name));
    await lutimes(join(target, name), old, old);
  }
  await mkdir(join(target, '.addresses-in-flight'));
  await ok(target, kafkaNode);
  const hidden = (await readdir(target)).filter((n) => n.startsWith('.')).sort();
  assert.equal(hidden.length, 2, hidden.join(', '));
  assert.ok(hidden.includes('.addresses-in-flight'), 'a recent version directory is kept');
  assert.ok(hidden.includes(await readlink(join(target, 'addresses'))), 'the current version is kept');
});

// ---- property: hostile input never escapes the target path, never throws -------------------------

const hostileName = fc.oneof(
  fc.constantFrom('', '.', '..', '/', '//', '../', '../../etc/passwd', 'a/b', '\0', 'a\0', '.addresses-x', '.tmp-addresses-x', 'addresses', 'default-address', 'ports', 'address', '\\', '\ud800', 'a\udfffb', '~', '-rf', '*', '\n', ' '),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('.', '/', '\0', 'a', '\ud800', 'é', '💥', '\\'), maxLength: 8 }),
  fc.string({ unit: 'grapheme', minLength: 50, maxLength: 130 }),
  fc.nat(300).map((n) => 'x'.repeat(n)),
  fc.nat(140).map((n) => 'é'.repeat(n)),
  fc.ipV4(),
  fc.ipV6(),
  fc.domain(),
);
// Mostly plausible values, so that writes succeed often enough to check the tree, mixed with hostile ones.
const plausibleName = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), fc.stringMatching(/^[a-z][a-z0-9-]{0,14}$/));
const name = fc.oneof({ weight: 6, arbitrary: plausibleName }, { weight: 1, arbitrary: hostileName });
const portNumber = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 65535 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 65536, Number.NaN, Infinity), fc.string(), fc.constant(null)) },
);
const addressEntry = fc.oneof(
  { weight: 12, arbitrary: fc.record({ address: name, addressType: fc.constantFrom('IP', 'Hostname'), ports: fc.dictionary(name, portNumber, { maxKeys: 3 }) }) },
  { weight: 1, arbitrary: fc.anything() },
);
const addressList = fc.array(addressEntry, { maxLength: 4 });

/** Walks without following links; every entry must be inside `root`, every link must resolve inside it. */
async function assertContained(root: string, dir: string): Promise<number> {
  let files = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    assert.ok(path.startsWith(`${root}/`), `${path} is inside ${root}`);
    if (entry.isSymbolicLink()) {
      const to = resolve(dirname(path), await readlink(path));
      assert.ok(to.startsWith(`${root}/`), `link ${path} → ${to} stays inside ${root}`);
    } else if (entry.isDirectory()) {
      files += await assertContained(root, path);
    } else {
      assert.ok((await realpath(path)).startsWith(`${root}/`));
      files += 1;
    }
  }
  return files;
}

/** What the tree must hold after a successful write, computed independently of pod-dir.ts. */
function expectedTree(addresses: readonly PodDirAddress[]): Record<string, string> {
  const merged = new Map<string, Map<string, number>>();
  for (const { address, ports } of addresses) {
    const m = merged.get(address) ?? new Map<string, number>();
    for (const [k, v] of Object.entries(ports)) m.set(k, v);
    merged.set(address, m);
  }
  const out: Record<string, string> = {};
  for (const [address, ports] of merged) {
    out[`addresses/${address}/address`] = address;
    for (const [k, v] of ports) out[`addresses/${address}/ports/${k}`] = String(v);
  }
  out['default-address -> '] = `addresses/${addresses[0]?.address ?? ''}`;
  return out;
}

test('property: hostile addresses and port names are refused or written strictly inside the target', async (t) => {
  const root = join(sandbox, 'property');
  const target = join(root, 'mount');
  await mkdir(root);
  let previous: Record<string, string> | undefined;
  const outcomes = { written: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(addressList, async (addresses) => {
      const r = await writePodDir(target, addresses as PodDirAddress[]);
      assert.deepEqual(await readdir(root), previous === undefined && !r.ok ? [] : ['mount'], 'nothing beside the target path');
      if (r.ok) {
        outcomes.written += 1;
        previous = expectedTree(addresses as PodDirAddress[]);
        assert.deepEqual(await snapshot(target), previous);
        assert.equal((await readdir(target)).length, 3, 'no leftovers');
      } else {
        outcomes.refused += 1;
        assert.ok(r.error.kind === 'UnsafePodDirEntry' || r.error.kind === 'NoPodDirAddresses', JSON.stringify(r.error));
        assert.equal(planPodDir(addresses as PodDirAddress[], target).ok, false);
        if (previous !== undefined) assert.deepEqual(await snapshot(target), previous, 'a refused write changes nothing');
      }
      if (previous !== undefined) await assertContained(target, target);
    }),
    { numRuns: 2000 },
  );
  assert.ok(outcomes.written > 300 && outcomes.refused > 300, JSON.stringify(outcomes));
  t.diagnostic(JSON.stringify(outcomes));
});
