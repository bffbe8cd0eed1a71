// API request accounting on both sides of the wire. Our KubeClient reports (verb, path) for every
// request; the API server counts `apiserver_request_total{verb,group,resource,subresource}`. Both
// are reduced to the same key, "VERB group/resource[/subresource]", so a window's server-side delta
// can be compared with what the operator says it did (its own /metrics), after subtracting what
// the benchmark's own clients did in the same window.
import http from 'node:http';
import https from 'node:https';
import type { KubeClient, Verb } from '../../src/k8s/client.ts';
import { parseProm, type Sample } from './prom.ts';

export type Tally = Map<string, number>;

const API_VERB: Record<Verb, string> = {
  get: 'GET', list: 'LIST', watch: 'WATCH', create: 'POST', apply: 'APPLY', patch: 'PATCH', update: 'PUT', delete: 'DELETE',
};

export const WRITE_VERBS: ReadonlySet<string> = new Set(['POST', 'APPLY', 'PATCH', 'PUT', 'DELETE', 'DELETECOLLECTION']);

export interface RequestKey { verb: string; group: string; resource: string; subresource: string }

export function keyString(k: RequestKey): string {
  return `${k.verb} ${k.group === '' ? 'core' : k.group}/${k.resource}${k.subresource === '' ? '' : `/${k.subresource}`}`;
}

export function parseKey(s: string): RequestKey {
  const [verb = '', rest = ''] = s.split(' ');
  const [group = '', resource = '', subresource = ''] = rest.split('/');
  return { verb, group: group === 'core' ? '' : group, resource, subresource };
}

/** A REST path → group, resource and subresource (as the API server labels its metrics). */
export function classifyPath(path: string): Omit<RequestKey, 'verb'> {
  const parts = path.split('?')[0]?.split('/').filter((p) => p !== '') ?? [];
  let rest: string[];
  let group: string;
  if (parts[0] === 'api') {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else {
    return { group: '', resource: parts.join('/'), subresource: '' };
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  return { group, resource: rest[0] ?? '', subresource: rest[2] ?? '' };
}

/** Counts the requests of a KubeClient by key, from now on. */
export function tallyClient(client: KubeClient): Tally {
  const t: Tally = new Map();
  client.onRequest((verb, path) => {
    const k = keyString({ verb: API_VERB[verb], ...classifyPath(path) });
    t.set(k, (t.get(k) ?? 0) + 1);
  });
  return t;
}

export function copyTally(t: Tally): Tally {
  return new Map(t);
}

export function diff(after: Tally, before: Tally): Tally {
  const out: Tally = new Map();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}

export function minus(a: Tally, ...bs: Tally[]): Tally {
  const out: Tally = new Map(a);
  for (const b of bs) for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) - v);
  return out;
}

/** Sum of the entries whose key passes `filter`. */
export function total(t: Tally, filter: (k: RequestKey) => boolean = () => true): number {
  let sum = 0;
  for (const [k, v] of t) if (filter(parseKey(k))) sum += v;
  return sum;
}

export function toRecord(t: Tally): Record<string, number> {
  return Object.fromEntries([...t].filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export interface ApiServerAccess { server: string; ca: string; cert: string; key: string }

export async function scrapeText(url: string, tls?: Omit<ApiServerAccess, 'server'>, timeoutMs = 10_000): Promise<string> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(u, { ...(tls ?? {}), timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => {
        if ((res.statusCode ?? 0) === 200) resolve(body);
        else reject(new Error(`GET ${url}: HTTP ${res.statusCode ?? 0}: ${body.slice(0, 200)}`));
      });
    });
    req.on('timeout', () => { req.destroy(new Error(`GET ${url}: timed out`)); });
    req.on('error', reject);
  });
}

export interface ApiServerSnapshot {
  /** apiserver_request_total by key (component="apiserver" only: resource requests). */
  requests: Tally;
  cpuSeconds: number;
  rssBytes: number;
}

export async function scrapeApiServer(a: ApiServerAccess): Promise<ApiServerSnapshot> {
  const samples = parseProm(await scrapeText(`${a.server}/metrics`, { ca: a.ca, cert: a.cert, key: a.key }));
  return { requests: apiRequests(samples), cpuSeconds: value(samples, 'process_cpu_seconds_total'), rssBytes: value(samples, 'process_resident_memory_bytes') };
}

function apiRequests(samples: readonly Sample[]): Tally {
  const t: Tally = new Map();
  for (const s of samples) {
    if (s.name !== 'apiserver_request_total' || s.labels.resource === undefined || s.labels.resource === '') continue;
    const k = keyString({ verb: s.labels.verb ?? '', group: s.labels.group ?? '', resource: s.labels.resource, subresource: s.labels.subresource ?? '' });
    t.set(k, (t.get(k) ?? 0) + s.value);
  }
  return t;
}

function value(samples: readonly Sample[], name: string): number {
  return samples.find((s) => s.name === name)?.value ?? Number.NaN;
}

// Which server-side counts can be the operator's. Others write in the same windows
// (kube-controller-manager: EndpointSlices, PV and PVC status, Node taints; the stand-in cloud:
// Service status), so writes are compared only on resources the operator writes and nobody else
// does; our own clients' requests are subtracted first.
const LISTENER_GROUP = 'listeners.stackable.tech';
const CONTROLLER_READ_RESOURCES = new Set(['listeners', 'listenerclasses', 'services', 'endpointslices', 'persistentvolumes', 'nodes']);
const NODE_RESOURCES = new Set(['listeners', 'listenerclasses', 'podlisteners', 'pods', 'persistentvolumes', 'persistentvolumeclaims', 'nodes']);

export function isControllerWrite(k: RequestKey): boolean {
  if (!WRITE_VERBS.has(k.verb)) return false;
  return k.group === LISTENER_GROUP || (k.group === '' && k.resource === 'services' && k.subresource === '') || k.group === 'events.k8s.io';
}

/**
 * The only reads the controller's code makes: the LIST of each cache, and a GET of a Service it
 * does not have cached (it may be someone else's). Other GETs in the window are other clients'
 * (the controller-manager GETs Nodes, for one).
 */
export function isControllerRead(k: RequestKey): boolean {
  if (k.verb === 'LIST') return CONTROLLER_READ_RESOURCES.has(k.resource);
  return k.verb === 'GET' && k.group === '' && k.resource === 'services';
}

/** The node service's requests: everything on its resources except the status writes the controller-manager makes. */
export function isNodeServiceRequest(k: RequestKey): boolean {
  if (k.verb === 'WATCH' || !NODE_RESOURCES.has(k.resource) && !(k.group === 'events.k8s.io')) return false;
  return !(WRITE_VERBS.has(k.verb) && k.subresource === 'status' && k.group === '');
}
