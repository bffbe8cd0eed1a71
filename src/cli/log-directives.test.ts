import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levelFor, parseLogDirectives, type LogDirectives } from './log-directives.ts';

function parsed(text: string): LogDirectives {
  const r = parseLogDirectives(text);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.value;
}

test('a bare level sets the default; unset means info', () => {
  assert.equal(levelFor(parsed(''), 'listener_operator::csi'), 'info');
  assert.equal(levelFor(parsed('debug'), 'listener_operator::csi'), 'debug');
  assert.equal(levelFor(parsed('WARN'), 'listener_operator'), 'warn');
  assert.equal(levelFor(parsed('off'), 'listener_operator'), 'off');
});

test('target=level pairs match by prefix, the longest wins', () => {
  const d = parsed('warn,listener_operator=info,listener_operator::controller=debug');
  assert.equal(levelFor(d, 'listener_operator::controller'), 'debug');
  assert.equal(levelFor(d, 'listener_operator::csi'), 'info');
  // The example: `listener` is a prefix of every target of ours.
  const example = parsed('info,listener=debug');
  assert.equal(levelFor(example, 'listener_operator::webhook'), 'debug');
  assert.equal(example.defaultLevel, 'info');
  // A bare target means everything from it, as in tracing.
  assert.equal(levelFor(parsed('listener_operator::csi'), 'listener_operator::csi'), 'trace');
  // Spaces around the pieces are tolerated.
  assert.equal(levelFor(parsed(' error , listener_operator::kube = debug '), 'listener_operator::kube'), 'debug');
});

test('upstream\'s crate names reach the component doing their work', () => {
  const d = parsed('info,stackable_listener_operator=debug,kube=trace');
  assert.equal(levelFor(d, 'listener_operator::csi'), 'debug');
  assert.equal(levelFor(d, 'listener_operator::kube'), 'trace');
  assert.equal(levelFor(parsed('stackable_operator=warn'), 'listener_operator::kube'), 'warn');
});

test('what cannot be honoured is an error naming the directive and what is accepted', () => {
  const cases: [string, RegExp][] = [
    ['verbose', /"verbose" is neither a level nor one of our targets/],
    ['info,rustls=debug', /"rustls=debug" names the target "rustls", which is none of ours/],
    ['listener_operator=loud', /has no valid level/],
    ['listener_operator[reconcile{key}]=debug', /span filters/],
    ['=debug', /names the target ""/],
  ];
  for (const [text, error] of cases) {
    const r = parseLogDirectives(text);
    assert.ok(!r.ok, text);
    assert.match(r.error, error, text);
    assert.match(r.error, /accepted: a level \(trace, debug, info, warn, error, off\)/);
    assert.match(r.error, /listener_operator::controller/);
  }
});
