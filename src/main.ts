#!/usr/bin/env node
// listener-operator: `crd`, `run controller`, `run node`. Parses configuration once, wires the
// services together, and shuts down gracefully on SIGTERM/SIGINT.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { parseArgs, type ControllerConfig, type NodeConfig } from './cli/config.ts';
import { createLogger, type Logger } from './cli/log.ts';
import { startHttpServer } from './cli/http.ts';
import { ListenerController, errText } from './controller/controller.ts';
import { ensurePresetClasses } from './controller/presets.ts';
import { crdsYaml } from './crd/index.ts';
import { controllerService } from './csi/controller-service.ts';
import { identityService } from './csi/identity.ts';
import { nodeService } from './csi/node-service.ts';
import { startCsiServer } from './csi/server.ts';
import { KubeClient } from './k8s/client.ts';
import { LeaderElector } from './k8s/leader.ts';
import { VERSION } from './version.ts';

const LEADER_LEASE_NAME = 'listener-operator-controller';

function metricsFor(client: KubeClient): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: 'listener_operator_api_requests_total', help: 'Kubernetes API requests made, by verb', labelNames: ['verb'], registers: [registry] });
  client.onRequest((verb) => { requests.inc({ verb }); });
  return registry;
}

/** Resolves when SIGTERM or SIGINT arrives. */
function termination(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => { resolve('SIGTERM'); });
    process.once('SIGINT', () => { resolve('SIGINT'); });
  });
}

/** Waits until this replica leads (or shutdown); exits the process if leadership is lost later. */
async function campaign(cfg: ControllerConfig, client: KubeClient, log: Logger, stop: Promise<string>): Promise<LeaderElector> {
  if (cfg.operatorNamespace === undefined) throw new Error('--leader-elect needs --operator-namespace, the namespace of its Lease');
  const elector = new LeaderElector({
    client, namespace: cfg.operatorNamespace, name: LEADER_LEASE_NAME,
    identity: `${hostname()}_${randomBytes(4).toString('hex')}`, log: (m) => { log.info(m); },
  });
  log.info({ lease: `${cfg.operatorNamespace}/${LEADER_LEASE_NAME}` }, 'Waiting to become the leader');
  const won = await Promise.race([elector.acquire(), stop.then(() => false)]);
  if (won) {
    void elector.hold().then((r) => {
      if (r === 'lost') {
        log.error('Lost the leader Lease; exiting so that only one replica acts');
        process.exit(1);
      }
    });
  }
  return elector;
}

async function runController(cfg: ControllerConfig, log: Logger): Promise<void> {
  const client = await KubeClient.fromKubeconfig(cfg.kubeconfig);
  const registry = metricsFor(client);
  const controller = new ListenerController({ client, log, clusterDomain: cfg.clusterDomain, concurrency: cfg.concurrency, namespace: cfg.watchNamespace });
  new Gauge({ name: 'listener_operator_queue_depth', help: 'Listeners waiting to be reconciled', registers: [registry], collect() { this.set(controller.queue.length); } });
  new Gauge({ name: 'listener_operator_reconciles_active', help: 'Listener reconciles running now', registers: [registry], collect() { this.set(controller.queue.active); } });
  new Counter({ name: 'listener_operator_reconciles_total', help: 'Listener reconciles started', registers: [registry], collect() { this.reset(); this.inc(controller.reconciles); } });
  let ready = false;
  const http = await startHttpServer(cfg.httpAddress, registry, () => ready);
  const stopSignal = termination();
  const abort = new AbortController();
  void stopSignal.then(() => { abort.abort(); });
  log.info({ version: VERSION, preset: cfg.preset, http: http?.port }, 'Starting controller');
  // Every replica serves CSI (its provisioner sidecar elects its own leader); ready only once it listens.
  const csi = await startCsiServer({ endpoint: cfg.csiEndpoint, services: { identity: identityService(), controller: controllerService({ client }) }, log });
  const elector = cfg.leaderElect ? await campaign(cfg, client, log, stopSignal) : undefined;
  if (elector !== undefined) ready = true; // a standby is healthy while it waits
  if (elector !== undefined && !elector.isLeader()) {
    await elector.release();
    await csi.close();
    await http?.close();
    client.close();
    log.info('Stopped');
    return;
  }
  await Promise.race([ensurePresetClasses(client, cfg.preset, log, abort.signal), stopSignal]);
  await Promise.race([controller.start(), stopSignal]);
  ready = !abort.signal.aborted;
  const signal = await stopSignal;
  log.info({ signal }, 'Shutting down: finishing in-flight reconciles and CSI calls');
  ready = false;
  await Promise.all([controller.stop(), csi.close()]);
  await elector?.release();
  await http?.close();
  client.close();
  log.info('Stopped');
}

async function runNode(cfg: NodeConfig, log: Logger): Promise<void> {
  const client = await KubeClient.fromKubeconfig(cfg.kubeconfig);
  const registry = metricsFor(client);
  let ready = false;
  const http = await startHttpServer(cfg.httpAddress, registry, () => ready);
  const stopSignal = termination();
  log.info({ version: VERSION, node: cfg.nodeName, http: http?.port }, 'Starting node service');
  const csi = await startCsiServer({ endpoint: cfg.csiEndpoint, services: { identity: identityService(), node: nodeService({ client, nodeName: cfg.nodeName }) }, log });
  ready = true;
  const signal = await stopSignal;
  log.info({ signal }, 'Shutting down: finishing in-flight CSI calls');
  ready = false;
  await csi.close();
  await http?.close();
  client.close();
  log.info('Stopped');
}

async function main(): Promise<void> {
  const cfg = parseArgs(process.argv.slice(2), process.env, (code) => process.exit(code));
  if (cfg.mode === 'crd') {
    process.stdout.write(crdsYaml());
    return;
  }
  const log = createLogger(cfg.logLevel, cfg.logFormat);
  try {
    if (cfg.mode === 'controller') await runController(cfg, log);
    else await runNode(cfg, log);
  } catch (e) {
    log.error({ err: errText(e) }, 'Fatal error');
    process.exitCode = 1;
  }
}

await main();
