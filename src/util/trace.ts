// The tracing the rest of the code sees: spans around a reconcile, a CSI call and an API request.
// With the OTLP trace exporter off (the default) this is the no-op below and the OpenTelemetry SDK
// is never loaded (src/cli/telemetry/otel.ts is imported only when it is on). Spans started inside
// `inSpan`'s callback, however deep in async calls, are its children.

export type SpanValue = string | number | boolean;
export type SpanAttributes = Record<string, SpanValue | undefined>;
export type SpanLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface Span {
  setAttributes(attributes: SpanAttributes): void;
  /** Marks the span as failed (OpenTelemetry status ERROR) with a message. */
  fail(message: string): void;
}

export interface SpanOptions {
  /** The log target whose OTEL_TRACE_EXPORTER_LEVEL directive decides whether the span is kept. */
  target: string;
  level: SpanLevel;
  kind?: 'internal' | 'server' | 'client';
  attributes?: SpanAttributes;
}

export interface Tracer {
  /** Runs `fn` inside a span, ended when `fn` settles; a throw also marks it failed and is rethrown. */
  inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T>;
}

export const NOOP_SPAN: Span = { setAttributes: () => undefined, fail: () => undefined };

export const NOOP_TRACER: Tracer = { inSpan: (_name, _options, fn) => fn(NOOP_SPAN) };
