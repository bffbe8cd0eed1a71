// /healthz (process alive), /readyz (caches synced, socket listening) and /metrics (Prometheus).
import http from 'node:http';
import type { Registry } from 'prom-client';
import { parseHostPort } from '../util/host-port.ts';

export interface HttpServerHandle {
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer(address: string, registry: Registry, ready: () => boolean): Promise<HttpServerHandle | undefined> {
  if (address === '') return undefined;
  const hp = parseHostPort(address);
  if (hp === undefined) throw new Error(`--http-address "${address}" is not host:port`);
  const server = http.createServer((req, res) => {
    void (async (): Promise<void> => {
      if (req.url === '/healthz') {
        res.writeHead(200).end('ok');
      } else if (req.url === '/readyz') {
        const ok = ready();
        res.writeHead(ok ? 200 : 503).end(ok ? 'ok' : 'not ready');
      } else if (req.url === '/metrics') {
        res.writeHead(200, { 'Content-Type': registry.contentType }).end(await registry.metrics());
      } else {
        res.writeHead(404).end();
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(hp.port, hp.host, resolve);
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : hp.port,
    close: () => new Promise((resolve) => { server.close(() => { resolve(); }); server.closeAllConnections(); }),
  };
}
