import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levelFor } from './log-directives.ts';
import { parseArgs, type Config, type ControllerConfig, type NodeConfig } from './config.ts';

/** What upstream's chart renders into the controller container by default (values.yaml as shipped). */
const UPSTREAM_CONTROLLER_ENV = {
  CSI_ENDPOINT: '/csi/csi.sock',
  OPERATOR_IMAGE: 'oci.stackable.tech/sdp/listener-operator:26.7.0',
  OPERATOR_NAMESPACE: 'stackable-operators',
  OPERATOR_SERVICE_NAME: 'listener-operator',
  IMAGE_REPOSITORY: 'oci.stackable.tech/sdp',
  KUBERNETES_NODE_NAME: 'worker-1',
  LISTENER_CLASS_PRESET: 'ephemeral-nodes',
};
/** The node DaemonSet's: the same without the preset. */
const UPSTREAM_NODE_ENV = Object.fromEntries(Object.entries(UPSTREAM_CONTROLLER_ENV).filter(([k]) => k !== 'LISTENER_CLASS_PRESET'));

function run(argv: string[], env: Record<string, string>): Config {
  const r = parseArgs(argv, env);
  assert.equal(r.kind, 'run', r.kind === 'exit' ? r.stderr : '');
  if (r.kind !== 'run') throw new Error('unreachable');
  return r.config;
}
const controller = (env: Record<string, string>, argv: string[] = []): ControllerConfig => {
  const c = run(['run', 'controller', ...argv], env);
  assert.equal(c.mode, 'controller');
  return c;
};
const node = (env: Record<string, string>, argv: string[] = []): NodeConfig => {
  const c = run(['run', 'node', ...argv], env);
  assert.equal(c.mode, 'node');
  return c;
};
/** The one line a refused configuration prints, and its exit code. */
function refused(argv: string[], env: Record<string, string>): string {
  const r = parseArgs(argv, env);
  assert.equal(r.kind, 'exit', `accepted: ${argv.join(' ')} ${JSON.stringify(env)}`);
  if (r.kind !== 'exit') return '';
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, `more than one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  return r.stderr;
}

test('upstream\'s chart, as it renders by default, starts both modes', () => {
  const c = controller(UPSTREAM_CONTROLLER_ENV);
  assert.equal(c.csiEndpoint, '/csi/csi.sock');
  assert.equal(c.operatorImage, 'oci.stackable.tech/sdp/listener-operator:26.7.0');
  assert.equal(c.operatorNamespace, 'stackable-operators');
  assert.equal(c.operatorServiceName, 'listener-operator');
  assert.equal(c.imageRepository, 'oci.stackable.tech/sdp');
  assert.equal(c.nodeName, 'worker-1');
  assert.equal(c.preset, 'ephemeral-nodes');
  assert.equal(c.clusterDomain, undefined, 'unset: read from the kubelet');
  assert.equal(c.crdMaintenance, true);
  assert.equal(c.webhookAddress, '0.0.0.0:8443');
  assert.deepEqual(c.eos, { mode: 'offline', intervalMs: 86_400_000, disabled: false });
  assert.equal(c.telemetry.console.enabled, true);
  assert.equal(c.telemetry.console.format, 'plain');
  assert.equal(c.telemetry.console.directives.defaultLevel, 'info');
  assert.equal(c.telemetry.file, undefined);
  assert.equal(c.telemetry.otelTraces.enabled, false);
  assert.equal(c.telemetry.otelLogs.enabled, false);
  const n = node(UPSTREAM_NODE_ENV);
  assert.equal(n.nodeName, 'worker-1');
  assert.equal(n.csiEndpoint, '/csi/csi.sock');
});

test('every variable upstream\'s chart can set reaches its setting', () => {
  // [variable, value as the chart renders it, what it must set]
  const table: [string, string, (c: ControllerConfig) => unknown, unknown][] = [
    ['KUBERNETES_CLUSTER_DOMAIN', 'my-cluster.local', (c) => c.clusterDomain, 'my-cluster.local'],
    ['LISTENER_CLASS_PRESET', 'stable-nodes', (c) => c.preset, 'stable-nodes'],
    ['LISTENER_CLASS_PRESET', 'none', (c) => c.preset, 'none'],
    ['CONSOLE_LOG_DISABLED', 'true', (c) => c.telemetry.console.enabled, false],
    ['CONSOLE_LOG_LEVEL', 'debug', (c) => levelFor(c.telemetry.console.directives, 'listener_operator::csi'), 'debug'],
    ['CONSOLE_LOG_LEVEL', 'info,listener=debug', (c) => levelFor(c.telemetry.console.directives, 'listener_operator::controller'), 'debug'],
    ['CONSOLE_LOG_FORMAT', 'json', (c) => c.telemetry.console.format, 'json'],
    ['FILE_LOG_DIRECTORY', '/stackable/logs/listener-operator', (c) => c.telemetry.file?.directory, '/stackable/logs/listener-operator'],
    ['OTEL_LOG_EXPORTER_ENABLED', 'true', (c) => c.telemetry.otelLogs.enabled, true],
    ['OTEL_LOG_EXPORTER_LEVEL', 'warn', (c) => c.telemetry.otelLogs.directives.defaultLevel, 'warn'],
    ['OTEL_TRACE_EXPORTER_ENABLED', 'true', (c) => c.telemetry.otelTraces.enabled, true],
    ['OTEL_TRACE_EXPORTER_LEVEL', 'debug', (c) => c.telemetry.otelTraces.directives.defaultLevel, 'debug'],
    ['EOS_DISABLED', 'true', (c) => c.eos.disabled, true],
    ['EOS_CHECK_MODE', 'offline', (c) => c.eos.mode, 'offline'],
    ['EOS_INTERVAL', '24h', (c) => c.eos.intervalMs, 86_400_000],
    ['EOS_INTERVAL', '30m', (c) => c.eos.intervalMs, 1_800_000],
    ['DISABLE_CRD_MAINTENANCE', 'true', (c) => c.crdMaintenance, false],
  ];
  for (const [name, value, get, want] of table) {
    assert.deepEqual(get(controller({ ...UPSTREAM_CONTROLLER_ENV, [name]: value })), want, `${name}=${value}`);
  }
  // The file log settings come with FILE_LOG_DIRECTORY, as the chart renders them.
  const file = controller({ ...UPSTREAM_CONTROLLER_ENV, FILE_LOG_DIRECTORY: '/logs', FILE_LOG_LEVEL: 'debug', FILE_LOG_ROTATION_PERIOD: 'hourly', FILE_LOG_MAX_FILES: '6' }).telemetry.file;
  assert.deepEqual({ ...file, directives: file?.directives.defaultLevel }, { directory: '/logs', rotation: 'hourly', maxFiles: 6, directives: 'debug' });
});

test('the shared flags may come before or after the mode; flags win over variables', () => {
  const before = run(['run', '--csi-endpoint', '/a.sock', '--kubernetes-node-name', 'n1', 'node'], {});
  const after = run(['run', 'node', '--csi-endpoint', '/a.sock', '--kubernetes-node-name', 'n1'], {});
  assert.deepEqual(before, after);
  const c = controller({ ...UPSTREAM_CONTROLLER_ENV, LISTENER_CLASS_PRESET: 'stable-nodes' }, ['--listener-class-preset', 'none', '--csi-endpoint', 'unix:///x.sock']);
  assert.equal(c.preset, 'none');
  assert.equal(c.csiEndpoint, '/x.sock');
  const flagsFirst = run(['run', '--csi-endpoint=/s', '--disable-crd-maintenance', '--kubernetes-cluster-domain=cluster.local', 'controller'], {});
  assert.ok(flagsFirst.mode === 'controller' && !flagsFirst.crdMaintenance);
});

test('KUBERNETES_NODE_NAME works in both modes; --node-name is an alias', () => {
  assert.equal(node({ CSI_ENDPOINT: '/s' }, ['--node-name', 'n2']).nodeName, 'n2');
  assert.equal(controller({ CSI_ENDPOINT: '/s', DISABLE_CRD_MAINTENANCE: 'true', KUBERNETES_NODE_NAME: 'n3' }).nodeName, 'n3');
  assert.match(refused(['run', 'node', '--node-name', 'a'], { CSI_ENDPOINT: '/s', KUBERNETES_NODE_NAME: 'b' }), /--node-name "a" and KUBERNETES_NODE_NAME \(--kubernetes-node-name\) "b" disagree/);
});

test('an empty variable counts as unset, as upstream\'s parser has it', () => {
  const c = controller({ ...UPSTREAM_CONTROLLER_ENV, KUBERNETES_CLUSTER_DOMAIN: '', CONSOLE_LOG_LEVEL: '', EOS_DISABLED: '' });
  assert.equal(c.clusterDomain, undefined);
  assert.equal(c.eos.disabled, false);
  // Ours, where "" means off: the HTTP server.
  assert.equal(controller({ ...UPSTREAM_CONTROLLER_ENV, HTTP_ADDRESS: '' }).httpAddress, '');
});

test('a malformed value stops the start with one line naming the variable and what is accepted', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ CONSOLE_LOG_LEVEL: 'verbose' }, /from env 'CONSOLE_LOG_LEVEL' is invalid.*accepted: a level/],
    [{ FILE_LOG_LEVEL: 'info,rustls=debug' }, /FILE_LOG_LEVEL.*"rustls=debug" names the target "rustls", which is none of ours/],
    [{ CONSOLE_LOG_FORMAT: 'logfmt' }, /CONSOLE_LOG_FORMAT.*Allowed choices are plain, json/],
    [{ LISTENER_CLASS_PRESET: 'everything' }, /LISTENER_CLASS_PRESET.*Allowed choices are none, ephemeral-nodes, stable-nodes/],
    [{ EOS_INTERVAL: '1 day' }, /EOS_INTERVAL.*unexpected character " ".*Accepted: whole numbers with units d, h, m, s, ms/],
    [{ EOS_INTERVAL: '0s' }, /EOS_INTERVAL.*longer than zero/],
    [{ EOS_CHECK_MODE: 'online' }, /EOS_CHECK_MODE.*Allowed choices are offline/],
    [{ EOS_DISABLED: 'yes' }, /EOS_DISABLED.*Accepted: true or false/],
    [{ DISABLE_CRD_MAINTENANCE: 'maybe' }, /DISABLE_CRD_MAINTENANCE.*Accepted: true or false/],
    [{ CONSOLE_LOG_DISABLED: '2' }, /CONSOLE_LOG_DISABLED.*Accepted: true or false/],
    [{ FILE_LOG_ROTATION_PERIOD: 'weekly', FILE_LOG_DIRECTORY: '/l' }, /FILE_LOG_ROTATION_PERIOD.*Allowed choices are minutely, hourly, daily, never/],
    [{ FILE_LOG_MAX_FILES: 'six', FILE_LOG_DIRECTORY: '/l' }, /FILE_LOG_MAX_FILES.*whole number/],
    [{ FILE_LOG_MAX_FILES: '6' }, /FILE_LOG_MAX_FILES .* need FILE_LOG_DIRECTORY/],
    [{ KUBERNETES_CLUSTER_DOMAIN: 'bad_domain' }, /KUBERNETES_CLUSTER_DOMAIN.*not a DNS domain/],
    [{ KUBERNETES_CLUSTER_DOMAIN: `${'a'.repeat(64)}.local` }, /KUBERNETES_CLUSTER_DOMAIN.*not a DNS domain/],
    [{ HTTP_ADDRESS: 'everywhere' }, /HTTP_ADDRESS.*host:port/],
    [{ WEBHOOK_ADDRESS: ':http' }, /WEBHOOK_ADDRESS.*host:port/],
    [{ RECONCILE_CONCURRENCY: '0' }, /RECONCILE_CONCURRENCY.*1 to 1000/],
    [{ LEADER_ELECT: 'on' }, /LEADER_ELECT.*true or false/],
    [{ WEBHOOK_CERTIFICATE_LIFETIME: '1y' }, /WEBHOOK_CERTIFICATE_LIFETIME.*unknown unit "y"/],
  ];
  for (const [env, message] of cases) {
    assert.match(refused(['run', 'controller'], { ...UPSTREAM_CONTROLLER_ENV, ...env }), message, JSON.stringify(env));
  }
});

test('missing required values are named with their variable and flag', () => {
  assert.match(refused(['run', 'controller'], {}), /CSI_ENDPOINT \(--csi-endpoint\) is required/);
  assert.match(refused(['run', 'node'], { CSI_ENDPOINT: '/s' }), /KUBERNETES_NODE_NAME \(--kubernetes-node-name\) is required by the node service/);
  assert.match(refused(['run', 'controller'], { CSI_ENDPOINT: '/s', DISABLE_CRD_MAINTENANCE: 'true' }), /KUBERNETES_CLUSTER_DOMAIN .* is unset, and reading it from the kubelet needs KUBERNETES_NODE_NAME/);
  assert.match(refused(['run', 'controller'], { CSI_ENDPOINT: '/s', KUBERNETES_CLUSTER_DOMAIN: 'cluster.local' }), /OPERATOR_NAMESPACE and OPERATOR_SERVICE_NAME .* are required to maintain the CRDs/);
  assert.match(refused(['run', 'controller'], { ...UPSTREAM_CONTROLLER_ENV, WEBHOOK_ADDRESS: '' }), /WEBHOOK_ADDRESS .* is off, but CRD maintenance points the CRDs at the webhook/);
  assert.match(refused(['run', 'controller'], { CSI_ENDPOINT: '/s', KUBERNETES_CLUSTER_DOMAIN: 'c.l', DISABLE_CRD_MAINTENANCE: 'true', LEADER_ELECT: 'true' }), /LEADER_ELECT .* needs OPERATOR_NAMESPACE/);
  // Maintenance off needs neither the namespace nor the service name.
  assert.equal(controller({ CSI_ENDPOINT: '/s', KUBERNETES_CLUSTER_DOMAIN: 'c.l', DISABLE_CRD_MAINTENANCE: 'true' }).crdMaintenance, false);
});

test('unknown flags and commands, and no command, exit non-zero', () => {
  assert.match(refused(['run', 'controller', '--nope'], UPSTREAM_CONTROLLER_ENV), /unknown option '--nope'/);
  assert.match(refused(['frobnicate'], {}), /unknown command 'frobnicate'/);
  const none = parseArgs([], {});
  assert.ok(none.kind === 'exit' && none.code !== 0 && /Usage: listener-operator/.test(none.stderr));
});

test('--help and --version print to stdout and exit 0; help lists every variable', () => {
  const help = parseArgs(['run', 'controller', '--help'], {});
  assert.ok(help.kind === 'exit' && help.code === 0);
  const text = help.kind === 'exit' ? help.stdout.replace(/\s+/g, ' ') : '';
  for (const env of [
    'CSI_ENDPOINT', 'CONSOLE_LOG_DISABLED', 'CONSOLE_LOG_FORMAT', 'CONSOLE_LOG_LEVEL', 'FILE_LOG_DIRECTORY', 'FILE_LOG_ROTATION_PERIOD', 'FILE_LOG_MAX_FILES',
    'FILE_LOG_LEVEL', 'OTEL_TRACE_EXPORTER_ENABLED', 'OTEL_TRACE_EXPORTER_LEVEL', 'OTEL_LOG_EXPORTER_ENABLED', 'OTEL_LOG_EXPORTER_LEVEL', 'KUBERNETES_CLUSTER_DOMAIN',
    'KUBERNETES_NODE_NAME', 'DISABLE_CRD_MAINTENANCE', 'EOS_CHECK_MODE', 'EOS_INTERVAL', 'EOS_DISABLED', 'OPERATOR_NAMESPACE', 'OPERATOR_SERVICE_NAME', 'IMAGE_REPOSITORY',
    'OPERATOR_IMAGE', 'KUBECONFIG', 'HTTP_ADDRESS', 'LISTENER_CLASS_PRESET', 'RECONCILE_CONCURRENCY', 'WATCH_NAMESPACE', 'LEADER_ELECT', 'WEBHOOK_ADDRESS',
  ]) {
    assert.match(text, new RegExp(`env: ${env}\\b`), env);
  }
  const version = parseArgs(['--version'], {});
  assert.ok(version.kind === 'exit' && version.code === 0 && /^\d+\.\d+\.\d+\n$/.test(version.stdout));
});

test('crd needs nothing', () => {
  assert.deepEqual(run(['crd'], {}), { mode: 'crd' });
});

test('--leader-elect: bare flag, flag value and environment', () => {
  const base = { CSI_ENDPOINT: '/s', KUBERNETES_CLUSTER_DOMAIN: 'c.l', DISABLE_CRD_MAINTENANCE: 'true', OPERATOR_NAMESPACE: 'ns' };
  assert.equal(controller(base).leaderElect, false);
  assert.equal(controller(base, ['--leader-elect']).leaderElect, true);
  assert.equal(controller(base, ['--leader-elect=false']).leaderElect, false);
  assert.equal(controller({ ...base, LEADER_ELECT: 'true' }).leaderElect, true);
  assert.equal(controller({ ...base, LEADER_ELECT: 'FALSE' }).leaderElect, false);
});

test('OTLP goes over gRPC only and to a URL: another OTEL_EXPORTER_OTLP_*PROTOCOL, or an endpoint that is no URL, is refused while its exporter is on', () => {
  const on = { ...UPSTREAM_CONTROLLER_ENV, OTEL_TRACE_EXPORTER_ENABLED: 'true' };
  assert.match(refused(['run', 'controller'], { ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }), /OTEL_EXPORTER_OTLP_PROTOCOL is "http\/protobuf": OTLP is exported over gRPC only/);
  assert.match(refused(['run', 'controller'], { ...on, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }), /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL/);
  assert.equal(controller({ ...on, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).telemetry.otelTraces.enabled, true);
  assert.match(refused(['run', 'controller'], { ...on, OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector:4317' }), /OTEL_EXPORTER_OTLP_ENDPOINT is "otel-collector:4317": accepted: an http:\/\/ or https:\/\/ URL/);
  assert.match(refused(['run', 'controller'], { ...on, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'notaurl' }), /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT/);
  assert.equal(controller({ ...on, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.monitoring.svc:4317' }).telemetry.otelTraces.enabled, true);
  // The logs' endpoint does not matter while only traces are exported.
  assert.equal(controller({ ...on, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'notaurl' }).telemetry.otelTraces.enabled, true);
  // Exporters off: the variable concerns nobody here.
  assert.equal(controller({ ...UPSTREAM_CONTROLLER_ENV, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }).telemetry.otelTraces.enabled, false);
});
