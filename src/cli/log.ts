// Structured logging (pino). `json` writes one JSON object per line; `plain` writes
// `<time> <LEVEL> <message> key=value ...` for people reading a terminal.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export type LogFormat = 'plain' | 'json';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type { Logger };

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function plainLine(json: string): string {
  const { time, level, msg, ...rest } = JSON.parse(json) as Record<string, unknown>;
  const when = typeof time === 'number' ? new Date(time).toISOString() : '';
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? ''}`)
    .join(' ');
  const lvl = typeof level === 'number' ? (LEVEL_NAMES[level] ?? String(level)) : '';
  return `${when} ${lvl.padEnd(5)} ${typeof msg === 'string' ? msg : ''}${fields === '' ? '' : ` ${fields}`}\n`;
}

export function createLogger(level: LogLevel, format: LogFormat, out: NodeJS.WritableStream = process.stderr): Logger {
  if (format === 'json') return pino({ level, base: undefined }, out);
  const plain = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') out.write(plainLine(line));
      cb();
    },
  });
  return pino({ level, base: undefined }, plain);
}
