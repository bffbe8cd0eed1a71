// The operator binary as a child process (`node src/main.ts <args>`), for tests that need the real
// command line, environment and lifecycle: its combined log, waits on what it logs, and a bounded
// stop (SIGTERM, then SIGKILL after 15 s).
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from 'node:test';

export const MAIN = path.join(import.meta.dirname, '..', '..', 'src', 'main.ts');

/**
 * What a controller on the shared control plane needs besides its own settings: no CRD
 * maintenance and no webhook (the shared CRDs are installed by the tests, a webhook of one test
 * file must not be what another file's CRDs point at, and two controllers must not compete for
 * port 8443), and a cluster domain (there is no kubelet to ask).
 */
export const SHARED_PLANE_ENV = { DISABLE_CRD_MAINTENANCE: 'true', WEBHOOK_ADDRESS: '', KUBERNETES_CLUSTER_DOMAIN: 'cluster.local' } as const;

export interface OperatorProcess {
  log(): string;
  exited: Promise<number | null>;
  /** Waits until the log matches `re`; returns the match. */
  waitLog(re: RegExp, what: string, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(): Promise<number | null>;
  /** Sends a signal (SIGKILL: a crash) and resolves with the exit code once it has exited. */
  kill(signal: NodeJS.Signals): Promise<number | null>;
  readonly pid: number | undefined;
  /** Whether it is still running. */
  running(): boolean;
}

export function spawnOperator(t: TestContext | undefined, args: string[], env: Record<string, string>): OperatorProcess {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => { log += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
  const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code); }); });
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, 15_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  t?.after(async () => { await stop(); });
  return {
    log: () => log,
    exited,
    waitLog: async (re, what, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(log);
        if (m !== null) return m;
        // An exit ends the wait at once, with what the process said.
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`waiting for ${what}: the operator exited (${child.exitCode ?? child.signalCode}):\n${log.slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${log.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    pid: child.pid,
    running: () => child.exitCode === null && child.signalCode === null,
  };
}
