// The operator under test as a child process, started by an overridable command line with the
// CLI/environment contract every listener operator shares (KUBECONFIG, CSI_ENDPOINT,
// HTTP_ADDRESS, ...). It runs under test/support/guard.sh, so it stops with the benchmark even if
// the benchmark is killed. Its /metrics and /readyz are read over loopback HTTP when it serves
// them; an operator that serves no HTTP (upstream's, or ours with `--http-address ''`) is ready
// when its CSI socket accepts connections, and its memory is read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { parseProm, type Sample } from './prom.ts';
import { scrapeText } from './requests.ts';

const GUARD = path.join(import.meta.dirname, '..', '..', 'test', 'support', 'guard.sh');

const TOKEN = /"((?:[^"\\]|\\.)*)"|'([^']*)'|((?:[^\s"'\\]|\\.)+)|(\s+)/gy;

/** Splits a command line like a POSIX shell does for simple cases: whitespace, quotes, backslash. */
export function splitCommand(cmd: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let pos = 0;
  for (const m of cmd.matchAll(TOKEN)) {
    pos = m.index + m[0].length;
    if (m[4] !== undefined) {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
      continue;
    }
    const part = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2] ?? (m[3] ?? '').replace(/\\(.)/g, '$1');
    cur = (cur ?? '') + part;
  }
  if (pos !== cmd.length) throw new Error(`cannot parse the command (unbalanced quotes?): ${cmd}`);
  if (cur !== undefined) out.push(cur);
  return out;
}

/** Adds node's --cpu-prof flags when the command starts node; otherwise returns it unchanged. */
export function withCpuProfile(argv: string[], dir: string, name: string): { argv: string[]; profiled: boolean } {
  const [first, ...rest] = argv;
  if (first === undefined || !/^node(\.exe)?$/.test(path.basename(first))) return { argv, profiled: false };
  return { argv: [first, '--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.cpuprofile`, ...rest], profiled: true };
}

export interface ProcessMetrics {
  samples: Sample[];
  at: number;
}

export class OperatorProcess {
  readonly name: string;
  readonly httpPort: number;
  /** Path of the Unix socket given as CSI_ENDPOINT. */
  readonly csiSocket: string;
  readonly startedAt: number;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  /** Whether its HTTP endpoint has answered (any status) at least once: then readiness is /readyz only. */
  private httpSeen = false;

  private constructor(name: string, child: ChildProcess, httpPort: number, csiSocket: string) {
    this.name = name;
    this.child = child;
    this.httpPort = httpPort;
    this.csiSocket = csiSocket;
    this.startedAt = performance.now();
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => { this.exitCode = code; live.delete(this); resolve(code); });
    });
    live.add(this);
  }

  static async start(o: { name: string; argv: string[]; env: Record<string, string>; cwd: string; logFile: string; httpPort: number; csiSocket: string }): Promise<OperatorProcess> {
    const fh = await open(o.logFile, 'a');
    const child = spawn(GUARD, o.argv, {
      cwd: o.cwd,
      env: { ...process.env, ...o.env },
      detached: true, // own process group: stop() can always end the whole tree
      stdio: ['pipe', fh.fd, fh.fd],
    });
    await fh.close();
    return new OperatorProcess(o.name, child, o.httpPort, o.csiSocket);
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  describeExit(): string {
    return this.exitCode === undefined ? 'running' : `exited with code ${String(this.exitCode)}`;
  }

  /** The process the command started (guard.sh's child), for /proc readings. */
  async commandPid(): Promise<number | undefined> {
    const pid = this.child.pid;
    if (pid === undefined) return undefined;
    try {
      const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
      return children.find((c) => Number.isInteger(c) && c > 0);
    } catch {
      return undefined;
    }
  }

  /** Peak resident set (VmHWM) of the command's process, in bytes, from /proc. */
  async peakRssBytes(): Promise<number | undefined> {
    return this.procStatus('VmHWM');
  }

  /** Resident set (VmRSS) now, from /proc: the memory reading of an operator without /metrics. */
  async rssBytes(): Promise<number | undefined> {
    return this.procStatus('VmRSS');
  }

  private async procStatus(field: string): Promise<number | undefined> {
    const pid = await this.commandPid();
    if (pid === undefined) return undefined;
    try {
      const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(await readFile(`/proc/${pid}/status`, 'utf8'));
      return m === null ? undefined : Number(m[1]) * 1024;
    } catch {
      return undefined;
    }
  }

  async metrics(): Promise<ProcessMetrics> {
    const text = await scrapeText(`http://127.0.0.1:${this.httpPort}/metrics`, undefined, 5000);
    this.httpSeen = true;
    return { samples: parseProm(text), at: performance.now() };
  }

  /**
   * Ready: /readyz answers 200. An operator whose HTTP endpoint has never answered (none is served)
   * is ready once its CSI socket accepts a connection.
   */
  async isReady(): Promise<boolean> {
    const r = await httpStatus(`http://127.0.0.1:${this.httpPort}/readyz`, 2000);
    if (r !== undefined) this.httpSeen = true;
    if (r === 200) return true;
    if (this.httpSeen) return false;
    return socketAccepts(this.csiSocket, 2000);
  }

  /** Polls /readyz until it answers 200; rejects if the process exits or the time is up. */
  async waitReady(timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} ${this.describeExit()} before it was ready`);
      if (await this.isReady()) return performance.now();
      await sleep(50);
    }
    throw new Error(`${this.name} not ready after ${timeoutMs / 1000} s`);
  }

  /** SIGKILL of the whole process group, at once. */
  killNow(): void {
    killGroup(this.child);
  }

  /** SIGTERM through guard.sh (closing its stdin), then SIGKILL of the group after `graceMs`. */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.stdin?.end();
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => { resolve('timeout'); }, graceMs).unref());
    if ((await Promise.race([this.exited, timer])) === 'timeout') killGroup(this.child);
    return this.exited;
  }
}

const live = new Set<OperatorProcess>();

function killGroup(child: ChildProcess): void {
  try { if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
}

// guard.sh stops the command when this process dies; on a normal exit also kill synchronously.
process.on('exit', () => {
  for (const p of live) p.killNow();
});

/** The HTTP status of a GET, or undefined when nothing answers (refused, reset, timed out). */
function httpStatus(url: string, timeoutMs: number): Promise<number | undefined> {
  return scrapeText(url, undefined, timeoutMs).then(() => 200, (e: unknown) => {
    const m = /: HTTP (\d+):/.exec(e instanceof Error ? e.message : '');
    return m === null ? undefined : Number(m[1]);
  });
}

/** Whether a Unix socket accepts a connection within `timeoutMs`. */
export function socketAccepts(file: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(file);
    const done = (ok: boolean): void => { clearTimeout(timer); s.destroy(); resolve(ok); };
    const timer = setTimeout(() => { done(false); }, timeoutMs);
    s.once('connect', () => { done(true); });
    s.once('error', () => { done(false); });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
