// OpenTelemetry traces and logs over OTLP/gRPC, as upstream exports them (opentelemetry-otlp with
// tonic): service name on the resource, batch processors, the endpoint and options from the
// standard OTEL_EXPORTER_OTLP_* variables (default http://localhost:4317), read by the official
// exporters themselves.
//
// This module is imported only when OTEL_TRACE_EXPORTER_ENABLED or OTEL_LOG_EXPORTER_ENABLED is
// on (main.ts, dynamic import), so a process without exporters never loads the SDK.
//
// A collector that is down or slow must not block the operator or grow its memory: the batch
// processors' queues are bounded (OTEL_BSP_MAX_QUEUE_SIZE / OTEL_BLRP_MAX_QUEUE_SIZE, default 2048),
// and every item that is not delivered, because the queue was full or its export failed, is
// counted (onDropped → listener_operator_telemetry_dropped_total).
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter, type LogRecordProcessor, type ReadableLogRecord, type ReadWriteLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type Span as SdkSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { levelFor, type LogDirectives } from '../log-directives.ts';
import type { LogDestination } from '../log.ts';
import { NOOP_SPAN, type Span, type SpanAttributes, type SpanLevel, type SpanOptions, type Tracer } from '../../util/trace.ts';

export type Signal = 'traces' | 'logs';
export type DropReason = 'queue_full' | 'export_failed';

export interface OtelOptions {
  serviceName: string;
  serviceVersion: string;
  traces: { directives: LogDirectives } | undefined;
  logs: { directives: LogDirectives } | undefined;
  /** Items not delivered, and why. */
  onDropped: (signal: Signal, reason: DropReason, count: number) => void;
  onExported: (signal: Signal, count: number) => void;
  env: NodeJS.ProcessEnv;
}

export interface Otel {
  tracer: Tracer;
  /** The OTLP log destination (undefined when log export is off). */
  logs: LogDestination | undefined;
  /** Exports what is queued, within `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  /** Exports what is queued and stops, within `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<void>;
}

const ORDER: readonly SpanLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

/** Whether a span or line at `level` of `target` passes the directives (tracing's filter). */
export function enabled(d: LogDirectives, target: string, level: SpanLevel): boolean {
  const min = levelFor(d, target);
  return min !== 'off' && ORDER.indexOf(level) >= ORDER.indexOf(min);
}

function attributes(a: SpanAttributes | undefined): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(a ?? {})) if (v !== undefined) out[k] = v;
  return out;
}

/** The batch processor settings of the standard variables (prefix OTEL_BSP or OTEL_BLRP), as upstream's SDK reads them. */
export function batchSettings(env: NodeJS.ProcessEnv, prefix: 'OTEL_BSP' | 'OTEL_BLRP'): { maxQueueSize: number; scheduledDelayMillis: number; maxExportBatchSize: number; exportTimeoutMillis: number } {
  const num = (name: string, fallback: number): number => {
    const n = Number(env[`${prefix}_${name}`] ?? '');
    return Number.isInteger(n) && n > 0 ? n : fallback;
  };
  const maxQueueSize = num('MAX_QUEUE_SIZE', 2048);
  return {
    maxQueueSize,
    scheduledDelayMillis: num('SCHEDULE_DELAY', prefix === 'OTEL_BSP' ? 5000 : 1000),
    maxExportBatchSize: Math.min(maxQueueSize, num('MAX_EXPORT_BATCH_SIZE', 512)),
    exportTimeoutMillis: num('EXPORT_TIMEOUT', 30_000),
  };
}

/** Items handed to a batch processor and not yet exported: the bound our wrappers enforce. */
class Pending {
  count = 0;
  readonly max: number;
  constructor(max: number) {
    this.max = max;
  }

  /** Takes one more item, or counts it as dropped (`queue_full`) when the queue is full. */
  admit(signal: Signal, o: OtelOptions): boolean {
    if (this.count >= this.max) {
      o.onDropped(signal, 'queue_full', 1);
      return false;
    }
    this.count++;
    return true;
  }
}

function countingCallback(signal: Signal, n: number, pending: Pending, o: OtelOptions, done: (r: ExportResult) => void): (r: ExportResult) => void {
  return (r) => {
    pending.count = Math.max(0, pending.count - n);
    if (r.code === ExportResultCode.SUCCESS) o.onExported(signal, n);
    else o.onDropped(signal, 'export_failed', n);
    done(r);
  };
}

/** Counts what its exporter delivers or loses. */
function countingSpanExporter(inner: SpanExporter, pending: Pending, o: OtelOptions): SpanExporter {
  return {
    export: (spans: ReadableSpan[], done: (r: ExportResult) => void) => { inner.export(spans, countingCallback('traces', spans.length, pending, o, done)); },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

function countingLogExporter(inner: LogRecordExporter, pending: Pending, o: OtelOptions): LogRecordExporter {
  return {
    export: (logs: ReadableLogRecord[], done: (r: ExportResult) => void) => { inner.export(logs, countingCallback('logs', logs.length, pending, o, done)); },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

/** Drops (and counts) what would overflow the batch processor's queue, before it gets there. */
class BoundedSpanProcessor implements SpanProcessor {
  private readonly inner: SpanProcessor;
  private readonly pending: Pending;
  private readonly o: OtelOptions;
  constructor(inner: SpanProcessor, pending: Pending, o: OtelOptions) {
    this.inner = inner;
    this.pending = pending;
    this.o = o;
  }
  onStart(span: SdkSpan, parent: Context): void { this.inner.onStart(span, parent); }
  onEnd(span: ReadableSpan): void {
    if (this.pending.admit('traces', this.o)) this.inner.onEnd(span);
  }
  forceFlush(): Promise<void> { return this.inner.forceFlush(); }
  shutdown(): Promise<void> { return this.inner.shutdown(); }
}

class BoundedLogProcessor implements LogRecordProcessor {
  private readonly inner: LogRecordProcessor;
  private readonly pending: Pending;
  private readonly o: OtelOptions;
  constructor(inner: LogRecordProcessor, pending: Pending, o: OtelOptions) {
    this.inner = inner;
    this.pending = pending;
    this.o = o;
  }
  onEmit(record: ReadWriteLogRecord, ctx?: Context): void {
    if (this.pending.admit('logs', this.o)) this.inner.onEmit(record, ctx);
  }
  forceFlush(): Promise<void> { return this.inner.forceFlush(); }
  shutdown(): Promise<void> { return this.inner.shutdown(); }
}

const KINDS = { internal: SpanKind.INTERNAL, server: SpanKind.SERVER, client: SpanKind.CLIENT } as const;

function otelTracer(provider: BasicTracerProvider, directives: LogDirectives, scope: { name: string; version: string }): Tracer {
  const tracer = provider.getTracer(scope.name, scope.version);
  return {
    inSpan<T>(name: string, opts: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
      if (!enabled(directives, opts.target, opts.level)) return fn(NOOP_SPAN);
      return tracer.startActiveSpan(name, { kind: KINDS[opts.kind ?? 'internal'], attributes: attributes(opts.attributes) }, async (s) => {
        const span: Span = {
          setAttributes: (a) => { s.setAttributes(attributes(a)); },
          fail: (message) => { s.setStatus({ code: SpanStatusCode.ERROR, message }); },
        };
        try {
          return await fn(span);
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          s.recordException(e instanceof Error ? e : message);
          s.setStatus({ code: SpanStatusCode.ERROR, message });
          throw e;
        } finally {
          s.end();
        }
      });
    },
  };
}

const SEVERITY: Record<number, [SeverityNumber, string]> = {
  10: [SeverityNumber.TRACE, 'TRACE'], 20: [SeverityNumber.DEBUG, 'DEBUG'], 30: [SeverityNumber.INFO, 'INFO'],
  40: [SeverityNumber.WARN, 'WARN'], 50: [SeverityNumber.ERROR, 'ERROR'], 60: [SeverityNumber.FATAL, 'FATAL'],
};

function logAttributes(fields: Record<string, unknown>, prefix = ''): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[prefix + k] = v;
    else if (v !== undefined) out[prefix + k] = JSON.stringify(v);
  }
  return out;
}

/** pino lines → OTLP log records, in the context of the span that is active as the line is written. */
function otelLogDestination(provider: LoggerProvider, directives: LogDirectives, version: string): LogDestination {
  return {
    directives,
    stream: {
      write(line: string): boolean {
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return true;
        }
        const { level, time, target, msg, span, ...fields } = record;
        const [severityNumber, severityText] = SEVERITY[typeof level === 'number' ? level : 30] ?? [SeverityNumber.INFO, 'INFO'];
        const scope = typeof target === 'string' ? target : 'listener_operator';
        provider.getLogger(scope, version).emit({
          severityNumber, severityText, body: typeof msg === 'string' ? msg : '',
          timestamp: typeof time === 'number' ? time : Date.now(),
          attributes: { target: scope, ...logAttributes(fields), ...(typeof span === 'object' && span !== null ? logAttributes(span as Record<string, unknown>, 'span.') : {}) },
          context: context.active(),
        });
        return true;
      },
    },
  };
}

async function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => { timer = setTimeout(r, ms); })]);
  clearTimeout(timer);
}

/** Starts the providers that are enabled; the caller holds on to the handle and shuts it down. */
export function startOtel(o: OtelOptions): Otel {
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: o.serviceName, [ATTR_SERVICE_VERSION]: o.serviceVersion });
  const scope = { name: o.serviceName, version: o.serviceVersion };
  let tracerProvider: BasicTracerProvider | undefined;
  let loggerProvider: LoggerProvider | undefined;
  // Parent/child links follow async calls (AsyncLocalStorage), in traces and in logs' trace ids.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  if (o.traces !== undefined) {
    const settings = batchSettings(o.env, 'OTEL_BSP');
    const pending = new Pending(settings.maxQueueSize);
    const exporter = countingSpanExporter(new OTLPTraceExporter(), pending, o);
    const batch = new BatchSpanProcessor(exporter, settings);
    tracerProvider = new BasicTracerProvider({ resource, spanProcessors: [new BoundedSpanProcessor(batch, pending, o)] });
    trace.setGlobalTracerProvider(tracerProvider);
  }
  if (o.logs !== undefined) {
    const settings = batchSettings(o.env, 'OTEL_BLRP');
    const pending = new Pending(settings.maxQueueSize);
    const exporter = countingLogExporter(new OTLPLogExporter(), pending, o);
    const batch = new BatchLogRecordProcessor({ exporter, ...settings });
    loggerProvider = new LoggerProvider({ resource, processors: [new BoundedLogProcessor(batch, pending, o)] });
  }
  return {
    tracer: tracerProvider === undefined || o.traces === undefined ? { inSpan: (_n, _o, fn) => fn(NOOP_SPAN) } : otelTracer(tracerProvider, o.traces.directives, scope),
    logs: loggerProvider === undefined || o.logs === undefined ? undefined : otelLogDestination(loggerProvider, o.logs.directives, o.serviceVersion),
    flush: async (timeoutMs) => {
      await Promise.all([
        tracerProvider === undefined ? undefined : bounded(tracerProvider.forceFlush(), timeoutMs),
        loggerProvider === undefined ? undefined : bounded(loggerProvider.forceFlush(), timeoutMs),
      ]);
    },
    shutdown: async (timeoutMs) => {
      await Promise.all([
        tracerProvider === undefined ? undefined : bounded(tracerProvider.shutdown(), timeoutMs),
        loggerProvider === undefined ? undefined : bounded(loggerProvider.shutdown(), timeoutMs),
      ]);
    },
  };
}
