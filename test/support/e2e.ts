// Helpers for the e2e test files: the environment the e2e global setup started (e2e-setup.ts),
// a test Pod that serves its own name and its listener volumes over HTTP (busybox httpd), bounded
// HTTP requests from this host, and waits on Pods.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { TestContext } from 'node:test';
import type { E2eState } from './e2e-operator.ts';
import { TEST_IMAGE } from './images.ts';
import { eventually } from './k8s.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { PODS, at } from '../../src/k8s/resources.ts';

export function e2eState(): E2eState {
  const file = process.env.LISTENER_E2E_STATE;
  if (file === undefined || file === '') {
    throw new Error('LISTENER_E2E_STATE is not set: run the e2e tier through `npm test` (its global setup, test/support/e2e-setup.ts, starts the node)');
  }
  return JSON.parse(readFileSync(file, 'utf8')) as E2eState;
}

export async function e2eClient(t: TestContext): Promise<KubeClient> {
  const client = await KubeClient.fromKubeconfig(e2eState().kubeconfig);
  t.after(() => { client.close(); });
  return client;
}

/** The port the test container's httpd listens on. */
export const WEB_PORT = 8080;

export interface VolumeMount { name: string; mountPath: string }

/**
 * The test container: httpd on WEB_PORT serving /www, whose index.html is the Pod's name; listener
 * volumes are mounted under /www/<volume name>, so GET /<volume>/default-address/address reads the
 * volume's files. At start it also prints every listener file it can see (the Pod's log).
 */
export function webContainer(volumes: string[], ports: { name?: string; containerPort: number }[] = [{ name: 'http', containerPort: WEB_PORT }]): Record<string, unknown> {
  const script = [
    'mkdir -p /www',
    'echo "$POD_NAME" > /www/index.html',
    ...volumes.map((v) => `for f in /www/${v}/addresses/*/address /www/${v}/addresses/*/ports/*; do echo "$f: $(cat "$f")"; done; echo "/www/${v}/default-address -> $(readlink /www/${v}/default-address)"`),
    `exec httpd -f -p ${WEB_PORT} -h /www`,
  ].join('; ');
  return {
    name: 'web',
    image: TEST_IMAGE,
    imagePullPolicy: 'Never',
    command: ['/bin/sh', '-c', script],
    env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
    ports,
    volumeMounts: volumes.map((v): VolumeMount => ({ name: v, mountPath: `/www/${v}` })),
    readinessProbe: { httpGet: { path: '/', port: WEB_PORT }, periodSeconds: 1 },
  };
}

export interface PodStatus {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  spec: { nodeName?: string; volumes?: { name: string }[] };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

/** Waits until the Pod runs and is Ready, with an IP; returns it. */
export async function waitPodReady(client: KubeClient, ns: string, name: string, timeoutMs = 90_000): Promise<PodStatus> {
  return eventually(`Pod ${ns}/${name} Ready`, async () => {
    const p = await client.get<PodStatus>(at(PODS, ns, name));
    const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
    if (ready && p.status?.podIP !== undefined) return p;
    throw new Error(`phase ${p.status?.phase ?? '?'}, conditions ${JSON.stringify(p.status?.conditions ?? [])}`);
  }, timeoutMs);
}

export interface HttpResult { status: number; body: string }

/** One GET with a timeout. Only ever aimed at loopback, the node IP or a Pod IP. */
export function httpGet(url: string, timeoutMs = 2000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    // A new connection each time (no keep-alive), so a Service spreads requests over its endpoints.
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
    });
    req.on('timeout', () => { req.destroy(new Error(`timeout after ${timeoutMs} ms`)); });
    req.on('error', reject);
  });
}

/** GET until it answers 200 (bounded: `attempts` tries, 500 ms apart). */
export async function httpGetOk(url: string, attempts = 60): Promise<HttpResult> {
  let last = '';
  for (let i = 0; i < attempts; i++) {
    try {
      const r = await httpGet(url);
      if (r.status === 200) return r;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`GET ${url} did not answer 200 after ${attempts} attempts: ${last}`);
}

/** Reads a listener volume file through the Pod's httpd (the container reads it). */
export async function podFile(pod: PodStatus, volume: string, file: string): Promise<string> {
  const ip = pod.status?.podIP;
  if (ip === undefined) throw new Error(`Pod ${pod.metadata.name} has no IP`);
  return (await httpGetOk(`http://${ip}:${WEB_PORT}/${volume}/${file}`, 20)).body.trim();
}

/** A generic ephemeral listener volume, as a Stackable operator's Pod template declares one. */
export function ephemeralListenerVolume(name: string, annotations: Record<string, string>, labels?: Record<string, string>): Record<string, unknown> {
  return { name, ephemeral: { volumeClaimTemplate: listenerClaimTemplate(annotations, labels) } };
}

/** A PVC template for a listener volume (StatefulSet volumeClaimTemplates, ephemeral volumes). */
export function listenerClaimTemplate(annotations: Record<string, string>, labels?: Record<string, string>, name?: string): Record<string, unknown> {
  return {
    metadata: { ...(name === undefined ? {} : { name }), annotations, ...(labels === undefined ? {} : { labels }) },
    spec: { accessModes: ['ReadWriteMany'], storageClassName: 'listeners.stackable.tech', resources: { requests: { storage: '1' } } },
  };
}

export interface Address { address: string; addressType: string; ports: Record<string, number> }

/** The files of one listener volume as its container sees them (default-address only). */
export async function defaultAddressFiles(pod: PodStatus, volume: string, portNames: string[]): Promise<{ address: string; ports: Record<string, number> }> {
  const address = await podFile(pod, volume, 'default-address/address');
  const ports: Record<string, number> = {};
  for (const p of portNames) ports[p] = Number(await podFile(pod, volume, `default-address/ports/${p}`));
  return { address, ports };
}

interface EndpointSlice { endpoints?: { addresses: string[]; nodeName?: string; targetRef?: { name: string } }[] }

/** Pod names behind a Service, from its EndpointSlices. */
export async function endpointPods(client: KubeClient, ns: string, service: string): Promise<string[]> {
  const slices = await client.list<EndpointSlice>(at({ group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices' }, ns), { labelSelector: `kubernetes.io/service-name=${service}` });
  return slices.items.flatMap((s) => (s.endpoints ?? []).map((e) => e.targetRef?.name ?? '?')).sort();
}

/** Waits until the Service's endpoints are exactly these Pods. */
export async function waitEndpoints(client: KubeClient, ns: string, service: string, pods: string[]): Promise<void> {
  const want = [...pods].sort();
  await eventually(`Service ${ns}/${service} endpoints ${want.join(',')}`, async () => {
    const got = await endpointPods(client, ns, service);
    if (JSON.stringify(got) === JSON.stringify(want)) return true;
    throw new Error(`endpoints: ${got.join(',') || '(none)'}`);
  }, 60_000);
}

/** Waits until the object is gone (GET answers 404). */
export async function waitGone(client: KubeClient, ref: Parameters<KubeClient['getOptional']>[0], what: string, timeoutMs = 90_000): Promise<void> {
  await eventually(`${what} deleted`, async () => {
    const o = await client.getOptional<unknown>(ref);
    if (o === undefined) return true;
    throw new Error('still there');
  }, timeoutMs);
}

/** Deletes a Pod right away (grace period 0) and waits until it is gone. */
export async function deletePod(client: KubeClient, ns: string, name: string): Promise<void> {
  await client.delete(at(PODS, ns, name), { gracePeriodSeconds: 0 });
  await waitGone(client, at(PODS, ns, name), `Pod ${ns}/${name}`);
}

/**
 * GETs `url` up to `attempts` times and returns the distinct bodies seen (trimmed), stopping early
 * once `want` bodies are all seen. Bounded in count and time.
 */
export async function collectBodies(url: string, want: string[], attempts = 40): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < attempts; i++) {
    try {
      const r = await httpGet(url);
      if (r.status === 200) seen.set(r.body.trim(), (seen.get(r.body.trim()) ?? 0) + 1);
    } catch { /* counted as nothing */ }
    if (want.every((w) => seen.has(w))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return seen;
}
