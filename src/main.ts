#!/usr/bin/env node
// listener-operator: `crd`, `run controller`, `run node`, `olm-deployer`. Parses the configuration once, then hands
// every component to one lifecycle (cli/manager.ts): started in order, stopped in reverse on
// SIGTERM/SIGINT, and any failure, at start or later, ends the process non-zero with one line.
import { hostname } from 'node:os';
import { parseArgs, type CommonConfig, type ControllerConfig, type NodeConfig } from './cli/config.ts';
import { readBuildInfo } from './cli/build-info.ts';
import { consoleDestination, Logs, type Logger } from './cli/log.ts';
import { Manager, type Component } from './cli/manager.ts';
import { createRegistry, csiMetrics, instrumentClient } from './cli/metrics.ts';
import { startTelemetry, type Telemetry } from './cli/telemetry/index.ts';
import type { Registry } from 'prom-client';
import { httpComponent } from './cli/components.ts';
import { KubeClient } from './k8s/client.ts';
import { runEndOfSupportCheck } from './maintenance/eos.ts';
import { VERSION } from './version.ts';

/** Bounded shutdown: inside the kubelet's default 30 s grace period, before its SIGKILL. */
const SHUTDOWN_GRACE_MS = 25_000;
/** How long the exporters may take to deliver what they hold at exit (inside that grace period). */
const TELEMETRY_FLUSH_MS = 3_000;

/** Resolves with the signal's name when SIGTERM or SIGINT arrives. */
function termination(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => { resolve('SIGTERM'); });
    process.once('SIGINT', () => { resolve('SIGINT'); });
  });
}

/** The values that decide what this process does, logged once at start. */
function startupFields(cfg: ControllerConfig | NodeConfig, builtAtMs: number | undefined): Record<string, unknown> {
  return {
    version: VERSION, mode: cfg.mode, builtAt: builtAtMs === undefined ? 'development build' : new Date(builtAtMs).toISOString(),
    node: cfg.nodeName, operatorNamespace: cfg.operatorNamespace, operatorServiceName: cfg.operatorServiceName,
    imageRepository: cfg.imageRepository, operatorImage: cfg.operatorImage, csiEndpoint: cfg.csiEndpoint, http: cfg.httpAddress,
    ...(cfg.mode === 'controller' ? {
      clusterDomain: cfg.clusterDomain ?? `(from the kubelet of ${cfg.nodeName ?? '?'})`, preset: cfg.preset,
      crdMaintenance: cfg.crdMaintenance, webhook: cfg.webhookAddress, leaderElect: cfg.leaderElect, watchNamespace: cfg.watchNamespace ?? '(all)',
    } : {}),
  };
}

function eosComponent(cfg: CommonConfig, builtAtMs: number | undefined, log: Logger): Component {
  return {
    name: 'end-of-support check',
    start: (signal) => Promise.resolve({
      done: runEndOfSupportCheck({ builtAtMs: builtAtMs ?? Date.now(), intervalMs: cfg.eos.intervalMs, log }, signal),
    }),
  };
}

/**
 * The exporters, first to start and last to stop: at the stop they deliver what they hold (bounded),
 * and keep working for the last lines; main() closes them (and the log files) at the very end.
 */
function telemetryComponent(telemetry: Telemetry): Component {
  return { name: 'telemetry', start: () => Promise.resolve({ stop: () => telemetry.flush(TELEMETRY_FLUSH_MS) }) };
}

interface RunDeps {
  logs: Logs;
  telemetry: Telemetry;
  registry: Registry;
  fatal: (line: string) => void;
}

async function run(cfg: ControllerConfig | NodeConfig, deps: RunDeps): Promise<number> {
  const { logs, telemetry, registry, fatal } = deps;
  const log = logs.for('listener_operator');
  const { builtAtMs } = readBuildInfo();
  const client = await KubeClient.fromKubeconfig(cfg.kubeconfig);
  instrumentClient(client, registry);
  client.useTracer(telemetry.tracer);
  log.info(startupFields(cfg, builtAtMs), `Starting listener-operator ${cfg.mode}`);
  const manager = new Manager({ graceMs: SHUTDOWN_GRACE_MS, fatal, info: (m, f) => { log.info(f ?? {}, m); } });
  manager.add(telemetryComponent(telemetry));
  const csiLog = logs.for('listener_operator::csi');
  // Each mode loads only its own modules (docs/benchmark.md, "Memory"): the node plugin never loads
  // the controller, its caches or the webhook; the controller never loads the node's file writer.
  if (cfg.mode === 'controller') {
    const { controllerComponents } = await import('./cli/controller-components.ts');
    const parts = controllerComponents(cfg, { client, logs, registry, instance: hostname(), tracer: telemetry.tracer });
    manager.add(httpComponent(cfg.httpAddress, registry, () => parts.ready(manager), logs.for('listener_operator::http')));
    if (!cfg.eos.disabled) manager.add(eosComponent(cfg, builtAtMs, logs.for('listener_operator::maintenance')));
    for (const c of parts.components) manager.add(c);
  } else {
    const [{ identityService }, { nodeService }, { startCsiServer }] = await Promise.all([import('./csi/identity.ts'), import('./csi/node-service.ts'), import('./csi/server.ts')]);
    manager.add(httpComponent(cfg.httpAddress, registry, () => manager.state === 'running', logs.for('listener_operator::http')));
    if (!cfg.eos.disabled) manager.add(eosComponent(cfg, builtAtMs, logs.for('listener_operator::maintenance')));
    const onCall = csiMetrics(registry);
    manager.add({
      name: 'CSI server',
      start: async () => {
        const csi = await startCsiServer({
          endpoint: cfg.csiEndpoint, services: { identity: identityService(), node: nodeService({ client, nodeName: cfg.nodeName }) }, log: csiLog, tracer: telemetry.tracer, onCall,
        });
        return { stop: () => csi.close() };
      },
    });
  }
  const code = await manager.run(termination());
  client.close();
  log.info({ exitCode: code }, 'Stopped');
  return code;
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2), process.env);
  if (parsed.kind === 'exit') {
    process.stdout.write(parsed.stdout);
    process.stderr.write(parsed.stderr);
    return parsed.code;
  }
  const cfg = parsed.config;
  if (cfg.mode === 'crd') {
    const { crdsYaml } = await import('./crd/index.ts');
    process.stdout.write(crdsYaml());
    return 0;
  }
  if (cfg.mode === 'olm-deployer') {
    const { runOlmDeployer } = await import('./cli/olm-deployer.ts');
    return runOlmDeployer(cfg, termination());
  }
  const onConsole = consoleDestination(cfg.telemetry.console);
  // Problems of the log files themselves go to the console only (never into the files).
  const consoleLog = new Logs([onConsole]).for('listener_operator');
  const registry = createRegistry();
  let telemetry: Telemetry;
  try {
    telemetry = await startTelemetry(cfg.telemetry, { registry, version: VERSION, env: process.env, warn: (m, f) => { consoleLog.warn(f, m); } });
  } catch (e) {
    // E.g. an OTEL_EXPORTER_OTLP_* value the exporter refuses: one line, naming what it said.
    process.stderr.write(`error: cannot start telemetry: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const logs = new Logs([onConsole, ...telemetry.destinations]);
  const rootLog = logs.for('listener_operator');
  // The one line of a fatal error reaches every log destination, and stderr even when the console log is off.
  const fatal = (line: string): void => {
    rootLog.error(line);
    if (!cfg.telemetry.console.enabled) process.stderr.write(`error: ${line}\n`);
  };
  try {
    return await run(cfg, { logs, telemetry, registry, fatal });
  } catch (e) {
    fatal(`cannot start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await telemetry.shutdown(TELEMETRY_FLUSH_MS);
  }
}

// A CommonJS bundle has no top-level await.
void main().then((code) => { process.exit(code); });
