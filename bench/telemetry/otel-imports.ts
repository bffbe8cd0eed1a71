// Preloaded with `node --import` by the telemetry benchmark: reports on stderr, once per module,
// every OpenTelemetry module the process loads, so the benchmark can show that a process
// without exporters loads none.
import { registerHooks } from 'node:module';

const seen = new Set<string>();
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context);
    if (r.url.includes('/@opentelemetry/') && !seen.has(r.url)) {
      seen.add(r.url);
      process.stderr.write(`otel-module-loaded ${r.url}\n`);
    }
    return r;
  },
});
