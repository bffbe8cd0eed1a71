// Where the API server is and how to authenticate to it: kubeconfig files (KUBECONFIG may list
// several, merged as kubectl merges them), ~/.kube/config, or the Pod's service account. Written
// here rather than taken from @kubernetes/client-node because that package loads its whole
// generated API with its KubeConfig (about 80 MiB of resident memory, half the operator's budget).
// Credentials that run code (exec plugins, auth providers) are rare for an in-cluster operator and
// are still handled by that package, imported only when a kubeconfig asks for them.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { JsonMap } from '../core/merge.ts';
import { isRecord } from '../util/is-record.ts';

export interface TlsOptions {
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  rejectUnauthorized: boolean;
  servername?: string | undefined;
}

export interface ClientConfig {
  server: URL;
  tls: TlsOptions;
  /** Headers for the next request: credentials that rotate (token files, exec plugins) are re-read. */
  headers: () => Promise<Record<string, string>>;
  /** Where it came from, for error messages and logs. */
  source: string;
}

export interface LoadOptions {
  /** A kubeconfig path, or several separated by the path delimiter (as in KUBECONFIG). */
  kubeconfig?: string | undefined;
  env?: Record<string, string | undefined>;
  home?: string;
  serviceAccountDir?: string;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
// client-go re-reads token files once a minute: kubelet rotates projected service account tokens.
const TOKEN_REREAD_MS = 60_000;

type Doc = JsonMap;
interface Named { name: string; value: Doc }
interface Merged { currentContext?: string; clusters: Map<string, Doc>; users: Map<string, Doc>; contexts: Map<string, Doc> }

/** As kubectl: the given files, else ~/.kube/config, else the Pod's service account. */
export async function loadClientConfig(o: LoadOptions = {}): Promise<ClientConfig> {
  const env = o.env ?? process.env;
  const files = (o.kubeconfig ?? '').split(path.delimiter).filter((f) => f !== '');
  if (files.length > 0) return fromFiles(files);
  const home = path.join(o.home ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromFiles([home]);
  const saDir = o.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  if (host !== undefined && host !== '' && existsSync(path.join(saDir, 'token'))) {
    const port = env.KUBERNETES_SERVICE_PORT ?? '443';
    const server = new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`);
    const tokenFile = path.join(saDir, 'token');
    return {
      server, source: `in-cluster service account (${saDir})`,
      tls: { ca: readFileSync(path.join(saDir, 'ca.crt')), rejectUnauthorized: true },
      headers: bearerFromFile(tokenFile),
    };
  }
  throw new Error('no Kubernetes client configuration: set --kubeconfig (or KUBECONFIG), create ~/.kube/config, or run in a Pod with a service account token');
}

async function fromFiles(files: string[]): Promise<ClientConfig> {
  const merged: Merged = { clusters: new Map(), users: new Map(), contexts: new Map() };
  // The YAML parser only when a file is read (in a Pod, with its service account, it never is).
  const { parse } = await import('yaml');
  for (const file of files) mergeFile(merged, file, parse);
  const source = files.join(path.delimiter);
  const { contextName, clusterName, cluster, userName, user } = selectContext(merged, source);
  refuseUnsupported(cluster, ['proxy-url'], `cluster "${clusterName}"`, source);
  refuseUnsupported(user, ['as', 'as-uid', 'as-groups', 'as-user-extra'], `user "${userName}"`, source);
  const serverText = str(cluster, 'server', source);
  if (serverText === undefined || !URL.canParse(serverText)) throw new Error(`kubeconfig ${source}: cluster "${clusterName}" has no valid server URL`);
  const tls: TlsOptions = {
    ca: bytes(cluster, 'certificate-authority', source),
    cert: bytes(user, 'client-certificate', source),
    key: bytes(user, 'client-key', source),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
    servername: str(cluster, 'tls-server-name', source),
  };
  const server = new URL(serverText);
  if (user.exec !== undefined || user['auth-provider'] !== undefined) {
    return { server, tls, source, headers: await pluginHeaders(merged, contextName) };
  }
  return { server, tls, source, headers: staticOrFileHeaders(user, source) };
}

/** The current context and the cluster and user it names, all of which must exist. */
function selectContext(merged: Merged, source: string): { contextName: string; clusterName: string; cluster: Doc; userName: string; user: Doc } {
  const contextName = merged.currentContext;
  if (contextName === undefined) throw new Error(`kubeconfig ${source}: no current-context`);
  const context = merged.contexts.get(contextName);
  if (context === undefined) throw new Error(`kubeconfig ${source}: current-context "${contextName}" is not among its contexts`);
  const clusterName = str(context, 'cluster', source) ?? '';
  const cluster = merged.clusters.get(clusterName);
  if (cluster === undefined) throw new Error(`kubeconfig ${source}: context "${contextName}" names cluster "${clusterName}", which is not defined`);
  const userName = str(context, 'user', source);
  const user = userName === undefined ? {} : merged.users.get(userName);
  if (user === undefined) throw new Error(`kubeconfig ${source}: context "${contextName}" names user "${userName ?? ''}", which is not defined`);
  return { contextName, clusterName, cluster, userName: userName ?? '', user };
}

function mergeFile(into: Merged, file: string, parse: (text: string) => unknown): void {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`kubeconfig ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (doc === null || doc === undefined) return; // an empty file contributes nothing, as in kubectl
  if (!isRecord(doc)) throw new Error(`kubeconfig ${file}: not a mapping`);
  const dir = path.dirname(path.resolve(file));
  const current = doc['current-context'];
  if (into.currentContext === undefined && typeof current === 'string' && current !== '') into.currentContext = current;
  // The first file to define a name wins (kubectl's merge rule); file references are relative to
  // the file that holds them.
  for (const { name, value } of entries(doc, 'clusters', 'cluster', file)) if (!into.clusters.has(name)) into.clusters.set(name, resolvePaths(value, dir, ['certificate-authority']));
  for (const { name, value } of entries(doc, 'users', 'user', file)) if (!into.users.has(name)) into.users.set(name, resolvePaths(value, dir, ['client-certificate', 'client-key', 'tokenFile']));
  for (const { name, value } of entries(doc, 'contexts', 'context', file)) if (!into.contexts.has(name)) into.contexts.set(name, value);
}

function entries(doc: Doc, list: string, field: string, file: string): Named[] {
  const items = doc[list];
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) throw new Error(`kubeconfig ${file}: ${list} is not a list`);
  return items.map((item: unknown, i) => {
    if (!isRecord(item) || typeof item.name !== 'string') throw new Error(`kubeconfig ${file}: ${list}[${String(i)}] has no name`);
    const value = item[field] ?? {};
    if (!isRecord(value)) throw new Error(`kubeconfig ${file}: ${list}[${String(i)}] (${item.name}): ${field} is not a mapping`);
    return { name: item.name, value };
  });
}

function resolvePaths(value: Doc, dir: string, keys: string[]): Doc {
  const out = { ...value };
  for (const k of keys) {
    const v = out[k];
    if (typeof v === 'string' && v !== '') out[k] = path.resolve(dir, v);
  }
  return out;
}

function refuseUnsupported(value: Doc, keys: string[], what: string, source: string): void {
  for (const k of keys) {
    if (value[k] !== undefined) throw new Error(`kubeconfig ${source}: ${what} sets "${k}", which this operator does not support`);
  }
}

function str(value: Doc, key: string, source: string): string | undefined {
  const v = value[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new Error(`kubeconfig ${source}: "${key}" is not a string`);
  return v;
}

/** `<key>-data` (base64) or the file `<key>` names. */
function bytes(value: Doc, key: string, source: string): Buffer | undefined {
  const data = str(value, `${key}-data`, source);
  if (data !== undefined) return Buffer.from(data, 'base64');
  const file = str(value, key, source);
  return file === undefined ? undefined : readFileSync(file);
}

function staticOrFileHeaders(user: Doc, source: string): () => Promise<Record<string, string>> {
  const token = str(user, 'token', source);
  if (token !== undefined) {
    const h = { Authorization: `Bearer ${token}` };
    return () => Promise.resolve(h);
  }
  const tokenFile = str(user, 'tokenFile', source);
  if (tokenFile !== undefined) return bearerFromFile(tokenFile);
  const username = str(user, 'username', source);
  if (username !== undefined) {
    const h = { Authorization: `Basic ${Buffer.from(`${username}:${str(user, 'password', source) ?? ''}`).toString('base64')}` };
    return () => Promise.resolve(h);
  }
  return () => Promise.resolve({});
}

/** A bearer token from a file that is rotated under us (read at once, so a missing file fails early). */
function bearerFromFile(file: string): () => Promise<Record<string, string>> {
  let header = { Authorization: `Bearer ${readFileSync(file, 'utf8').trim()}` };
  let readAt = Date.now();
  return () => {
    if (Date.now() - readAt >= TOKEN_REREAD_MS) {
      readAt = Date.now();
      try {
        header = { Authorization: `Bearer ${readFileSync(file, 'utf8').trim()}` };
      } catch {
        // Keep the last token: a rotation in progress must not fail requests it can still serve.
      }
    }
    return Promise.resolve(header);
  };
}

/** Exec plugins and auth providers: delegated to @kubernetes/client-node, loaded only for them. */
async function pluginHeaders(merged: Merged, contextName: string): Promise<() => Promise<Record<string, string>>> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const named = (m: Map<string, Doc>, field: string): Doc[] => [...m].map(([name, value]) => ({ name, [field]: value }));
  kc.loadFromString(JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': contextName,
    clusters: named(merged.clusters, 'cluster'), users: named(merged.users, 'user'), contexts: named(merged.contexts, 'context'),
  }));
  return async () => {
    const opts: { headers?: Record<string, unknown> } = {};
    await kc.applyToHTTPSOptions(opts);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') out[k] = v;
    return out;
  };
}
