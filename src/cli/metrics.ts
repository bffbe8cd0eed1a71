// The Prometheus registry every mode serves on /metrics: Node.js runtime metrics and our own.
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { KubeClient } from '../k8s/client.ts';

export function metricsFor(client: KubeClient): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: 'listener_operator_api_requests_total', help: 'Kubernetes API requests made, by verb', labelNames: ['verb'], registers: [registry] });
  client.onRequest((verb) => { requests.inc({ verb }); });
  return registry;
}
