// Running the operator as a ServiceAccount of the real API server: a token from the TokenRequest
// API, a kubeconfig with it, and a recording HTTPS proxy in front of the API server that notes
// every request (method, path, status) so a test can list the permissions the code really used.
// (HTTPS, because client-go sends no bearer token to a plain-HTTP server.)
import { execFile } from 'node:child_process';
import https from 'node:https';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeClient } from '../../src/k8s/client.ts';
import { resourcePath } from '../../src/k8s/client.ts';
import { permissionKey } from '../../src/k8s/permissions.ts';

/** A token for `namespace/name` (TokenRequest API: POST serviceaccounts/<name>/token). */
export async function serviceAccountToken(admin: KubeClient, namespace: string, name: string): Promise<string> {
  const path_ = resourcePath({ group: '', version: 'v1', plural: 'serviceaccounts', namespace, name, subresource: 'token' });
  const res = await admin.request<{ status: { token: string } }>('create', 'POST', path_, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  return res.status.token;
}

/** Writes a kubeconfig that authenticates with `token` against `server` (trusting `caPem`); returns its path. */
export async function writeTokenKubeconfig(dir: string, server: string, caPem: string, token: string): Promise<string> {
  const file = path.join(dir, 'serviceaccount.kubeconfig');
  const config = {
    apiVersion: 'v1', kind: 'Config', 'current-context': 'sa',
    clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'sa', user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: 'local', user: 'sa' } }],
  };
  await writeFile(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string;
  status: number;
}

export interface RecordingProxy {
  /** https://127.0.0.1:<port>: point a kubeconfig here. */
  url: string;
  /** Its self-signed serving certificate (PEM), for the kubeconfig. */
  caPem: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * An HTTPS proxy (self-signed certificate for 127.0.0.1, made in `dir`) to the API server of
 * `adminKubeconfig`, using only its server and CA: each request keeps its own Authorization
 * header, so the API server authorizes the caller, not the admin.
 */
export async function startRecordingProxy(adminKubeconfig: string, dir: string): Promise<RecordingProxy> {
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=recording-proxy', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', 'proxy.key', '-out', 'proxy.crt'], { cwd: dir });
  const caPem = await readFile(path.join(dir, 'proxy.crt'), 'utf8');
  const key = await readFile(path.join(dir, 'proxy.key'), 'utf8');
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig);
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('no cluster in the admin kubeconfig');
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const upstream = new URL(cluster.server);
  const agent = new https.Agent({ ca: opts.ca, keepAlive: true });
  const requests: RecordedRequest[] = [];
  const server = https.createServer({ cert: caPem, key }, (req, res) => {
    const url = new URL(req.url ?? '/', upstream);
    const headers = { ...req.headers, host: upstream.host };
    const forward = https.request(url, { method: req.method, headers, agent }, (up) => {
      requests.push({
        method: req.method ?? 'GET', path: url.pathname, query: url.searchParams,
        contentType: req.headers['content-type'] ?? '', status: up.statusCode ?? 0,
      });
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => { res.destroy(); });
    // The client went away (a watch stopped): stop the upstream request too.
    res.on('close', () => { if (!res.writableFinished) forward.destroy(); });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    caPem,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => { agent.destroy(); resolve(); });
    }),
  };
}

/**
 * The RBAC permissions (`group/resource:verb` keys) a request needed. Server-side apply that
 * created its object (201) also needed `create`.
 */
export function requiredPermissions(r: RecordedRequest): string[] {
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/(.*)$/.exec(r.path);
  if (m === null) return []; // discovery, /version, /healthz: no resource
  const group = m[1] ?? '';
  let parts = (m[2] ?? '').split('/');
  if (parts[0] === 'namespaces' && parts.length >= 3) parts = parts.slice(2);
  const [plural, name, sub] = parts;
  if (plural === undefined) return [];
  const resource = sub === undefined ? plural : `${plural}/${sub}`;
  return verbsOf(r, name).map((v) => permissionKey(group, resource, v));
}

function verbsOf(r: RecordedRequest, name: string | undefined): string[] {
  switch (r.method) {
    case 'GET': return [r.query.get('watch') === 'true' ? 'watch' : name === undefined ? 'list' : 'get'];
    case 'POST': return ['create'];
    case 'PUT': return ['update'];
    case 'PATCH': return r.status === 201 && r.contentType.startsWith('application/apply-patch') ? ['patch', 'create'] : ['patch'];
    case 'DELETE': return [name === undefined ? 'deletecollection' : 'delete'];
    default: return [];
  }
}
