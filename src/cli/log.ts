// Structured logging (pino). Every component logs through a logger bound to its target
// (log-directives.ts: `listener_operator::csi`, ...). A line goes to every destination whose
// directives let that target's level through, each with its own directives, as upstream's tracing
// layers each have their own filter: the console (CONSOLE_LOG_LEVEL), the rolling files
// (FILE_LOG_LEVEL) and the OTLP log exporter (OTEL_LOG_EXPORTER_LEVEL). One pino logger per target
// writes to a multistream of those destinations, each at the level its directives give the
// target, so a line nobody wants is never even serialised.
//
// Console formats, as upstream's: `plain` writes `<time> <LEVEL> <span>{k=v}: <target>: <message>
// key=value ...` for people reading a terminal; `json` writes tracing-subscriber's JSON layout
// (telemetry/tracing-json.ts), the same as the log files.
import { Writable } from 'node:stream';
import { multistream, pino, type Logger, type StreamEntry } from 'pino';
import { levelFor, LOG_LEVEL_NAMES, type LogDirectives, type LogLevelName, type LogTarget } from './log-directives.ts';
import { tracingJson, tracingLevel } from './telemetry/tracing-json.ts';

export const LOG_FORMATS = ['plain', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogLevel = Exclude<LogLevelName, 'off'>;
export type { Logger, LogTarget };

/** Somewhere log lines go: pino's JSON lines, filtered per target by `directives`. */
export interface LogDestination {
  readonly directives: LogDirectives;
  readonly stream: { write(line: string): unknown };
}

function kv(o: Record<string, unknown>): string {
  return Object.entries(o).map(([k, v]) => `${k}=${typeof v === 'string' ? v : (JSON.stringify(v) ?? '')}`).join(' ');
}

function plainLine(json: string): string {
  const { time, level, msg, target, span, ...rest } = JSON.parse(json) as Record<string, unknown>;
  const when = typeof time === 'number' ? new Date(time).toISOString() : '';
  const lvl = typeof level === 'number' ? tracingLevel(level) : '';
  let where = '';
  if (typeof span === 'object' && span !== null) {
    const { name, ...spanFields } = span as Record<string, unknown>;
    where = `${typeof name === 'string' ? name : 'span'}{${kv(spanFields)}}: `;
  }
  if (typeof target === 'string') where += `${target}: `;
  const fields = kv(rest);
  return `${when} ${lvl.padStart(5)} ${where}${typeof msg === 'string' ? msg : ''}${fields === '' ? '' : ` ${fields}`}\n`;
}

/** A stream that writes each pino line in `format` to `out`. */
export function formattedStream(format: LogFormat, out: NodeJS.WritableStream): Writable {
  const line = format === 'json' ? (l: string): string => `${tracingJson(l)}\n` : plainLine;
  return new Writable({
    write(chunk: Buffer, _enc, cb): void {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') out.write(line(l));
      cb();
    },
  });
}

function pinoLevel(level: LogLevelName): string {
  return level === 'off' ? 'silent' : level;
}

/** A root logger writing to `out` (default stderr) at one level (tests and tools). */
export function createLogger(level: LogLevelName, format: LogFormat, out: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level: pinoLevel(level), base: undefined }, formattedStream(format, out));
}

/** A logger whose lines carry the span `name` and its fields (tracing's `span`, see tracing-json.ts). */
export function spanLogger(log: Logger, name: string, fields: Record<string, string | number | boolean>): Logger {
  return log.child({ span: { ...fields, name } });
}

/** The console destination as configured (none when CONSOLE_LOG_DISABLED). */
export function consoleDestination(c: { enabled: boolean; format: LogFormat; directives: LogDirectives }, out: NodeJS.WritableStream = process.stderr): LogDestination | undefined {
  return c.enabled ? { directives: c.directives, stream: formattedStream(c.format, out) } : undefined;
}

const SEVERITY = LOG_LEVEL_NAMES.filter((l): l is LogLevel => l !== 'off');

/** Hands each component its logger: bound to its target, writing to every destination that wants it. */
export class Logs {
  private readonly destinations: readonly LogDestination[];
  private readonly loggers = new Map<string, Logger>();

  constructor(destinations: readonly (LogDestination | undefined)[]) {
    this.destinations = destinations.filter((d) => d !== undefined);
  }

  /** Console logs only, as configured (`enabled: false` writes nothing). */
  static console(c: { enabled: boolean; format: LogFormat; directives: LogDirectives }, out: NodeJS.WritableStream = process.stderr): Logs {
    return new Logs([consoleDestination(c, out)]);
  }

  for(target: LogTarget): Logger {
    let log = this.loggers.get(target);
    if (log === undefined) {
      log = this.build(target);
      this.loggers.set(target, log);
    }
    return log;
  }

  private build(target: LogTarget): Logger {
    const entries: StreamEntry[] = [];
    let lowest: LogLevel | undefined;
    for (const d of this.destinations) {
      const level = levelFor(d.directives, target);
      if (level === 'off') continue;
      entries.push({ level, stream: d.stream });
      if (lowest === undefined || SEVERITY.indexOf(level) < SEVERITY.indexOf(lowest)) lowest = level;
    }
    if (lowest === undefined) return pino({ level: 'silent', base: { target } });
    return pino({ level: lowest, base: { target } }, multistream(entries));
  }
}
