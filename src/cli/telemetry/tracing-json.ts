// One log line in the JSON layout of tracing-subscriber's `fmt::layer().json()`, which upstream
// writes to its rolling log files (and to the console with CONSOLE_LOG_FORMAT=json), so that a
// Vector or Fluent Bit pipeline written for Stackable operators parses ours unchanged:
//
//   {"timestamp":"2026-12-01T01:39:14.123000Z","level":"INFO",
//    "fields":{"message":"RPC succeeded","ms":1.5},"target":"listener_operator::csi",
//    "span":{"name":"Node.NodePublishVolume","volume_id":"pvc-1"},"spans":[{...the same...}]}
//
// The input is a pino line. A logger bound to a span (a child logger with a `span` binding, see
// log.ts: `spanLogger`) gives the `span` and `spans` keys, as tracing does inside a span; without
// one they are left out, as tracing leaves them out outside any span. tracing records field values
// as strings, numbers or booleans; anything else is written as its JSON text.

import { isRecord } from '../../util/is-record.ts';

export type TracingLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type FieldValue = string | number | boolean;

export interface TracingLine {
  timestamp: string;
  level: TracingLevel;
  fields: Record<string, FieldValue>;
  target: string;
  span?: Record<string, FieldValue>;
  spans?: Record<string, FieldValue>[];
}

/** pino's numeric levels; 60 (fatal) has no tracing level and is written as ERROR. */
export function tracingLevel(pinoLevel: number): TracingLevel {
  if (pinoLevel >= 50) return 'ERROR';
  if (pinoLevel >= 40) return 'WARN';
  if (pinoLevel >= 30) return 'INFO';
  if (pinoLevel >= 20) return 'DEBUG';
  return 'TRACE';
}

/** RFC 3339 in UTC with microseconds, as tracing-subscriber's default timer writes it. */
export function tracingTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function fieldValue(v: unknown): FieldValue {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return JSON.stringify(v) ?? String(v);
}

function fieldsOf(o: Record<string, unknown>): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = fieldValue(v);
  return out;
}

/** Converts one parsed pino record (`{level, time, target, msg, span?, ...fields}`). */
export function toTracingLine(record: Record<string, unknown>): TracingLine {
  const { level, time, target, msg, span, ...rest } = record;
  const line: TracingLine = {
    timestamp: tracingTimestamp(typeof time === 'number' ? time : Date.now()),
    level: tracingLevel(typeof level === 'number' ? level : 30),
    fields: { message: typeof msg === 'string' ? msg : '', ...fieldsOf(rest) },
    target: typeof target === 'string' ? target : 'listener_operator',
  };
  if (isRecord(span)) {
    const s = fieldsOf(span);
    line.span = s;
    line.spans = [s];
  }
  return line;
}

/** The tracing-subscriber JSON text of one pino line (without the newline); unparsable text passes as a message. */
export function tracingJson(pinoLine: string): string {
  let record: unknown;
  try {
    record = JSON.parse(pinoLine);
  } catch {
    record = { msg: pinoLine };
  }
  return JSON.stringify(toTracingLine(isRecord(record) ? record : { msg: String(record) }));
}
