// Components shared by both modes, for the lifecycle manager (manager.ts).
import type { Registry } from 'prom-client';
import type { Logger } from './log.ts';
import type { Component } from './manager.ts';
import { startHttpServer } from './http.ts';

/** /healthz, /readyz and /metrics; nothing when `address` is ''. */
export function httpComponent(address: string, registry: Registry, ready: () => boolean, log: Logger): Component {
  return {
    name: 'HTTP server',
    start: async () => {
      const http = await startHttpServer(address, registry, ready);
      if (http === undefined) return {};
      log.info({ address, port: http.port }, 'Serving /healthz, /readyz and /metrics');
      return { stop: () => http.close() };
    },
  };
}
