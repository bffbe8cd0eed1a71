// /healthz (process alive), /readyz (caches synced, socket listening) and /metrics (Prometheus).
import http from 'node:http';
import type { Registry } from 'prom-client';

export interface HttpServerHandle {
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer(address: string, registry: Registry, ready: () => boolean): Promise<HttpServerHandle | undefined> {
  if (address === '') return undefined;
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  const port = Number(address.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--http-address "${address}" is not host:port`);
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
    server.listen(port, host === '' ? undefined : host, resolve);
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : port,
    close: () => new Promise((resolve) => { server.close(() => { resolve(); }); server.closeAllConnections(); }),
  };
}
