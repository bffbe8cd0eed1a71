// The Prometheus registry every mode serves on /metrics: Node.js runtime metrics, ours
// (listener_operator_*), and the metrics a Kubernetes operator is expected to have, under the names
// controller-runtime and client-go give them, so that existing dashboards and alerts apply:
//   controller_runtime_reconcile_{total,errors_total,terminal_errors_total,panics_total,time_seconds},
//   controller_runtime_{active_workers,max_concurrent_reconciles},
//   workqueue_{depth,adds_total,queue_duration_seconds,work_duration_seconds,retries_total,
//              unfinished_work_seconds,longest_running_processor_seconds} (labels name, controller),
//   rest_client_requests_total{code,host,method}, rest_client_request_duration_seconds{host,verb},
//   leader_election_master_status{name},
// and for the CSI services the name kubelet gives its CSI calls:
//   csi_operations_seconds{driver_name,method_name,grpc_status_code}.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DRIVER_NAME } from '../constants.ts';
import type { ReconcileObserver } from '../controller/controller.ts';
import type { KubeClient } from '../k8s/client.ts';
import type { QueueObserver, WorkQueue } from '../util/queue.ts';

/** controller-runtime's name for our one controller (its `controller` and workqueue `name` label). */
export const CONTROLLER_NAME = 'listener';

// controller-runtime's reconcile_time_seconds buckets.
const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60];
// client-go's workqueue buckets: 10 ns to 1000 s, by factors of 10.
const QUEUE_BUCKETS = Array.from({ length: 12 }, (_v, i) => 1e-8 * 10 ** i);
// client-go's rest_client_request_duration_seconds buckets.
const REST_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];
// Our CSI calls take milliseconds: finer at the low end than kubelet's.
const CSI_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The API requests of `client`: ours by verb (the benchmark reads it) and client-go's. */
export function instrumentClient(client: KubeClient, registry: Registry): void {
  const requests = new Counter({ name: 'listener_operator_api_requests_total', help: 'Kubernetes API requests made, by verb', labelNames: ['verb'], registers: [registry] });
  client.onRequest((verb) => { requests.inc({ verb }); });
  const total = new Counter({ name: 'rest_client_requests_total', help: 'Number of HTTP requests, partitioned by status code, method, and host.', labelNames: ['code', 'host', 'method'], registers: [registry] });
  const duration = new Histogram({ name: 'rest_client_request_duration_seconds', help: 'Request latency in seconds. Broken down by verb, and host.', labelNames: ['host', 'verb'], buckets: REST_BUCKETS, registers: [registry] });
  client.onResponse((r) => {
    total.inc({ code: r.code, host: r.host, method: r.method });
    duration.observe({ host: r.host, verb: r.method }, r.seconds);
  });
}

/** Kept for callers that want the registry with the client's metrics in one call. */
export function metricsFor(client: KubeClient): Registry {
  const registry = createRegistry();
  instrumentClient(client, registry);
  return registry;
}

/** controller-runtime's reconcile metrics. */
export function reconcileMetrics(registry: Registry, concurrency: number, active: () => number): ReconcileObserver {
  const labels = { controller: CONTROLLER_NAME };
  const total = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller', labelNames: ['controller', 'result'], registers: [registry] });
  const errors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers: [registry] });
  const terminal = new Counter({ name: 'controller_runtime_terminal_reconcile_errors_total', help: 'Total number of terminal reconciliation errors per controller', labelNames: ['controller'], registers: [registry] });
  const panics = new Counter({ name: 'controller_runtime_reconcile_panics_total', help: 'Total number of reconciliation panics per controller', labelNames: ['controller'], registers: [registry] });
  const time = new Histogram({ name: 'controller_runtime_reconcile_time_seconds', help: 'Length of time per reconciliation per controller', labelNames: ['controller'], buckets: RECONCILE_BUCKETS, registers: [registry] });
  new Gauge({ name: 'controller_runtime_max_concurrent_reconciles', help: 'Maximum number of concurrent reconciles per controller', labelNames: ['controller'], registers: [registry] }).set(labels, concurrency);
  new Gauge({ name: 'controller_runtime_active_workers', help: 'Number of currently used workers per controller', labelNames: ['controller'], registers: [registry], collect() { this.set(labels, active()); } });
  // Every series exists from the start (at 0), so rate() and absent() work before the first event.
  for (const result of ['success', 'error', 'requeue', 'requeue_after']) total.inc({ ...labels, result }, 0);
  for (const c of [errors, terminal, panics]) c.inc(labels, 0);
  return (o) => {
    total.inc({ ...labels, result: o.result });
    time.observe(labels, o.seconds);
    if (o.result === 'error') errors.inc(labels);
    if (o.kind === 'terminal') terminal.inc(labels);
    if (o.kind === 'panic') panics.inc(labels);
  };
}

/** client-go's workqueue metrics, labelled as controller-runtime labels its queues. */
export function queueMetrics(registry: Registry): { observer: QueueObserver; watch: (q: WorkQueue) => void } {
  const labels = { name: CONTROLLER_NAME, controller: CONTROLLER_NAME };
  const labelNames = ['name', 'controller'] as const;
  let queue: WorkQueue | undefined;
  new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames, registers: [registry], collect() { this.set(labels, queue?.length ?? 0); } });
  const adds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames, registers: [registry] });
  const retries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames, registers: [registry] });
  const queued = new Histogram({ name: 'workqueue_queue_duration_seconds', help: 'How long in seconds an item stays in workqueue before being requested', labelNames, buckets: QUEUE_BUCKETS, registers: [registry] });
  const worked = new Histogram({ name: 'workqueue_work_duration_seconds', help: 'How long in seconds processing an item from workqueue takes', labelNames, buckets: QUEUE_BUCKETS, registers: [registry] });
  new Gauge({
    name: 'workqueue_unfinished_work_seconds', labelNames, registers: [registry],
    help: 'How many seconds of work has been done that is in progress and hasn\'t been observed by work_duration. Large values indicate stuck threads.',
    collect() { this.set(labels, (queue?.runningSeconds() ?? []).reduce((a, b) => a + b, 0)); },
  });
  new Gauge({
    name: 'workqueue_longest_running_processor_seconds', labelNames, registers: [registry],
    help: 'How many seconds has the longest running processor for workqueue been running.',
    collect() { this.set(labels, Math.max(0, ...(queue?.runningSeconds() ?? []))); },
  });
  adds.inc(labels, 0);
  retries.inc(labels, 0);
  return {
    observer: {
      added: () => { adds.inc(labels); },
      started: (s) => { queued.observe(labels, s); },
      finished: (s) => { worked.observe(labels, s); },
      retried: () => { retries.inc(labels); },
    },
    watch: (q) => { queue = q; },
  };
}

/** The CSI calls served, by method and code, with their durations (kubelet's metric name). */
export function csiMetrics(registry: Registry): (method: string, code: string, seconds: number) => void {
  const h = new Histogram({
    name: 'csi_operations_seconds', help: 'CSI calls served, by method and gRPC status code, and how long they took',
    labelNames: ['driver_name', 'method_name', 'grpc_status_code'], buckets: CSI_BUCKETS, registers: [registry],
  });
  return (method, code, seconds) => { h.observe({ driver_name: DRIVER_NAME, method_name: method, grpc_status_code: code }, seconds); };
}

/** client-go's leader election status: 1 while this process leads (`name` is the Lease's). */
export function leaderMetric(registry: Registry, name: string): (leading: boolean) => void {
  const g = new Gauge({ name: 'leader_election_master_status', help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. \'name\' is the string used to identify the lease.', labelNames: ['name'], registers: [registry] });
  g.set({ name }, 0);
  return (leading) => { g.set({ name }, leading ? 1 : 0); };
}
