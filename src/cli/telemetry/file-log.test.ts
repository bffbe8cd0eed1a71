import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLog, rollingFileName } from './file-log.ts';
import { TRACING_LINE_SHAPE, assertTracingShape } from '../../../test/fixtures/tracing-shape.ts';

const pinoLine = (msg: string, extra: Record<string, unknown> = {}): string =>
  `${JSON.stringify({ level: 30, time: Date.now(), target: 'listener_operator::csi', msg, ...extra })}\n`;

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'file-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Waits until `cond` holds, at most 5 s (on the monotonic clock, which mocked timers leave alone). */
async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  const end = performance.now() + 5000;
  while (performance.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const logFiles = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((f) => f.endsWith('.tracing-rs.json')).sort();

test('file names are tracing-appender\'s: prefix, UTC date at the rotation\'s precision, suffix', () => {
  const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
  assert.equal(rollingFileName('minutely', at), 'stackable-listener-operator.2026-01-02-03-04.tracing-rs.json');
  assert.equal(rollingFileName('hourly', at), 'stackable-listener-operator.2026-01-02-03.tracing-rs.json');
  assert.equal(rollingFileName('daily', at), 'stackable-listener-operator.2026-01-02.tracing-rs.json');
  assert.equal(rollingFileName('never', at), 'stackable-listener-operator.tracing-rs.json');
});

test('lines are tracing-subscriber JSON; a minutely log rotates at the minute and keeps at most FILE_LOG_MAX_FILES', async (t) => {
  const dir = await tempDir(t);
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2026, 11, 1, 1, 59, 30) });
  // rotating-file-stream imports setTimeout from node:timers as an ES module binding: that binding
  // follows the mocked function only once the builtin's ES exports are synced.
  syncBuiltinESMExports();
  t.after(() => { mock.timers.reset(); syncBuiltinESMExports(); });
  const opened: string[] = [];
  const log = new FileLog({ directory: dir, rotation: 'minutely', maxFiles: 2, warn: () => undefined, onOpen: (f) => opened.push(f) });
  t.after(() => log.close());
  await until('the first file', () => Promise.resolve(opened.length === 1));
  log.write(pinoLine('first', { span: { name: 'Node.NodePublishVolume', volume_id: 'pvc-1' }, ms: 1.5 }));
  for (const minute of [1, 2, 3]) {
    mock.timers.tick(60_000);
    await until(`rotation ${minute}`, () => Promise.resolve(opened.length === minute + 1));
    log.write(pinoLine(`minute ${minute}`));
  }
  await log.close();
  // Four periods were written; the two newest are kept.
  assert.deepEqual(await logFiles(dir), ['stackable-listener-operator.2026-12-01-02-01.tracing-rs.json', 'stackable-listener-operator.2026-12-01-02-02.tracing-rs.json']);
  const last = (await readFile(join(dir, 'stackable-listener-operator.2026-12-01-02-02.tracing-rs.json'), 'utf8')).trim().split('\n');
  assert.equal(last.length, 1);
  const parsed = JSON.parse(last[0] ?? '') as unknown;
  assertTracingShape(parsed);
  assert.deepEqual(Object.keys(TRACING_LINE_SHAPE).filter((k) => k in (parsed as object)), ['timestamp', 'level', 'fields', 'target']);
});

test('span fields and the message land where tracing-subscriber puts them', async (t) => {
  const dir = await tempDir(t);
  const opened: string[] = [];
  const log = new FileLog({ directory: dir, rotation: 'never', maxFiles: undefined, warn: () => undefined, onOpen: (f) => opened.push(f) });
  await until('the file', () => Promise.resolve(opened.length === 1));
  log.write(pinoLine('RPC succeeded', { span: { name: 'Node.NodePublishVolume', volume_id: 'pvc-1' }, ms: 1.5, err: { a: 1 } }));
  await log.close();
  const [line] = (await readFile(join(dir, 'stackable-listener-operator.tracing-rs.json'), 'utf8')).trim().split('\n');
  const parsed = JSON.parse(line ?? '') as Record<string, unknown>;
  assertTracingShape(parsed);
  assert.deepEqual(parsed.fields, { message: 'RPC succeeded', ms: 1.5, err: '{"a":1}' });
  assert.deepEqual(parsed.span, { name: 'Node.NodePublishVolume', volume_id: 'pvc-1' });
  assert.deepEqual(parsed.spans, [{ name: 'Node.NodePublishVolume', volume_id: 'pvc-1' }]);
  assert.equal(parsed.level, 'INFO');
  assert.match(String(parsed.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
});

test('a restart in the same period appends to its file', async (t) => {
  const dir = await tempDir(t);
  const name = rollingFileName('daily', new Date());
  await writeFile(join(dir, name), '{"earlier":true}\n');
  const opened: string[] = [];
  const log = new FileLog({ directory: dir, rotation: 'daily', maxFiles: 3, warn: () => undefined, onOpen: (f) => opened.push(f) });
  await until('the file', () => Promise.resolve(opened.length === 1));
  log.write(pinoLine('later'));
  await log.close();
  const lines = (await readFile(join(dir, name), 'utf8')).trim().split('\n');
  assert.equal(lines.length, 2);
});

test('an unwritable directory warns once, drops lines, never throws, and recovers', async (t) => {
  // Root writes into any directory whatever its mode: a file where the directory should be fails for everyone.
  const parent = await tempDir(t);
  const dir = join(parent, 'logs');
  await writeFile(dir, 'not a directory');
  const warnings: string[] = [];
  const opened: string[] = [];
  const log = new FileLog({ directory: dir, rotation: 'hourly', maxFiles: 2, warn: (m) => warnings.push(m), onOpen: (f) => opened.push(f), retryMs: 20 });
  t.after(() => log.close());
  await until('the warning', () => Promise.resolve(warnings.length === 1));
  for (let i = 0; i < 5; i++) log.write(pinoLine(`lost ${i}`));
  assert.ok(log.dropped >= 5);
  assert.equal(warnings.length, 1, 'warned once');
  // The directory becomes usable: the next retry opens the file and says so.
  await rm(dir);
  await mkdir(dir);
  await until('the reopened file', () => Promise.resolve(opened.length === 1));
  assert.equal(warnings.length, 2);
  assert.match(warnings[1] ?? '', /works again/);
  log.write(pinoLine('kept'));
  await log.close();
  assert.equal((await logFiles(dir)).length, 1);
});
