// Rolling JSON log files, as upstream writes them with tracing-appender's RollingFileAppender:
// `<prefix>.<date>.tracing-rs.json` in FILE_LOG_DIRECTORY, the date in UTC at the precision of the
// rotation period (minutely `2026-12-01-01-39`, hourly `2026-12-01-01`, daily `2026-12-01`; never:
// `<prefix>.tracing-rs.json`), one tracing-subscriber JSON object per line (tracing-json.ts), at
// most FILE_LOG_MAX_FILES files kept (the current one included, as tracing-appender counts).
//
// The files are written by rotating-file-stream in its `immutable` mode: it never renames a file,
// it opens the file our generator names for the current period (appending to it when it exists,
// as tracing-appender does after a restart) and switches at each period boundary (UTC). It keeps
// the names of the files it closed in a small history file next to them (hidden, so that a
// `*.tracing-rs.json` glob does not see it) and deletes the oldest beyond the limit.
//
// Logging must never stop the operator: an unwritable directory or a full disk is reported once
// on the console, lines are dropped (and counted) while it lasts, and the file is reopened every
// `retryMs` until it works again. A file system that stalls cannot grow memory without bound
// either: beyond `maxBufferedBytes` waiting to be written, lines are dropped.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import type { RotationPeriod } from '../config.ts';
import { tracingJson } from './tracing-json.ts';

/**
 * Upstream's package name, which its log files and its OTLP `service.name` carry: a log pipeline
 * or a dashboard written for upstream's operator selects ours with the same name.
 */
export const FILE_LOG_PREFIX = 'stackable-listener-operator';
/** tracing-appender's suffix in upstream (stackable-telemetry's FILE_LOG_SUFFIX). */
export const FILE_LOG_SUFFIX = 'tracing-rs.json';

const INTERVALS: Record<Exclude<RotationPeriod, 'never'>, '1m' | '1h' | '1d'> = { minutely: '1m', hourly: '1h', daily: '1d' };

const pad = (n: number): string => String(n).padStart(2, '0');

/** The file name tracing-appender gives the period that contains `at`. */
export function rollingFileName(rotation: RotationPeriod, at: Date, prefix = FILE_LOG_PREFIX): string {
  const day = `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}`;
  const date = {
    minutely: `${day}-${pad(at.getUTCHours())}-${pad(at.getUTCMinutes())}`,
    hourly: `${day}-${pad(at.getUTCHours())}`,
    daily: day,
    never: undefined,
  }[rotation];
  return date === undefined ? `${prefix}.${FILE_LOG_SUFFIX}` : `${prefix}.${date}.${FILE_LOG_SUFFIX}`;
}

export interface FileLogOptions {
  directory: string;
  rotation: RotationPeriod;
  /** Files kept, the current one included; undefined keeps all (upstream's default). */
  maxFiles: number | undefined;
  /** The one console line of a failure (and of the recovery). */
  warn: (message: string, fields: Record<string, unknown>) => void;
  /** Called with every line dropped (metrics). */
  onDropped?: (lines: number) => void;
  /** Called when a file is opened (tests, and the recovery message). */
  onOpen?: (filename: string) => void;
  /** How long after a failure the file is opened again. Default 60 s. */
  retryMs?: number;
  /** Bytes waiting to be written beyond which lines are dropped. Default 8 MiB. */
  maxBufferedBytes?: number;
}

export class FileLog {
  private readonly o: FileLogOptions;
  private stream: RotatingFileStream | undefined;
  private failed = false;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  dropped = 0;

  constructor(o: FileLogOptions) {
    this.o = o;
    this.open();
  }

  /** Takes one pino line (pino calls this; it must not throw). */
  write(pinoLine: string): boolean {
    const s = this.stream;
    if (s === undefined || this.failed || s.writableLength > (this.o.maxBufferedBytes ?? 8 * 1024 * 1024)) {
      this.drop();
      return true;
    }
    s.write(`${tracingJson(pinoLine.trimEnd())}\n`);
    return true;
  }

  /** Writes what is buffered and closes the file (bounded by the caller). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const s = this.stream;
    this.stream = undefined;
    if (s === undefined || s.destroyed) return;
    await new Promise<void>((resolve) => {
      s.once('error', () => { resolve(); });
      s.end(() => { resolve(); });
    });
  }

  private drop(): void {
    this.dropped++;
    this.o.onDropped?.(1);
  }

  private open(): void {
    const { directory, rotation, maxFiles } = this.o;
    const keepClosed = maxFiles === undefined ? undefined : maxFiles - 1;
    const stream = createStream((time) => rollingFileName(rotation, time === null ? new Date() : new Date(time)), {
      path: `${directory.replace(/\/+$/, '')}/`,
      immutable: true,
      ...(rotation === 'never' ? {} : { interval: INTERVALS[rotation], intervalUTC: true }),
      // The library keeps at least one closed file; keeping none (FILE_LOG_MAX_FILES=1) is ours below.
      ...(rotation !== 'never' && keepClosed !== undefined && keepClosed > 0 ? { maxFiles: keepClosed, history: `.${FILE_LOG_PREFIX}.${FILE_LOG_SUFFIX}.history` } : {}),
    });
    this.stream = stream;
    stream.on('open', (filename) => {
      if (this.failed) this.o.warn('Writing log files works again', { directory, file: filename, droppedLines: this.dropped });
      this.failed = false;
      this.o.onOpen?.(filename);
    });
    if (keepClosed === 0) stream.on('rotated', (filename) => { void unlink(join(filename)).catch(() => undefined); });
    stream.on('error', (e) => { this.fail(stream, e); });
    stream.on('warning', () => undefined);
  }

  private fail(stream: RotatingFileStream, e: Error): void {
    if (stream !== this.stream || this.closed) return;
    if (!this.failed) {
      this.o.warn('Writing log files failed; file logs are dropped until it works again', {
        directory: this.o.directory, err: e.message, retryInMs: this.o.retryMs ?? 60_000,
      });
    }
    this.failed = true;
    stream.destroy();
    this.retry = setTimeout(() => { if (!this.closed) this.open(); }, this.o.retryMs ?? 60_000);
    this.retry.unref();
  }
}
