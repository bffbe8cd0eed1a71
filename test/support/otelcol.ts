// A real OpenTelemetry Collector (tools/otelcol: the core OTLP receiver and the contrib file
// exporter, built by scripts/build-tools.sh) on loopback, writing what it receives as OTLP JSON,
// one request per line, to traces.jsonl and logs.jsonl. Runs under guard.sh in a process group
// of its own, so `kill()` takes it down at once (an outage) and nothing outlives the test.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './cluster.ts';
import { tempDir } from './csi.ts';
import { eventually } from './k8s.ts';

const GUARD = path.join(import.meta.dirname, 'guard.sh');

export interface OtlpValue { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number }
export interface OtlpAttribute { key: string; value: OtlpValue }
export interface OtlpSpan {
  traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number;
  attributes?: OtlpAttribute[]; status?: { code?: number; message?: string };
}
export interface OtlpLogRecord { traceId?: string; spanId?: string; severityText?: string; body?: OtlpValue; attributes?: OtlpAttribute[] }

export interface Collector {
  /** The OTLP/gRPC endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  endpoint: string;
  spans(): Promise<{ span: OtlpSpan; service: string | undefined }[]>;
  logs(): Promise<OtlpLogRecord[]>;
  /** SIGKILLs the collector (an outage: nothing is flushed). */
  kill(): void;
}

/** An attribute's value as a string, number or boolean. */
export function attr(attrs: OtlpAttribute[] | undefined, key: string): string | number | boolean | undefined {
  const v = attrs?.find((a) => a.key === key)?.value;
  if (v === undefined) return undefined;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.boolValue ?? v.doubleValue;
}

async function jsonLines(file: string): Promise<unknown[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
}

interface TracesLine { resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[] }
interface LogsLine { resourceLogs?: { scopeLogs?: { logRecords?: OtlpLogRecord[] }[] }[] }

export async function startCollector(t: TestContext): Promise<Collector> {
  const bin = process.env.LISTENER_OPERATOR_BIN;
  if (bin === undefined || bin === '') throw new Error('LISTENER_OPERATOR_BIN is not set: run through scripts/test.sh (it builds the pinned otelcol)');
  const dir = await tempDir(t, 'otelcol-');
  const port = await freePort();
  const traces = path.join(dir, 'traces.jsonl');
  const logs = path.join(dir, 'logs.jsonl');
  const config = path.join(dir, 'config.yaml');
  await writeFile(config, [
    'receivers:',
    '  otlp:',
    '    protocols:',
    `      grpc: { endpoint: "127.0.0.1:${port}" }`,
    'exporters:',
    `  file/traces: { path: "${traces}", flush_interval: 100ms }`,
    `  file/logs: { path: "${logs}", flush_interval: 100ms }`,
    'service:',
    '  telemetry:',
    '    logs: { level: warn }',
    '    metrics: { level: none }',
    '  pipelines:',
    '    traces: { receivers: [otlp], exporters: [file/traces] }',
    '    logs: { receivers: [otlp], exporters: [file/logs] }',
    '',
  ].join('\n'));
  const child = spawn(GUARD, [path.join(bin, 'otelcol'), `--config=file:${config}`], { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const kill = (): void => {
    try { if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
  };
  t.after(kill);
  // Ready when its gRPC port accepts connections.
  const { createConnection } = await import('node:net');
  await eventually(`the collector listening on 127.0.0.1:${port}`, () => new Promise<true | undefined>((resolve) => {
    if (child.exitCode !== null) throw new Error(`otelcol exited: ${stderr}`);
    const c = createConnection(port, '127.0.0.1', () => { c.end(); resolve(true); });
    c.on('error', () => { resolve(undefined); });
  }), 30_000);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: async () => (await jsonLines(traces) as TracesLine[]).flatMap((l) => (l.resourceSpans ?? []).flatMap((rs) => {
      const service = attr(rs.resource?.attributes, 'service.name');
      return (rs.scopeSpans ?? []).flatMap((ss) => (ss.spans ?? []).map((span) => ({ span, service: typeof service === 'string' ? service : undefined })));
    })),
    logs: async () => (await jsonLines(logs) as LogsLine[]).flatMap((l) => (l.resourceLogs ?? []).flatMap((rl) => (rl.scopeLogs ?? []).flatMap((sl) => sl.logRecords ?? []))),
    kill,
  };
}
