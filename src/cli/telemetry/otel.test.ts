import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLogDirectives, type LogDirectives } from '../log-directives.ts';
import { batchSettings, enabled } from './otel.ts';

function directives(text: string): LogDirectives {
  const r = parseLogDirectives(text);
  assert.ok(r.ok);
  return r.value;
}

test('spans pass OTEL_TRACE_EXPORTER_LEVEL as tracing\'s span levels pass its filter', () => {
  const d = directives('info,listener_operator::kube=warn,listener_operator::csi=debug');
  assert.equal(enabled(d, 'listener_operator::controller', 'info'), true);
  assert.equal(enabled(d, 'listener_operator::controller', 'debug'), false);
  assert.equal(enabled(d, 'listener_operator::kube', 'info'), false, 'API request spans off with kube=warn');
  assert.equal(enabled(d, 'listener_operator::csi', 'debug'), true, 'probes on with csi=debug');
  assert.equal(enabled(directives('off'), 'listener_operator::controller', 'error'), false);
});

test('batch settings come from OTEL_BSP_* / OTEL_BLRP_*, with the SDK\'s defaults; nonsense falls back', () => {
  assert.deepEqual(batchSettings({}, 'OTEL_BSP'), { maxQueueSize: 2048, scheduledDelayMillis: 5000, maxExportBatchSize: 512, exportTimeoutMillis: 30_000 });
  assert.equal(batchSettings({}, 'OTEL_BLRP').scheduledDelayMillis, 1000);
  const s = batchSettings({ OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_BSP_EXPORT_TIMEOUT: 'soon' }, 'OTEL_BSP');
  assert.deepEqual(s, { maxQueueSize: 100, scheduledDelayMillis: 200, maxExportBatchSize: 100, exportTimeoutMillis: 30_000 });
});
