import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration.ts';

test('durations in upstream\'s notation', () => {
  const cases: [string, number][] = [['1d', 86_400_000], ['24h', 86_400_000], ['30s', 30_000], ['1h30m', 5_400_000], ['2d4h5m6s7ms', 187_506_007], ['500ms', 500], ['0s', 0]];
  for (const [text, ms] of cases) assert.deepEqual(parseDuration(text), { ok: true, ms }, text);
});

test('malformed durations say what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/], ['10', /no unit/], ['5x', /unknown unit "x"/], ['1m1h', /h must come before m/], ['1h1h', /twice/],
    ['1h ', /unexpected character " "/], ['-1s', /unexpected character "-"/], ['1.5h', /unexpected character "\."/],
    ['99999999999999999999d', /too long/],
  ];
  for (const [text, error] of cases) {
    const r = parseDuration(text);
    assert.ok(!r.ok, text);
    assert.match(r.error, error, text);
  }
});

test('format is the inverse of parse', () => {
  for (const ms of [0, 1, 999, 1000, 61_000, 86_400_000, 187_506_007]) {
    assert.deepEqual(parseDuration(formatDuration(ms)), { ok: true, ms });
  }
  assert.equal(formatDuration(86_400_000), '1d');
  assert.equal(formatDuration(5_400_000), '1h30m');
});
