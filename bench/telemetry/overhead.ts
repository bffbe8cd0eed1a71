// `node bench/telemetry/overhead.ts [--runs 5]`: what telemetry costs at start. Starts a local
// control plane and, alternating, `run controller` (from src/, as the tests run it) with
//   off  : console logs only (the default),
//   file : + rolling JSON log files,
//   otlp : + OTLP traces and logs to a real collector (tools/otelcol),
// and measures each start: time from spawn to /readyz 200, resident size (VmRSS) at that moment
// and 5 s later, and how many OpenTelemetry modules the process loaded (bench/telemetry/otel-imports.ts):
// the SDK and exporters apart from @opentelemetry/api, which prom-client loads in every mode.
// Prints a Markdown table (docs/benchmark.md, "Telemetry").
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { parseArgs } from 'node:util';
import { freePort, startCluster } from '../../test/support/cluster.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { installCrds } from '../../test/support/operator.ts';
import { startCollector } from '../../test/support/otelcol.ts';
import { MAIN, SHARED_PLANE_ENV } from '../../test/support/operator-process.ts';

const HOOK = path.join(import.meta.dirname, 'otel-imports.ts');
type Mode = 'off' | 'file' | 'otlp';

interface Run { mode: Mode; readyMs: number; rssReady: number; rssLater: number; otelModules: number; apiModules: number }

async function rssMiB(pid: number): Promise<number> {
  const kb = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

async function once(mode: Mode, env: Record<string, string>): Promise<Run> {
  const port = await freePort();
  const socketDir = await mkdtemp(path.join(tmpdir(), 'bt-'));
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', HOOK, MAIN, 'run', 'controller', '--listener-class-preset=none', '--watch-namespace=bench-telemetry', `--http-address=127.0.0.1:${port}`], {
    env: { PATH: process.env.PATH ?? '', ...SHARED_PLANE_ENV, CSI_ENDPOINT: `unix://${path.join(socketDir, 'csi.sock')}`, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  try {
    let readyMs: number | undefined;
    while (readyMs === undefined) {
      if (child.exitCode !== null) throw new Error(`${mode}: the operator exited (${child.exitCode}): ${stderr.slice(-2000)}`);
      if (performance.now() - started > 60_000) throw new Error(`${mode}: not ready within 60 s: ${stderr.slice(-2000)}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
      if (ok) readyMs = performance.now() - started;
      else await new Promise((r) => setTimeout(r, 10));
    }
    const pid = child.pid ?? 0;
    const rssReady = await rssMiB(pid);
    await new Promise((r) => setTimeout(r, 5000));
    const rssLater = await rssMiB(pid);
    // @opentelemetry/api (no SDK) is loaded by prom-client in every mode (its exemplars); the
    // SDK, exporters and gRPC transport are what the exporters add.
    const modules = [...new Set(stderr.split('\n').filter((l) => l.startsWith('otel-module-loaded ')))];
    const api = modules.filter((m) => m.includes('/@opentelemetry/api/')).length;
    return { mode, readyMs, rssReady, rssLater, otelModules: modules.length - api, apiModules: api };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(socketDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  const cleanups: (() => Promise<void> | void)[] = [];
  const t = { after: (fn: () => Promise<void> | void) => { cleanups.push(fn); } } as unknown as TestContext;
  const cluster = await startCluster({ scheduler: false, controllerManager: false, log: (l) => { process.stderr.write(`${l}\n`); } });
  const logs = await mkdtemp(path.join(tmpdir(), 'bench-telemetry-'));
  try {
    const client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
    await installCrds(client);
    client.close();
    const collector = await startCollector(t);
    const envs: Record<Mode, Record<string, string>> = {
      off: { KUBECONFIG: cluster.kubeconfig },
      file: { KUBECONFIG: cluster.kubeconfig, FILE_LOG_DIRECTORY: logs, FILE_LOG_ROTATION_PERIOD: 'hourly', FILE_LOG_MAX_FILES: '6' },
      otlp: { KUBECONFIG: cluster.kubeconfig, OTEL_TRACE_EXPORTER_ENABLED: 'true', OTEL_LOG_EXPORTER_ENABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint },
    };
    const results: Run[] = [];
    for (let i = 0; i < runs; i++) {
      for (const mode of ['off', 'file', 'otlp'] as const) {
        const r = await once(mode, envs[mode]);
        process.stderr.write(`run ${i + 1} ${mode}: ready ${r.readyMs.toFixed(0)} ms, RSS ${r.rssReady.toFixed(1)} → ${r.rssLater.toFixed(1)} MiB, OpenTelemetry SDK modules ${r.otelModules} (API modules ${r.apiModules})\n`);
        results.push(r);
      }
    }
    const row = (mode: Mode): string => {
      const rs = results.filter((r) => r.mode === mode);
      const f = (xs: number[], d = 1): string => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
      return `| ${mode} | ${f(rs.map((r) => r.readyMs), 0)} | ${f(rs.map((r) => r.rssReady))} | ${f(rs.map((r) => r.rssLater))} | ${median(rs.map((r) => r.otelModules))} | ${median(rs.map((r) => r.apiModules))} |`;
    };
    process.stdout.write(`${runs} starts each, median (min–max):\n\n| telemetry | start to /readyz (ms) | RSS at ready (MiB) | RSS 5 s later (MiB) | OpenTelemetry SDK/exporter modules loaded | @opentelemetry/api modules loaded (by prom-client) |\n|---|---|---|---|---|---|\n${row('off')}\n${row('file')}\n${row('otlp')}\n`);
  } finally {
    for (const c of cleanups.reverse()) await c();
    await rm(logs, { recursive: true, force: true });
    await cluster.stop();
  }
}

await main();
