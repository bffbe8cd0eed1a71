// Telemetry as configured (config.ts, upstream's variables): the console is set up by main.ts; this
// adds the rolling log files (FILE_LOG_*) and the OTLP exporters (OTEL_*), and counts what they
// lose. The OpenTelemetry SDK is imported only when an exporter is on: a process without
// exporters never loads it (docs/benchmark.md has the resident size and start time either way).
import { Counter, type Registry } from 'prom-client';
import type { TelemetryConfig } from '../config.ts';
import type { LogDestination } from '../log.ts';
import { NOOP_TRACER, type Tracer } from '../../util/trace.ts';
import { FILE_LOG_PREFIX, FileLog } from './file-log.ts';

/** OTLP's resource service.name and the log files' prefix (upstream: its package name). */
export const SERVICE_NAME = FILE_LOG_PREFIX;

export interface Telemetry {
  tracer: Tracer;
  /** The destinations besides the console: the log files, the OTLP log exporter. */
  destinations: LogDestination[];
  /** Delivers what the exporters hold, within `timeoutMs` (at the end of the lifecycle; logging goes on). */
  flush(timeoutMs: number): Promise<void>;
  /** Flushes and closes everything within `timeoutMs`; later calls return the first one's promise. */
  shutdown(timeoutMs: number): Promise<void>;
}

export interface TelemetryDeps {
  registry: Registry;
  version: string;
  env: NodeJS.ProcessEnv;
  /** A console warning (a failing log file must not try to log into itself). */
  warn: (message: string, fields: Record<string, unknown>) => void;
}

async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => { timer = setTimeout(r, ms); })]);
  clearTimeout(timer);
}

export async function startTelemetry(t: TelemetryConfig, deps: TelemetryDeps): Promise<Telemetry> {
  const dropped = new Counter({
    name: 'listener_operator_telemetry_dropped_total', registers: [deps.registry], labelNames: ['signal', 'reason'],
    help: 'Log lines and spans not delivered: signal file_logs, logs or traces; reason write_failed, queue_full or export_failed',
  });
  // Every series from the start, at 0, so that rate() and the dashboard see them before a loss.
  for (const [signal, reason] of [['file_logs', 'write_failed'], ['traces', 'queue_full'], ['traces', 'export_failed'], ['logs', 'queue_full'], ['logs', 'export_failed']] as const) dropped.inc({ signal, reason }, 0);
  const exported = new Counter({ name: 'listener_operator_telemetry_exported_total', help: 'Spans and log records delivered to the OTLP collector', labelNames: ['signal'], registers: [deps.registry] });
  const destinations: LogDestination[] = [];
  const closers: ((ms: number) => Promise<void>)[] = [];
  const flushers: ((ms: number) => Promise<void>)[] = [];
  if (t.file !== undefined) {
    const file = new FileLog({
      directory: t.file.directory, rotation: t.file.rotation, maxFiles: t.file.maxFiles, warn: deps.warn,
      onDropped: (n) => { dropped.inc({ signal: 'file_logs', reason: 'write_failed' }, n); },
    });
    destinations.push({ directives: t.file.directives, stream: file });
    closers.push((ms) => within(file.close(), ms));
  }
  let tracer = NOOP_TRACER;
  // A failing export is said once on the console per outage (and once more when it works again):
  // the counter has every item, the console only the change.
  const failing = new Set<string>();
  const exportFailed = (signal: string): void => {
    if (failing.has(signal)) return;
    failing.add(signal);
    deps.warn(`Exporting ${signal} over OTLP failed; they are dropped (and counted) until it works again`, { signal });
  };
  const exportWorked = (signal: string): void => {
    if (failing.delete(signal)) deps.warn(`Exporting ${signal} over OTLP works again`, { signal });
  };
  if (t.otelTraces.enabled || t.otelLogs.enabled) {
    const { startOtel } = await import('./otel.ts');
    const otel = startOtel({
      serviceName: SERVICE_NAME, serviceVersion: deps.version, env: deps.env,
      traces: t.otelTraces.enabled ? { directives: t.otelTraces.directives } : undefined,
      logs: t.otelLogs.enabled ? { directives: t.otelLogs.directives } : undefined,
      onDropped: (signal, reason, n) => {
        dropped.inc({ signal, reason }, n);
        if (reason === 'export_failed') exportFailed(signal);
      },
      onExported: (signal, n) => {
        exported.inc({ signal }, n);
        exportWorked(signal);
      },
    });
    tracer = otel.tracer;
    if (otel.logs !== undefined) destinations.push(otel.logs);
    closers.push((ms) => otel.shutdown(ms));
    flushers.push((ms) => otel.flush(ms));
  }
  let closing: Promise<void> | undefined;
  return {
    tracer,
    destinations,
    flush: async (ms) => { await Promise.all(flushers.map((f) => f(ms))); },
    shutdown: (ms) => {
      closing ??= Promise.all(closers.map((c) => c(ms))).then(() => undefined);
      return closing;
    },
  };
}
