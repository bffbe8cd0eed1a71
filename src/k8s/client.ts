// The only code that talks to the Kubernetes API server. Configuration and credentials come from
// ./kubeconfig.ts (kubeconfig files, in-cluster service accounts, exec plugins); the requests
// themselves are a small typed REST layer over node:https, because the
// operator needs exactly four things the generated clients make awkward: server-side apply with
// one field manager on any kind (including our CRDs), JSON merge patches, streaming watches with
// resourceVersion/bookmarks, and an exact count of every request it makes (tests and the
// benchmark assert on it).
//
// Every request is bounded (see ./deadline.ts): a default timeout by kind of request (a GET
// short, a LIST or a write longer, a watch its own timeoutSeconds plus slack), which a caller may
// shorten per call, and the caller's AbortSignal. Without this a stalled connection (a network
// partition, a hung API server) would hang its caller until TCP gives up, which takes minutes.
import https from 'node:https';
import http from 'node:http';
import { loadClientConfig } from './kubeconfig.ts';
import { Deadline, isRequestTimeout } from './deadline.ts';
import { raceAbort } from '../util/abort.ts';
import { NOOP_TRACER, type Tracer } from '../util/trace.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'apply' | 'patch' | 'update' | 'delete';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
    deletionTimestamp?: string | Date;
    generation?: number;
  };
}

export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** A failed API call, with the server's Status reason (NotFound, Conflict, AlreadyExists, ...). */
export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.reason = reason;
  }
}

export function isNotFound(e: unknown): boolean {
  return e instanceof ApiError && e.status === 404;
}
/** The namespace is being deleted: writes into it are refused until it is gone, so stop trying. */
export function isNamespaceTerminating(e: unknown): boolean {
  return e instanceof ApiError && e.status === 403 && e.message.includes('because it is being terminated');
}
export function isConflict(e: unknown): boolean {
  return e instanceof ApiError && e.status === 409;
}

export interface ResourceRef {
  /** '' or 'core' for the core group. */
  group: string;
  version: string;
  plural: string;
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
}

/**
 * REST path of a resource or collection. A name that is empty, "." or "..", or a namespace "." or
 * "..", would address another path once the URL is normalised (the collection, the API's root):
 * refused.
 */
export function resourcePath(r: ResourceRef): string {
  for (const [what, value] of [['name', r.name], ['namespace', r.namespace]] as const) {
    if (value === '.' || value === '..' || (what === 'name' && value === '')) throw new Error(`refusing a request for ${r.plural} with the ${what} ${JSON.stringify(value)}: not an object name`);
  }
  const base = r.group === '' || r.group === 'core' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespace !== undefined ? `/namespaces/${encodeURIComponent(r.namespace)}` : '';
  const name = r.name !== undefined ? `/${encodeURIComponent(r.name)}` : '';
  const sub = r.subresource !== undefined ? `/${r.subresource}` : '';
  return `${base}${ns}/${r.plural}${name}${sub}`;
}

/**
 * The URL of a request: `path` below the server URL's own path (a prefix, for API servers behind
 * a proxy, e.g. https://rancher.example/k8s/clusters/c-1), with the query's defined values.
 */
export function requestUrl(server: URL, path: string, query: RequestOptions['query'] = {}): URL {
  const url = new URL(server.pathname.replace(/\/+$/, '') + path, server);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

export type RequestListener = (verb: Verb, path: string) => void;

/** One answered (or failed) request, as client-go's rest_client metrics see it. */
export interface ResponseInfo {
  verb: Verb;
  /** The HTTP method. */
  method: string;
  /** The HTTP status, or `<error>` when none came (client-go's label for a transport error). */
  code: string;
  /** From sending to the whole body (a watch: to its response headers). */
  seconds: number;
  host: string;
}
export type ResponseListener = (r: ResponseInfo) => void;

/** The resource (plural, with its subresource) and namespace a REST path names. */
export function resourceOfPath(path: string): { resource: string; namespace: string | undefined } {
  const parts = path.split('?')[0]?.split('/').filter((p) => p !== '') ?? [];
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const sub = rest[4];
    return { resource: sub === undefined ? (rest[2] ?? '') : `${rest[2] ?? ''}/${sub}`, namespace: decodeURIComponent(rest[1] ?? '') };
  }
  const sub = rest[2];
  return { resource: sub === undefined ? (rest[0] ?? '') : `${rest[0] ?? ''}/${sub}`, namespace: undefined };
}

interface Connection {
  server: URL;
  agent: https.Agent | http.Agent;
  headers: () => Promise<Record<string, string>>;
}

/** What every call may add: cancellation, and a timeout shorter (or longer) than the default. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

export interface RequestOptions extends CallOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
}

/** Default timeouts of a client (all in milliseconds). */
export interface KubeClientOptions {
  /** A GET of one object. Default 10 s. */
  readTimeoutMs?: number;
  /** A LIST (a large collection legitimately takes longer than one object). Default 60 s. */
  listTimeoutMs?: number;
  /** create, apply, patch, update, delete. Default 20 s. */
  writeTimeoutMs?: number;
  /** A watch may last its timeoutSeconds plus this much before it is cut. Default 30 s. */
  watchSlackMs?: number;
}

const DEFAULT_TIMEOUTS: Required<KubeClientOptions> = { readTimeoutMs: 10_000, listTimeoutMs: 60_000, writeTimeoutMs: 20_000, watchSlackMs: 30_000 };
/** A watch asked for without timeoutSeconds gets this one (so that it is bounded too). */
const DEFAULT_WATCH_TIMEOUT_SECONDS = 300;

/**
 * A failure that says the API server could not be reached (or did not answer in time), rather
 * than that it refused the request: a timeout, or the connection refused, reset or unroutable.
 */
export function isUnreachable(e: unknown): boolean {
  if (isRequestTimeout(e)) return true;
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code);
}

export class KubeClient {
  /** Every request made, by verb: the tests and the benchmark read this. */
  readonly counts: Record<Verb, number> = { get: 0, list: 0, watch: 0, create: 0, apply: 0, patch: 0, update: 0, delete: 0 };
  private readonly listeners: RequestListener[] = [];
  private readonly responseListeners: ResponseListener[] = [];
  private tracer: Tracer = NOOP_TRACER;
  private readonly reconnectListeners: (() => void)[] = [];
  /** A request failed to reach the API server, and none has succeeded since. */
  private unreachable = false;
  private readonly conn: Connection;
  private readonly timeouts: Required<KubeClientOptions>;

  private constructor(conn: Connection, opts: KubeClientOptions) {
    this.conn = conn;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts };
  }

  /** From a kubeconfig path (or several), else the usual defaults (~/.kube/config, in-cluster). */
  static async fromKubeconfig(kubeconfig?: string, opts: KubeClientOptions = {}): Promise<KubeClient> {
    const cfg = await loadClientConfig({ kubeconfig });
    const agentOpts = { keepAlive: true, maxSockets: 128 };
    const agent = cfg.server.protocol === 'https:' ? new https.Agent({ ...agentOpts, ...cfg.tls }) : new http.Agent(agentOpts);
    return new KubeClient({ server: cfg.server, agent, headers: cfg.headers }, opts);
  }

  /** Calls `fn` for every request (used by metrics). */
  onRequest(fn: RequestListener): void {
    this.listeners.push(fn);
  }

  /** Calls `fn` when each request is answered or fails (metrics). */
  onResponse(fn: ResponseListener): void {
    this.responseListeners.push(fn);
  }

  /** Puts every request (but watches, which outlive any caller) in a span, a child of the caller's. */
  useTracer(tracer: Tracer): void {
    this.tracer = tracer;
  }

  private observe(verb: Verb, method: string, code: string, started: number): void {
    const r: ResponseInfo = { verb, method, code, seconds: (performance.now() - started) / 1000, host: this.conn.server.host };
    for (const l of this.responseListeners) l(r);
  }

  /**
   * Calls `fn` when a request succeeds after requests failed to reach the API server (a network
   * stall, an outage): open watches may have died without a word meanwhile, and should be
   * restarted from where they were.
   */
  onReconnected(fn: () => void): void {
    this.reconnectListeners.push(fn);
  }

  private noteReached(): void {
    if (!this.unreachable) return;
    this.unreachable = false;
    for (const fn of this.reconnectListeners) fn();
  }

  private noteFailure(e: unknown): void {
    if (isUnreachable(e)) this.unreachable = true;
  }

  totalRequests(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  private count(verb: Verb, path: string): void {
    this.counts[verb]++;
    for (const l of this.listeners) l(verb, path);
  }

  private timeoutOf(verb: Verb): number {
    if (verb === 'get') return this.timeouts.readTimeoutMs;
    if (verb === 'list') return this.timeouts.listTimeoutMs;
    return this.timeouts.writeTimeoutMs;
  }

  /** Sends the request; `signal` (the deadline's) ends it wherever it is, even mid-response. */
  private async send(method: string, path: string, o: RequestOptions, signal: AbortSignal): Promise<http.IncomingMessage> {
    const url = requestUrl(this.conn.server, path, o.query);
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    const mod = url.protocol === 'https:' ? https : http;
    // Credentials may come from a file or an exec plugin: that counts against the deadline too.
    const auth = await raceAbort(this.conn.headers(), signal);
    return new Promise((resolve, reject) => {
      const req = mod.request(url, {
        method,
        agent: this.conn.agent,
        headers: {
          ...auth,
          Accept: 'application/json',
          ...(body !== undefined ? { 'Content-Type': o.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}),
        },
        signal,
      }, resolve);
      req.on('error', reject);
      req.end(body);
    });
  }

  /** One request; JSON in, JSON out; non-2xx → ApiError; bounded by its timeout and signal. */
  async request<T>(verb: Verb, method: string, path: string, o: RequestOptions = {}): Promise<T> {
    this.count(verb, path);
    const { resource, namespace } = resourceOfPath(path);
    // A LIST is the informers' (re-)sync, outside any reconcile or CSI call: debug, not info.
    const level = verb === 'list' ? 'debug' : 'info';
    const attributes = { 'http.request.method': method, 'url.path': path, 'server.address': this.conn.server.hostname, 'k8s.verb': verb, 'k8s.resource': resource, 'k8s.namespace.name': namespace };
    return this.tracer.inSpan(`${verb} ${resource}`, { target: 'listener_operator::kube', level, kind: 'client', attributes }, async (span) => {
      const started = performance.now();
      let code = '<error>';
      const deadline = new Deadline(`${method} ${path}`, o.timeoutMs ?? this.timeoutOf(verb), o.signal);
      try {
        const res = await this.send(method, path, o, deadline.signal);
        const text = await readBody(res);
        this.noteReached();
        const status = res.statusCode ?? 0;
        code = String(status);
        span.setAttributes({ 'http.response.status_code': status });
        if (status < 200 || status >= 300) throw toApiError(status, text, `${method} ${path}`);
        return (text === '' ? {} : JSON.parse(text)) as T;
      } catch (e) {
        const reason = deadline.explain(e);
        this.noteFailure(reason);
        throw reason;
      } finally {
        deadline.clear();
        this.observe(verb, method, code, started);
      }
    });
  }

  get<T>(r: ResourceRef, o: CallOptions = {}): Promise<T> {
    return this.request<T>('get', 'GET', resourcePath(r), o);
  }

  async getOptional<T>(r: ResourceRef, o: CallOptions = {}): Promise<T | undefined> {
    try {
      return await this.get<T>(r, o);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  list<T>(r: ResourceRef, query: RequestOptions['query'] = {}, o: CallOptions = {}): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>('list', 'GET', resourcePath(r), { ...o, query });
  }

  create<T>(r: ResourceRef, body: unknown, o: CallOptions = {}): Promise<T> {
    return this.request<T>('create', 'POST', resourcePath({ ...r, name: undefined }), { ...o, body });
  }

  /**
   * Server-side apply (JSON is YAML) with the given field manager; `dryRun`: the API server
   * validates and admits it but persists nothing.
   */
  apply<T>(r: ResourceRef, body: unknown, fieldManager: string, force = false, o: CallOptions & { dryRun?: boolean } = {}): Promise<T> {
    const { dryRun, ...call } = o;
    return this.request<T>('apply', 'PATCH', resourcePath(r), {
      ...call, body, contentType: 'application/apply-patch+yaml', query: { fieldManager, force: force ? true : undefined, dryRun: dryRun === true ? 'All' : undefined },
    });
  }

  /** JSON merge patch (RFC 7386): for objects others also write (Pod labels, PodListeners). */
  mergePatch<T>(r: ResourceRef, body: unknown, fieldManager?: string, o: CallOptions = {}): Promise<T> {
    return this.request<T>('patch', 'PATCH', resourcePath(r), { ...o, body, contentType: 'application/merge-patch+json', query: { fieldManager } });
  }

  replace<T>(r: ResourceRef, body: unknown, o: CallOptions = {}): Promise<T> {
    return this.request<T>('update', 'PUT', resourcePath(r), { ...o, body });
  }

  delete(r: ResourceRef, query: RequestOptions['query'] = {}, o: CallOptions = {}): Promise<unknown> {
    return this.request<unknown>('delete', 'DELETE', resourcePath(r), { ...o, query });
  }

  /**
   * Streams watch events until the server ends the stream, the signal aborts (then it resolves),
   * the watch outlives its timeoutSeconds plus the slack (a RequestTimeout), or an error. Calls
   * `onEvent` for each event in order. An ERROR event's Status (e.g. 410 Gone) is thrown as ApiError.
   */
  async watch<T>(r: ResourceRef, query: RequestOptions['query'], onEvent: (e: WatchEvent<T>) => void, signal?: AbortSignal): Promise<void> {
    const path = resourcePath(r);
    this.count('watch', path);
    const timeoutSeconds = typeof query?.timeoutSeconds === 'number' ? query.timeoutSeconds : DEFAULT_WATCH_TIMEOUT_SECONDS;
    const deadline = new Deadline(`watch ${path}`, timeoutSeconds * 1000 + this.timeouts.watchSlackMs, signal);
    const started = performance.now();
    let answered = false;
    try {
      const res = await this.send('GET', path, { query: { ...query, timeoutSeconds, watch: true } }, deadline.signal);
      const status = res.statusCode ?? 0;
      answered = true;
      this.observe('watch', 'GET', String(status), started);
      if (status !== 200) throw toApiError(status, await readBody(res), `watch ${path}`);
      await readEvents(res, onEvent);
    } catch (e) {
      if (!answered) this.observe('watch', 'GET', '<error>', started);
      if (signal?.aborted === true) return;
      throw deadline.explain(e);
    } finally {
      deadline.clear();
    }
  }

  /** Closes idle keep-alive sockets (so a short-lived CLI or test can exit promptly). */
  close(): void {
    this.conn.agent.destroy();
  }
}

async function readBody(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** One JSON event per line. */
async function readEvents<T>(res: http.IncomingMessage, onEvent: (e: WatchEvent<T>) => void): Promise<void> {
  let buf = '';
  for await (const chunk of res) {
    buf += (chunk as Buffer).toString('utf8');
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line !== '') deliver(line, onEvent);
      nl = buf.indexOf('\n');
    }
  }
}

function deliver<T>(line: string, onEvent: (e: WatchEvent<T>) => void): void {
  const ev = JSON.parse(line) as WatchEvent<T>;
  if (ev.type === 'ERROR') {
    const st = ev.object as { code?: number; reason?: string; message?: string };
    throw new ApiError(st.code ?? 500, st.reason ?? 'Unknown', st.message ?? 'watch error');
  }
  onEvent(ev);
}

function toApiError(status: number, text: string, what: string): ApiError {
  try {
    const st = JSON.parse(text) as { reason?: string; message?: string };
    return new ApiError(status, st.reason ?? 'Unknown', `${what}: ${status} ${st.reason ?? ''}: ${st.message ?? text}`);
  } catch {
    return new ApiError(status, 'Unknown', `${what}: ${status}: ${text.slice(0, 500)}`);
  }
}
