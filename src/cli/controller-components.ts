// The components of `run controller`, in start order (the lifecycle manager stops them in reverse):
//   cluster domain (when not configured) → CSI server → conversion webhook → CRDs (applied and
//   Established) → presets (in the background) → leader election (--leader-elect) → controller →
//   API heartbeat.
// Readiness: every component started; with leader election, a standby is ready while it waits.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ControllerConfig } from './config.ts';
import type { Logs } from './log.ts';
import type { Component, Manager } from './manager.ts';
import { csiMetrics, leaderMetric, queueMetrics, reconcileMetrics } from './metrics.ts';
import type { Tracer } from '../util/trace.ts';
import { Caches } from '../controller/caches.ts';
import { ListenerController } from '../controller/controller.ts';
import { ensurePresetClasses } from '../controller/presets.ts';
import { controllerService } from '../csi/controller-service.ts';
import { identityService } from '../csi/identity.ts';
import { startCsiServer } from '../csi/server.ts';
import type { KubeClient } from '../k8s/client.ts';
import { detectClusterDomain } from '../k8s/cluster-domain.ts';
import { DEFAULT_HEARTBEAT, runHeartbeat } from '../k8s/heartbeat.ts';
import { EventRecorder } from '../k8s/events.ts';
import { LeaderElector } from '../k8s/leader.ts';
import { CrdMaintainer } from '../maintenance/crds.ts';
import { issueCertificate } from '../webhook/certificates.ts';
import { CertificateRotation } from '../webhook/rotation.ts';
import { startWebhookServer } from '../webhook/server.ts';

const LEADER_LEASE_NAME = 'listener-operator-controller';
/** The port the CRDs' conversion points at: the chart's Service port (upstream's, 8443). */
export const WEBHOOK_SERVICE_PORT = 8443;
const EVENT_CONTROLLER = 'listeners.stackable.tech/listener-controller';

export interface ControllerDeps {
  client: KubeClient;
  logs: Logs;
  registry: Registry;
  instance: string;
  tracer: Tracer;
}

export interface ControllerParts {
  components: Component[];
  ready(manager: Manager): boolean;
}

/** The leaf's DNS names: how the API server calls the Service (upstream: `<service>.<namespace>.svc`). */
function webhookDnsNames(cfg: ControllerConfig): string[] {
  const svc = cfg.operatorServiceName ?? 'listener-operator';
  const ns = cfg.operatorNamespace ?? 'default';
  return [`${svc}.${ns}.svc`, ...(cfg.clusterDomain !== undefined ? [`${svc}.${ns}.svc.${cfg.clusterDomain}`] : [])];
}

export function controllerComponents(cfg: ControllerConfig, deps: ControllerDeps): ControllerParts {
  const { client, logs, registry } = deps;
  let clusterDomain = cfg.clusterDomain;
  let rotation: CertificateRotation | undefined;
  let controller: ListenerController | undefined;
  const maintainer = cfg.crdMaintenance && cfg.operatorNamespace !== undefined && cfg.operatorServiceName !== undefined
    ? new CrdMaintainer({ client, log: logs.for('listener_operator::maintenance'), service: { name: cfg.operatorServiceName, namespace: cfg.operatorNamespace, port: WEBHOOK_SERVICE_PORT } })
    : undefined;
  const components: Component[] = [];
  // Registered now, so that /metrics shows them (at 0) before the controller runs, and on a standby.
  const reconciled = reconcileMetrics(registry, cfg.concurrency, () => controller?.queue.active ?? 0);
  const queue = queueMetrics(registry);
  const onCall = csiMetrics(registry);
  const leading = leaderMetric(registry, LEADER_LEASE_NAME);

  if (clusterDomain === undefined) {
    const log = logs.for('listener_operator::kube');
    components.push({
      name: 'cluster domain detection',
      start: async (signal) => {
        const nodeName = cfg.nodeName ?? '';
        log.info({ node: nodeName }, 'Reading the cluster domain from the kubelet (KUBERNETES_CLUSTER_DOMAIN is unset)');
        clusterDomain = await detectClusterDomain({ client, nodeName, signal, onRetry: (n, why) => { log.warn({ attempt: n, reason: why }, 'Reading the cluster domain failed; retrying'); } });
        log.info({ clusterDomain, node: nodeName }, 'Using the cluster domain of the kubelet\'s configuration');
        return {};
      },
    });
  }

  components.push({
    name: 'CSI server',
    start: async () => {
      const csi = await startCsiServer({
        endpoint: cfg.csiEndpoint, services: { identity: identityService(), controller: controllerService({ client }) }, log: logs.for('listener_operator::csi'), tracer: deps.tracer, onCall,
      });
      return { stop: () => csi.close() };
    },
  });

  if (cfg.webhookAddress !== '') components.push(webhookComponent(cfg, deps, maintainer, (r) => { rotation = r; }));

  if (maintainer !== undefined) {
    components.push({
      name: 'CRD maintenance',
      start: async (signal) => {
        // The configuration makes sure the webhook runs whenever the CRDs are maintained.
        if (rotation === undefined) throw new Error('the conversion webhook is not running: its CA cannot go into the CRDs');
        await maintainer.apply([rotation.certificate.caPem], signal);
        await maintainer.waitEstablished(signal);
        return {};
      },
    });
  }

  components.push({
    name: 'preset ListenerClasses',
    kind: 'task',
    start: (signal) => Promise.resolve({
      done: ensurePresetClasses({ client, preset: cfg.preset, log: logs.for('listener_operator::controller'), signal, events: new EventRecorder(client, EVENT_CONTROLLER, deps.instance) }),
    }),
  });

  // A leader that loses its Lease stops reconciling at once (in-flight reconciles aborted), before
  // a standby can take over; then the process exits (leader election's `done` fails).
  if (cfg.leaderElect) components.push(leaderComponent(cfg, deps, leading, () => { void controller?.stop(0); }));

  components.push({
    name: 'Listener controller',
    start: async (signal) => {
      const log = logs.for('listener_operator::controller');
      // Upstream's chart grants v1 Endpoints, not EndpointSlices: under it, read those instead.
      const slices = await Caches.endpointSlicesAllowed(client, cfg.watchNamespace, signal);
      if (!slices) log.warn('EndpointSlices are forbidden to this ServiceAccount (upstream\'s chart grants only v1 Endpoints): reading v1 Endpoints instead');
      const c = new ListenerController({
        client, log, clusterDomain: clusterDomain ?? '', concurrency: cfg.concurrency, namespace: cfg.watchNamespace, endpointsApi: slices ? 'EndpointSlices' : 'Endpoints',
        tracer: deps.tracer, observer: reconciled, queueObserver: queue.observer,
      });
      controller = c;
      queue.watch(c.queue);
      // Without leader election this one replica is the leader (the "no leader" alert reads it).
      if (!cfg.leaderElect) leading(true);
      new Gauge({ name: 'listener_operator_queue_depth', help: 'Listeners waiting to be reconciled', registers: [registry], collect() { this.set(c.queue.length); } });
      new Gauge({ name: 'listener_operator_reconciles_active', help: 'Listener reconciles running now', registers: [registry], collect() { this.set(c.queue.active); } });
      new Counter({ name: 'listener_operator_reconciles_total', help: 'Listener reconciles started', registers: [registry], collect() { this.reset(); this.inc(c.reconciles); } });
      const stop = (): Promise<void> => c.stop();
      signal.addEventListener('abort', () => { void stop(); }, { once: true });
      await c.start();
      return { stop };
    },
  });

  components.push({
    name: 'API heartbeat',
    start: (signal) => Promise.resolve({ done: runHeartbeat(client, DEFAULT_HEARTBEAT, signal) }),
  });

  return {
    components,
    ready: (m) => m.state === 'running' || (cfg.leaderElect && m.state === 'starting' && m.hasStarted('preset ListenerClasses')),
  };
}

function webhookComponent(cfg: ControllerConfig, deps: ControllerDeps, maintainer: CrdMaintainer | undefined, onRotation: (r: CertificateRotation) => void): Component {
  const log = deps.logs.for('listener_operator::webhook');
  const requests = new Counter({ name: 'listener_operator_webhook_requests_total', help: 'Conversion webhook requests answered, by route and HTTP status', labelNames: ['route', 'status'], registers: [deps.registry] });
  const expiry = new Gauge({ name: 'listener_operator_webhook_certificate_expiry_timestamp_seconds', help: 'When the certificate the conversion webhook serves expires (Unix time)', registers: [deps.registry] });
  return {
    name: 'conversion webhook',
    start: async (signal) => {
      const issue = (): Promise<Awaited<ReturnType<typeof issueCertificate>>> =>
        issueCertificate({ dnsNames: webhookDnsNames(cfg), caName: `listener-operator webhook CA ${hostname()}`, nowMs: Date.now(), lifetimeMs: cfg.webhookCertificateLifetimeMs });
      const first = await issue();
      expiry.set(first.notAfterMs / 1000);
      const server = await startWebhookServer({
        address: cfg.webhookAddress, certificate: first, log, onRequest: (route, status) => { requests.inc({ route, status }); },
      });
      const rotation = new CertificateRotation({
        lifetimeMs: cfg.webhookCertificateLifetimeMs, checkIntervalMs: cfg.webhookCertificateCheckMs, log, issue,
        publish: maintainer === undefined ? undefined : (cas) => maintainer.apply(cas, signal),
        serve: (c) => { server.setCertificate(c); expiry.set(c.notAfterMs / 1000); },
      }, first);
      onRotation(rotation);
      const stopRotation = new AbortController();
      signal.addEventListener('abort', () => { stopRotation.abort(); }, { once: true });
      return {
        done: rotation.run(stopRotation.signal),
        stop: async () => { stopRotation.abort(); await server.close(); },
      };
    },
  };
}

function leaderComponent(cfg: ControllerConfig, deps: ControllerDeps, leading: (is: boolean) => void, onLost: () => void): Component {
  const log = deps.logs.for('listener_operator::kube');
  return {
    name: 'leader election',
    start: async (signal) => {
      const namespace = cfg.operatorNamespace ?? '';
      const elector = new LeaderElector({
        client: deps.client, namespace, name: LEADER_LEASE_NAME,
        identity: `${hostname()}_${randomBytes(4).toString('hex')}`, log: (m) => { log.info(m); },
        onStoppedLeading: (reason) => { leading(false); if (reason === 'lost') onLost(); },
      });
      log.info({ lease: `${namespace}/${LEADER_LEASE_NAME}` }, 'Waiting to become the leader');
      // A stop while waiting ends the wait. Once leading, the Lease is released only by stop(),
      // after the controller (started later, stopped earlier) has stopped reconciling.
      const giveUp = (): void => { void elector.release(); };
      signal.addEventListener('abort', giveUp, { once: true });
      const won = await elector.acquire();
      signal.removeEventListener('abort', giveUp);
      if (!won) return { stop: () => elector.release() };
      leading(true);
      const held = elector.hold().then((r) => { if (r === 'lost') throw new Error('lost the leader Lease; exiting so that only one replica acts'); });
      return { done: held, stop: async () => { leading(false); await elector.release(); } };
    },
  };
}

