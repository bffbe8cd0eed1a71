import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { assertTracingShape } from '../../test/fixtures/tracing-shape.ts';
import { parseLogDirectives, type LogDirectives } from './log-directives.ts';
import { consoleDestination, Logs, spanLogger } from './log.ts';

function directives(text: string): LogDirectives {
  const r = parseLogDirectives(text);
  assert.ok(r.ok);
  return r.value;
}

function sink(): { lines: string[]; stream: NodeJS.WritableStream & { write(line: string): boolean } } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, cb): void { lines.push(...chunk.toString().split('\n').filter((l) => l !== '')); cb(); } });
  return { lines, stream };
}

test('each destination takes the lines its own directives let through, per target', () => {
  const a = sink();
  const b = sink();
  const logs = new Logs([
    { directives: directives('warn'), stream: a.stream },
    { directives: directives('info,listener_operator::csi=debug'), stream: b.stream },
  ]);
  logs.for('listener_operator::csi').debug('csi debug');
  logs.for('listener_operator::controller').debug('controller debug');
  logs.for('listener_operator::controller').info('controller info');
  logs.for('listener_operator::controller').warn('controller warn');
  const msgs = (l: string[]): string[] => l.map((x) => (JSON.parse(x) as { msg: string }).msg);
  assert.deepEqual(msgs(a.lines), ['controller warn']);
  assert.deepEqual(msgs(b.lines), ['csi debug', 'controller info', 'controller warn']);
});

test('console json is tracing-subscriber\'s layout; plain shows the span as tracing does', () => {
  const out = sink();
  const json = new Logs([consoleDestination({ enabled: true, format: 'json', directives: directives('info') }, out.stream)]);
  spanLogger(json.for('listener_operator::csi'), 'Node.NodePublishVolume', { volumeId: 'pvc-1' }).info({ ms: 2 }, 'RPC succeeded');
  const line = JSON.parse(out.lines[0] ?? '') as Record<string, unknown>;
  assertTracingShape(line);
  assert.deepEqual(line.span, { volumeId: 'pvc-1', name: 'Node.NodePublishVolume' });
  assert.equal(line.target, 'listener_operator::csi');
  const plainOut = sink();
  const plain = new Logs([consoleDestination({ enabled: true, format: 'plain', directives: directives('info') }, plainOut.stream)]);
  spanLogger(plain.for('listener_operator::csi'), 'Node.NodePublishVolume', { volumeId: 'pvc-1' }).warn({ code: 'UNAVAILABLE' }, 'RPC failed');
  assert.match(plainOut.lines[0] ?? '', /^\S+Z {2}WARN Node\.NodePublishVolume\{volumeId=pvc-1\}: listener_operator::csi: RPC failed code=UNAVAILABLE$/);
});

test('a disabled console and no other destination log nothing, without failing', () => {
  const logs = new Logs([consoleDestination({ enabled: false, format: 'plain', directives: directives('info') })]);
  logs.for('listener_operator').error('nobody hears this');
  assert.equal(logs.for('listener_operator').level, 'silent');
});
