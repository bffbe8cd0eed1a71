import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../cli/log.ts';
import { SUPPORT_DURATION_MS, endOfSupportWarning, runEndOfSupportCheck } from './eos.ts';

const DAY = 86_400_000;
const flush = (): Promise<void> => new Promise((r) => { setImmediate(r); });

test('supported for 365 days from the build, then a warning with the build\'s age', () => {
  const built = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(endOfSupportWarning(built, built + SUPPORT_DURATION_MS), undefined);
  const w = endOfSupportWarning(built, built + 400 * DAY);
  assert.match(w ?? '', /built on Thu, 01 Jan 2026 00:00:00 GMT \(400d ago\) and may have reached end-of-support/);
});

test('the check warns at start and then at every interval, and stops on abort', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const lines: string[] = [];
    const out = new Writable({ write(chunk: Buffer, _e, cb): void { lines.push(chunk.toString()); cb(); } });
    let now = 500 * DAY;
    const abort = new AbortController();
    const running = runEndOfSupportCheck({ builtAtMs: 0, intervalMs: DAY, log: createLogger('info', 'json', out), now: () => now }, abort.signal);
    await flush();
    const warnings = (): number => lines.filter((l) => l.includes('end-of-support.')).length;
    assert.equal(warnings(), 1);
    now += DAY;
    mock.timers.tick(DAY);
    await flush();
    assert.equal(warnings(), 2);
    abort.abort();
    await running;
  } finally {
    mock.timers.reset();
  }
});
