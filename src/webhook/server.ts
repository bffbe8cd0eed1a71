// The conversion webhook's HTTPS server (upstream: port 8443, `POST /convert/<crd name>`,
// `GET /health`). The serving certificate can be swapped while it runs (setCertificate): new
// connections get the new one, open ones finish with the old one, so a rotation fails no request.
//
// Every request is bounded (body size, time) and every malformed one gets a status with a
// reason: 404 for an unknown path, 405 for a wrong method, 415 for a body that is not JSON by its
// content type, 413 for one over the limit, 400 for one that does not parse or is not a
// ConversionReview we can answer (review.ts).
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../cli/log.ts';
import { parseHostPort } from '../util/host-port.ts';
import type { IssuedCertificate } from './certificates.ts';
import { answerConversionReview } from './review.ts';

/** Upstream (axum's default) refuses bodies over 2 MiB; a review of many objects can be larger. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;

export interface WebhookServerOptions {
  address: string;
  certificate: IssuedCertificate;
  log: Logger;
  maxBodyBytes?: number;
  /** Called with each answer's path kind and status (metrics). */
  onRequest?: (route: Route, status: number) => void;
}

export interface WebhookServer {
  readonly port: number;
  /** Serves new connections with this certificate from now on. */
  setCertificate(c: IssuedCertificate): void;
  close(): Promise<void>;
}

class HttpProblem extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * The body, at most `limit` bytes. An oversized one is read to its end and dropped before the
 * 413 is sent (up to 4 × the limit, bounded by the request timeout), so that the client gets the
 * answer instead of a connection closed under its feet; beyond that the connection is cut.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? '0');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > 4 * limit) {
      req.destroy();
      break;
    }
    if (size <= limit && declared <= limit) chunks.push(b);
  }
  if (size > limit || declared > limit) throw new HttpProblem(413, `the body (${Math.max(size, declared)} bytes) is larger than ${limit} bytes`);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: string, type: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra }).end(body);
}

async function convert(req: IncomingMessage, crdName: string, limit: number): Promise<{ status: number; body: string; json: boolean }> {
  if (req.method !== 'POST') throw new HttpProblem(405, 'only POST converts');
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpProblem(415, `the content type must be application/json, not ${JSON.stringify(type ?? '')}`);
  const text = await readBody(req, limit);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new HttpProblem(400, `the body is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const answer = answerConversionReview(crdName, parsed);
  if (answer.status !== 200) throw new HttpProblem(answer.status, answer.message);
  return { status: 200, body: JSON.stringify(answer.body), json: true };
}

type Route = 'convert' | 'health' | 'other';

function routeOf(url: string | undefined): Route {
  const path = (url ?? '').split('?')[0] ?? '';
  return path === '/health' ? 'health' : path.startsWith('/convert/') ? 'convert' : 'other';
}

async function route(req: IncomingMessage, limit: number): Promise<{ route: Route; status: number; body: string; json: boolean }> {
  const path = (req.url ?? '').split('?')[0] ?? '';
  if (path === '/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpProblem(405, 'only GET');
    return { route: 'health', status: 200, body: 'ok', json: false };
  }
  const m = /^\/convert\/([^/]+)$/.exec(path);
  if (m === null) throw new HttpProblem(404, `nothing is served at ${JSON.stringify(path.slice(0, 200))}: POST /convert/<crd name> or GET /health`);
  return { route: 'convert', ...await convert(req, decodeURIComponent(m[1] ?? ''), limit) };
}

export async function startWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const hp = parseHostPort(o.address);
  if (hp === undefined) throw new Error(`webhook address ${JSON.stringify(o.address)} is not host:port`);
  const limit = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const server = https.createServer({ cert: o.certificate.certPem, key: o.certificate.keyPem, minVersion: 'TLSv1.2' }, (req, res) => {
    const started = Date.now();
    void route(req, limit).then(
      (r) => {
        send(res, r.status, r.body, r.json ? 'application/json' : 'text/plain');
        o.onRequest?.(r.route, r.status);
        o.log.debug({ method: req.method, path: req.url, status: r.status, ms: Date.now() - started }, 'Webhook request');
      },
      (e: unknown) => {
        const status = e instanceof HttpProblem ? e.status : 500;
        const message = e instanceof Error ? e.message : String(e);
        const path = routeOf(req.url);
        const headers: Record<string, string> = status === 405 ? { Allow: path === 'health' ? 'GET' : 'POST' } : {};
        send(res, status, `${message}\n`, 'text/plain', headers);
        o.onRequest?.(path, status);
        o.log.info({ method: req.method, path: req.url?.slice(0, 200), status, reason: message }, 'Webhook request refused');
      },
    );
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  server.on('tlsClientError', (e) => { o.log.debug({ err: e.message }, 'Webhook TLS handshake failed'); });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(hp.port, hp.host, () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : hp.port;
  o.log.info({ address: o.address, port }, 'Conversion webhook listening');
  return {
    port,
    setCertificate: (c) => { server.setSecureContext({ cert: c.certPem, key: c.keyPem, minVersion: 'TLSv1.2' }); },
    close: () => new Promise((resolve) => {
      server.close(() => { resolve(); });
      server.closeIdleConnections();
    }),
  };
}
