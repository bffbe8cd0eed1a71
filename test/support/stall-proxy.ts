// A fault-injecting HTTPS proxy on loopback in front of a real API server. It forwards every
// request until told to stall; then a matching request is held open and never forwarded or
// answered, and (when everything stalls) open response streams such as watches freeze: what a
// network partition or a hung API server looks like to a client. Resuming forwards new requests
// again and resets the held ones; a frozen stream stays frozen (its connection is as dead as one
// a network silently dropped: no error, no more data) until the proxy closes.
//
// It terminates TLS with the control plane's own serving certificate (valid for 127.0.0.1), so a
// kubeconfig pointing here keeps the cluster's CA; upstream it authenticates with the admin
// kubeconfig's credentials.
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { loadClientConfig } from '../../src/k8s/kubeconfig.ts';

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
}

export type RequestMatch = (r: ProxiedRequest) => boolean;

export interface StallProxy {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** A kubeconfig (the admin's, with the server replaced) that sends every request through the proxy. */
  readonly kubeconfig: string;
  /** Every request received, in order, with whether it was held and when it arrived (ms since the epoch). */
  readonly requests: (ProxiedRequest & { held: boolean; at: number })[];
  /** Hold the requests that match from now on; without a match, hold everything and freeze open streams. */
  stall(match?: RequestMatch): void;
  /** Forward new requests again; held requests are reset; frozen streams stay frozen. */
  resume(): void;
  /** Requests held and still open (a client that gives up closes its connection). */
  held(): number;
  close(): Promise<void>;
}

/** One forwarded request; frozen ones deliver nothing more to the client, not even the response head. */
interface Exchange {
  frozen: boolean;
  upstream?: IncomingMessage;
}

function freeze(x: Exchange): void {
  x.frozen = true;
  x.upstream?.pause();
}

/**
 * A proxy for the control plane in `clusterDir` (test/support/cluster.ts layout: admin.kubeconfig,
 * pki/server.crt, pki/server.key); its kubeconfig is written into `dir`.
 */
export async function startStallProxy(clusterDir: string, dir: string): Promise<StallProxy> {
  const adminKubeconfig = path.join(clusterDir, 'admin.kubeconfig');
  const [cert, key, adminText, upstreamCfg] = await Promise.all([
    readFile(path.join(clusterDir, 'pki', 'server.crt')),
    readFile(path.join(clusterDir, 'pki', 'server.key')),
    readFile(adminKubeconfig, 'utf8'),
    loadClientConfig({ kubeconfig: adminKubeconfig }),
  ]);
  const upstreamUrl = upstreamCfg.server;
  const agent = new https.Agent({ ...upstreamCfg.tls, keepAlive: true });
  const requests: (ProxiedRequest & { held: boolean; at: number })[] = [];
  const held = new Set<ServerResponse>();
  const exchanges = new Set<Exchange>();
  let match: RequestMatch | undefined;
  let all = false;

  const forward = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const exchange: Exchange = { frozen: false };
    exchanges.add(exchange);
    const up = https.request(url, { method: req.method, headers: { ...req.headers, host: upstreamUrl.host }, agent }, (upstream) => {
      exchange.upstream = upstream;
      // Frozen while waiting for the response (a watch's head may come only with its first event).
      if (exchange.frozen) {
        upstream.pause();
        return;
      }
      res.writeHead(upstream.statusCode ?? 502, upstream.headers);
      upstream.on('data', (chunk: Buffer) => { res.write(chunk); });
      upstream.on('end', () => { res.end(); });
      upstream.on('error', () => { res.destroy(); });
    });
    up.on('error', () => { res.destroy(); });
    // The client went away (it timed out, or a watch was stopped): stop the upstream request too.
    res.on('close', () => {
      exchanges.delete(exchange);
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  };

  const server = https.createServer({ cert, key }, (req, res) => {
    const url = new URL(req.url ?? '/', upstreamUrl);
    const r: ProxiedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams };
    const hold = all || (match?.(r) ?? false);
    requests.push({ ...r, held: hold, at: Date.now() });
    if (hold) {
      held.add(res);
      res.on('close', () => { held.delete(res); });
      req.resume(); // read and drop the body: nothing is forwarded
      return;
    }
    forward(req, res, url);
  });
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;
  const kubeconfig = path.join(dir, 'stall-proxy.kubeconfig');
  await writeFile(kubeconfig, adminText.replaceAll(upstreamUrl.origin, url), { mode: 0o600 });

  return {
    url,
    kubeconfig,
    requests,
    stall: (m) => {
      if (m === undefined) {
        all = true;
        for (const x of exchanges) freeze(x);
      } else {
        match = m;
      }
    },
    resume: () => {
      all = false;
      match = undefined;
      for (const res of held) res.destroy();
      held.clear();
    },
    held: () => held.size,
    close: () => new Promise((resolve) => {
      for (const res of held) res.destroy();
      for (const x of exchanges) x.upstream?.destroy();
      server.closeAllConnections();
      server.close(() => { agent.destroy(); resolve(); });
    }),
  };
}

/** A proxy for the shared control plane of the test run (see global-setup.ts), closed when the test ends. */
export async function sharedStallProxy(t: { after: (fn: () => Promise<void>) => void }, dir: string): Promise<StallProxy> {
  const clusterDir = process.env.LISTENER_TEST_CLUSTER_DIR;
  if (clusterDir === undefined || clusterDir === '') throw new Error('LISTENER_TEST_CLUSTER_DIR is not set: run integration tests with the global setup');
  const proxy = await startStallProxy(clusterDir, dir);
  t.after(() => proxy.close());
  return proxy;
}
