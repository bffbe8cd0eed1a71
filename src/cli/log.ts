// Structured logging (pino). Every component logs through a child logger bound to its target
// (log-directives.ts: `listener_operator::csi`, ...), at the level the directives give that target,
// so `CONSOLE_LOG_LEVEL=info,listener_operator::csi=debug` works as upstream's tracing filter does.
// `json` writes one JSON object per line; `plain` writes `<time> <LEVEL> <target>: <message>
// key=value ...` for people reading a terminal, as upstream's plain format does.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { levelFor, type LogDirectives, type LogLevelName, type LogTarget } from './log-directives.ts';

export const LOG_FORMATS = ['plain', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogLevel = Exclude<LogLevelName, 'off'>;
export type { Logger, LogTarget };

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function plainLine(json: string): string {
  const { time, level, msg, target, ...rest } = JSON.parse(json) as Record<string, unknown>;
  const when = typeof time === 'number' ? new Date(time).toISOString() : '';
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${JSON.stringify(v) ?? ''}`)
    .join(' ');
  const lvl = typeof level === 'number' ? (LEVEL_NAMES[level] ?? String(level)) : '';
  const where = typeof target === 'string' ? `${target}: ` : '';
  return `${when} ${lvl.padEnd(5)} ${where}${typeof msg === 'string' ? msg : ''}${fields === '' ? '' : ` ${fields}`}\n`;
}

function pinoLevel(level: LogLevelName): string {
  return level === 'off' ? 'silent' : level;
}

/** A root logger writing to `out` (default stderr) at one level. */
export function createLogger(level: LogLevelName, format: LogFormat, out: NodeJS.WritableStream = process.stderr): Logger {
  if (format === 'json') return pino({ level: pinoLevel(level), base: undefined }, out);
  const plain = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') out.write(plainLine(line));
      cb();
    },
  });
  return pino({ level: pinoLevel(level), base: undefined }, plain);
}

/** Hands each component its logger: bound to its target, at the level the directives give it. */
export class Logs {
  private readonly root: Logger;
  private readonly directives: LogDirectives;

  constructor(root: Logger, directives: LogDirectives) {
    this.root = root;
    this.directives = directives;
  }

  /** Console logs as configured (`enabled: false` writes nothing). */
  static console(c: { enabled: boolean; format: LogFormat; directives: LogDirectives }, out: NodeJS.WritableStream = process.stderr): Logs {
    const directives = c.enabled ? c.directives : { defaultLevel: 'off' as const, targets: new Map<string, LogLevelName>() };
    return new Logs(createLogger('trace', c.format, out), directives);
  }

  for(target: LogTarget): Logger {
    return this.root.child({ target }, { level: pinoLevel(levelFor(this.directives, target)) });
  }
}
