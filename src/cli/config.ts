// Flags and environment, parsed once into a frozen config. The names are upstream's, name for name
// (operator-rs `cli`, `cluster_info`, `eos`, `maintenance`, `environment`, `telemetry`; see
// docs/compatibility.md), plus a few of ours. Every flag has its variable; the flag wins. The shared
// flags belong to `run` and may come before or after the mode (`run --csi-endpoint X controller`).
// A value we cannot honour ends the start with one line naming the flag or variable and what is
// accepted; nothing is silently ignored.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { domainNameError } from '../core/names.ts';
import { LISTENER_CLASS_PRESETS, type ListenerClassPreset as Preset } from '../core/presets.ts';
import { parseHostPort } from '../util/host-port.ts';
import { VERSION } from '../version.ts';
import { parseDuration } from './duration.ts';
import { addOlmDeployerCommand, type OlmDeployerConfig } from './olm-config.ts';
import { LOG_FORMATS, type LogFormat } from './log.ts';
import { parseLogDirectives, type LogDirectives } from './log-directives.ts';

export const ROTATION_PERIODS = ['minutely', 'hourly', 'daily', 'never'] as const;
export type RotationPeriod = (typeof ROTATION_PERIODS)[number];

export interface TelemetryConfig {
  console: { enabled: boolean; format: LogFormat; directives: LogDirectives };
  /** Rolling JSON log files; undefined when FILE_LOG_DIRECTORY is unset. */
  file: { directory: string; rotation: RotationPeriod; maxFiles: number | undefined; directives: LogDirectives } | undefined;
  otelTraces: { enabled: boolean; directives: LogDirectives };
  otelLogs: { enabled: boolean; directives: LogDirectives };
}

export interface EosConfig {
  mode: 'offline';
  intervalMs: number;
  disabled: boolean;
}

export interface CommonConfig {
  csiEndpoint: string;
  /** undefined: detect it from the kubelet of `nodeName` (controller only; the node service needs none). */
  clusterDomain: string | undefined;
  nodeName: string | undefined;
  operatorNamespace: string | undefined;
  operatorServiceName: string | undefined;
  imageRepository: string | undefined;
  operatorImage: string | undefined;
  telemetry: TelemetryConfig;
  eos: EosConfig;
  kubeconfig: string | undefined;
  /** host:port of the HTTP server for /healthz, /readyz and /metrics; '' disables it. */
  httpAddress: string;
}

export interface ControllerConfig extends CommonConfig {
  mode: 'controller';
  preset: Preset;
  concurrency: number;
  watchNamespace: string | undefined;
  leaderElect: boolean;
  /** Install and maintain the CRDs (with the conversion webhook's CA bundle). */
  crdMaintenance: boolean;
  /** host:port of the conversion webhook (HTTPS); '' disables it. */
  webhookAddress: string;
  /** Lifetime of the webhook's CA and certificate, and how often their expiry is checked. */
  webhookCertificateLifetimeMs: number;
  webhookCertificateCheckMs: number;
}

export interface NodeConfig extends CommonConfig {
  mode: 'node';
  nodeName: string;
}

export type Config = ControllerConfig | NodeConfig | OlmDeployerConfig | { mode: 'crd' };

/** What parsing decided: a config to run, or output to print and an exit code. */
export type ParseOutcome = { kind: 'run'; config: Config } | { kind: 'exit'; code: number; stdout: string; stderr: string };

/** Values the chart or a person may set to an empty string to mean "off" (ours, not upstream's). */
const EMPTY_IS_A_VALUE = new Set(['HTTP_ADDRESS', 'WEBHOOK_ADDRESS']);

// ---- value parsers (each names what is accepted) ---------------------------------------------

/** `true`/`false` as upstream (clap's bool), and 1/0. */
export function parseBool(v: string): boolean {
  const lower = v.toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  throw new InvalidArgumentError('Accepted: true or false.');
}

function wholeNumber(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`Accepted: a whole number from ${min} to ${max}.`);
    return n;
  };
}

function directives(v: string): LogDirectives {
  const r = parseLogDirectives(v);
  if (!r.ok) throw new InvalidArgumentError(r.error);
  return r.value;
}

function duration(v: string): number {
  const r = parseDuration(v);
  if (!r.ok) throw new InvalidArgumentError(`${r.error}. Accepted: whole numbers with units d, h, m, s, ms, largest first (1d, 24h, 1h30m).`);
  if (r.ms === 0) throw new InvalidArgumentError('Accepted: a duration longer than zero.');
  return r.ms;
}

function domain(v: string): string {
  const e = domainNameError(v);
  if (e !== undefined) throw new InvalidArgumentError(`The value ${e}.`);
  return v;
}

function hostPort(v: string): string {
  if (v !== '' && parseHostPort(v) === undefined) throw new InvalidArgumentError('Accepted: host:port (":8443" for every address), or "" to turn it off.');
  return v;
}

// ---- the options ---------------------------------------------------------------------------------

const opt = (flags: string, description: string, env: string): Option => new Option(flags, description).env(env);
const flag = (flags: string, description: string, env: string): Option => opt(`${flags} [bool]`, description, env).argParser(parseBool).preset('true').default(false);

/** The shared flags of `run` (upstream's ListenerOperatorRun: csi, telemetry, cluster, maintenance, environment; and ours). */
function sharedOptions(): Option[] {
  return [
    opt('--csi-endpoint <path>', 'Unix socket of the CSI services (required; a unix:// prefix is accepted)', 'CSI_ENDPOINT'),
    // Telemetry
    flag('--console-log-disabled', 'write no log to the console', 'CONSOLE_LOG_DISABLED'),
    opt('--console-log-format <format>', 'console log format', 'CONSOLE_LOG_FORMAT').choices(LOG_FORMATS).default('plain'),
    opt('--console-log-level <directives>', 'console log level: a level, and/or target=level pairs (docs/compatibility.md)', 'CONSOLE_LOG_LEVEL').argParser(directives),
    opt('--file-log-directory <directory>', 'write rolling JSON log files into this directory', 'FILE_LOG_DIRECTORY'),
    opt('--file-log-rotation-period <period>', 'start a new log file every period (needs --file-log-directory)', 'FILE_LOG_ROTATION_PERIOD').choices(ROTATION_PERIODS),
    opt('--file-log-max-files <number>', 'log files kept (needs --file-log-directory)', 'FILE_LOG_MAX_FILES').argParser(wholeNumber(1, 100_000)),
    opt('--file-log-level <directives>', 'file log level, as --console-log-level', 'FILE_LOG_LEVEL').argParser(directives),
    flag('--otel-trace-exporter-enabled', 'export traces over OTLP', 'OTEL_TRACE_EXPORTER_ENABLED'),
    opt('--otel-trace-exporter-level <directives>', 'level of the exported traces, as --console-log-level', 'OTEL_TRACE_EXPORTER_LEVEL').argParser(directives),
    flag('--otel-log-exporter-enabled', 'export logs over OTLP', 'OTEL_LOG_EXPORTER_ENABLED'),
    opt('--otel-log-exporter-level <directives>', 'level of the exported logs, as --console-log-level', 'OTEL_LOG_EXPORTER_LEVEL').argParser(directives),
    // Cluster
    opt('--kubernetes-cluster-domain <domain>', 'cluster DNS domain of ClusterIP hostnames; default: read from the kubelet of --kubernetes-node-name', 'KUBERNETES_CLUSTER_DOMAIN').argParser(domain),
    opt('--kubernetes-node-name <name>', 'the Kubernetes Node this runs on (alias --node-name)', 'KUBERNETES_NODE_NAME'),
    new Option('--node-name <name>').hideHelp(),
    // Maintenance
    flag('--disable-crd-maintenance', 'do not install or maintain the CRDs (nor their conversion webhook\'s CA bundle)', 'DISABLE_CRD_MAINTENANCE'),
    opt('--eos-check-mode <mode>', 'end-of-support check mode', 'EOS_CHECK_MODE').choices(['offline']).default('offline'),
    opt('--eos-interval <duration>', 'how often the end-of-support check runs', 'EOS_INTERVAL').argParser(duration).default(86_400_000, '1d'),
    flag('--eos-disabled', 'turn the end-of-support check off', 'EOS_DISABLED'),
    // Environment
    opt('--operator-namespace <namespace>', 'namespace the operator runs in (the conversion webhook\'s Service, the leader Lease)', 'OPERATOR_NAMESPACE'),
    opt('--operator-service-name <name>', 'name of the operator\'s Service (the conversion webhook\'s)', 'OPERATOR_SERVICE_NAME'),
    opt('--image-repository <repository>', 'image repository of the operator (logged; nothing else uses it here)', 'IMAGE_REPOSITORY'),
    opt('--operator-image <image>', 'the operator\'s own image (logged)', 'OPERATOR_IMAGE'),
    // Ours
    opt('--kubeconfig <path>', 'kubeconfig file(s), ":"-separated; default: ~/.kube/config, else the Pod\'s service account', 'KUBECONFIG'),
    opt('--http-address <host:port>', 'address of /healthz, /readyz and /metrics ("" turns it off)', 'HTTP_ADDRESS').argParser(hostPort).default('0.0.0.0:8080'),
  ];
}

function controllerOptions(): Option[] {
  return [
    opt('--listener-class-preset <preset>', 'ListenerClasses created at start when missing', 'LISTENER_CLASS_PRESET').choices(LISTENER_CLASS_PRESETS).default('ephemeral-nodes'),
    opt('--concurrency <n>', 'Listeners reconciled at once', 'RECONCILE_CONCURRENCY').argParser(wholeNumber(1, 1000)).default(16),
    opt('--watch-namespace <namespace>', 'only manage the Listeners of this namespace (default: all)', 'WATCH_NAMESPACE'),
    opt('--leader-elect [bool]', 'only one replica reconciles at a time (a Lease in --operator-namespace)', 'LEADER_ELECT').argParser(parseBool).preset('true').default(false),
    opt('--webhook-address <host:port>', 'address of the conversion webhook (HTTPS; "" turns it off)', 'WEBHOOK_ADDRESS').argParser(hostPort).default('0.0.0.0:8443'),
    opt('--webhook-certificate-lifetime <duration>', 'lifetime of the webhook\'s self-made CA and certificate; rotated when a sixth of it is left', 'WEBHOOK_CERTIFICATE_LIFETIME').argParser(duration).default(86_400_000, '1d'),
    opt('--webhook-certificate-check-interval <duration>', 'how often the certificate\'s expiry is checked', 'WEBHOOK_CERTIFICATE_CHECK_INTERVAL').argParser(duration).default(300_000, '5m'),
  ];
}

interface SharedOpts {
  csiEndpoint?: string;
  consoleLogDisabled: boolean;
  consoleLogFormat: LogFormat;
  consoleLogLevel?: LogDirectives;
  fileLogDirectory?: string;
  fileLogRotationPeriod?: RotationPeriod;
  fileLogMaxFiles?: number;
  fileLogLevel?: LogDirectives;
  otelTraceExporterEnabled: boolean;
  otelTraceExporterLevel?: LogDirectives;
  otelLogExporterEnabled: boolean;
  otelLogExporterLevel?: LogDirectives;
  kubernetesClusterDomain?: string;
  kubernetesNodeName?: string;
  nodeName?: string;
  disableCrdMaintenance: boolean;
  eosCheckMode: 'offline';
  eosInterval: number;
  eosDisabled: boolean;
  operatorNamespace?: string;
  operatorServiceName?: string;
  imageRepository?: string;
  operatorImage?: string;
  kubeconfig?: string;
  httpAddress: string;
}

interface ControllerOpts extends SharedOpts {
  listenerClassPreset: Preset;
  concurrency: number;
  watchNamespace?: string;
  leaderElect: boolean;
  webhookAddress: string;
  webhookCertificateLifetime: number;
  webhookCertificateCheckInterval: number;
}

/** A configuration problem: one line naming the flag and variable, and why. */
class ConfigError extends Error {}

/** Upstream's default for every log destination: info. */
const DEFAULT_DIRECTIVES: LogDirectives = { defaultLevel: 'info', targets: new Map() };

function telemetry(o: SharedOpts): TelemetryConfig {
  if (o.fileLogDirectory === undefined && (o.fileLogRotationPeriod !== undefined || o.fileLogMaxFiles !== undefined)) {
    throw new ConfigError('FILE_LOG_ROTATION_PERIOD and FILE_LOG_MAX_FILES (--file-log-rotation-period, --file-log-max-files) need FILE_LOG_DIRECTORY (--file-log-directory)');
  }
  if (o.fileLogDirectory === '') throw new ConfigError('FILE_LOG_DIRECTORY (--file-log-directory) is empty: give a directory, or leave it unset');
  return {
    console: { enabled: !o.consoleLogDisabled, format: o.consoleLogFormat, directives: o.consoleLogLevel ?? DEFAULT_DIRECTIVES },
    file: o.fileLogDirectory === undefined ? undefined : {
      directory: o.fileLogDirectory, rotation: o.fileLogRotationPeriod ?? 'never', maxFiles: o.fileLogMaxFiles, directives: o.fileLogLevel ?? DEFAULT_DIRECTIVES,
    },
    otelTraces: { enabled: o.otelTraceExporterEnabled, directives: o.otelTraceExporterLevel ?? DEFAULT_DIRECTIVES },
    otelLogs: { enabled: o.otelLogExporterEnabled, directives: o.otelLogExporterLevel ?? DEFAULT_DIRECTIVES },
  };
}

function common(o: SharedOpts): CommonConfig {
  if (o.csiEndpoint === undefined || o.csiEndpoint === '') throw new ConfigError('CSI_ENDPOINT (--csi-endpoint) is required: the path of the CSI socket');
  if (o.kubernetesNodeName !== undefined && o.nodeName !== undefined && o.kubernetesNodeName !== o.nodeName) {
    throw new ConfigError(`--node-name "${o.nodeName}" and KUBERNETES_NODE_NAME (--kubernetes-node-name) "${o.kubernetesNodeName}" disagree`);
  }
  return {
    csiEndpoint: o.csiEndpoint.replace(/^unix:\/\//, ''),
    clusterDomain: o.kubernetesClusterDomain,
    nodeName: o.kubernetesNodeName ?? o.nodeName,
    operatorNamespace: o.operatorNamespace,
    operatorServiceName: o.operatorServiceName,
    imageRepository: o.imageRepository,
    operatorImage: o.operatorImage,
    telemetry: telemetry(o),
    eos: { mode: o.eosCheckMode, intervalMs: o.eosInterval, disabled: o.eosDisabled },
    kubeconfig: o.kubeconfig,
    httpAddress: o.httpAddress,
  };
}

function controllerConfig(o: ControllerOpts): ControllerConfig {
  const c = common(o);
  const crdMaintenance = !o.disableCrdMaintenance;
  if (c.clusterDomain === undefined && c.nodeName === undefined) {
    throw new ConfigError('KUBERNETES_CLUSTER_DOMAIN (--kubernetes-cluster-domain) is unset, and reading it from the kubelet needs KUBERNETES_NODE_NAME (--kubernetes-node-name): set either');
  }
  if (crdMaintenance && o.webhookAddress !== '' && (c.operatorNamespace === undefined || c.operatorServiceName === undefined)) {
    throw new ConfigError('OPERATOR_NAMESPACE and OPERATOR_SERVICE_NAME (--operator-namespace, --operator-service-name) are required to maintain the CRDs: they name the conversion webhook\'s Service (or set DISABLE_CRD_MAINTENANCE=true)');
  }
  if (crdMaintenance && o.webhookAddress === '') {
    throw new ConfigError('WEBHOOK_ADDRESS (--webhook-address) is off, but CRD maintenance points the CRDs at the webhook: set DISABLE_CRD_MAINTENANCE=true too, or give an address');
  }
  if (o.leaderElect && c.operatorNamespace === undefined) throw new ConfigError('LEADER_ELECT (--leader-elect) needs OPERATOR_NAMESPACE (--operator-namespace), the namespace of its Lease');
  return {
    mode: 'controller', ...c, preset: o.listenerClassPreset, concurrency: o.concurrency, watchNamespace: o.watchNamespace,
    leaderElect: o.leaderElect, crdMaintenance, webhookAddress: o.webhookAddress,
    webhookCertificateLifetimeMs: o.webhookCertificateLifetime, webhookCertificateCheckMs: o.webhookCertificateCheckInterval,
  };
}

function nodeConfig(o: SharedOpts): NodeConfig {
  const c = common(o);
  if (c.nodeName === undefined || c.nodeName === '') throw new ConfigError('KUBERNETES_NODE_NAME (--kubernetes-node-name) is required by the node service: the Node it runs on');
  return { mode: 'node', ...c, nodeName: c.nodeName };
}

/** The environment as upstream's parser (clap) sees it: an empty variable counts as unset. */
function effectiveEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== '' || EMPTY_IS_A_VALUE.has(k)));
}

function buildProgram(onConfig: (c: Config) => void): Command {
  const program = new Command('listener-operator')
    .description('Kubernetes Listener operator and CSI driver (listeners.stackable.tech)')
    .version(VERSION)
    .showHelpAfterError(false);
  program.command('crd').description('print the CustomResourceDefinitions as YAML').action(() => { onConfig({ mode: 'crd' }); });
  addOlmDeployerCommand(program, onConfig);
  const run = program.command('run').description('run one of the two services; its flags may come before or after the mode')
    .configureHelp({ showGlobalOptions: true });
  for (const o of sharedOptions()) run.addOption(o);
  const controller = run.command('controller').description('CSI Identity + Controller services, the Listener controller, CRD maintenance and the conversion webhook');
  for (const o of controllerOptions()) controller.addOption(o);
  controller.action((_o, cmd: Command) => { onConfig(controllerConfig(cmd.optsWithGlobals<ControllerOpts>())); });
  run.command('node').description('CSI Identity + Node services (one per Kubernetes Node)')
    .action((_o, cmd: Command) => { onConfig(nodeConfig(cmd.optsWithGlobals<SharedOpts>())); });
  return program;
}

/** Parses argv (without node and script) against `env`. Prints nothing itself. */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): ParseOutcome {
  let config: Config | undefined;
  let stdout = '';
  let stderr = '';
  const program = buildProgram((c) => { config = c; });
  const all = [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)];
  for (const c of all) {
    c.exitOverride().configureOutput({ writeOut: (s) => { stdout += s; }, writeErr: (s) => { stderr += s; } });
  }
  const saved = process.env;
  process.env = effectiveEnv(env); // commander reads option variables from process.env
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof ConfigError) return { kind: 'exit', code: 1, stdout, stderr: `error: ${e.message}\n` };
    if (!(e instanceof CommanderError)) throw e;
    return { kind: 'exit', code: e.exitCode, stdout, stderr: e.code === 'commander.help' ? stderr : firstLine(stderr) };
  } finally {
    process.env = saved;
  }
  if (config === undefined) return { kind: 'exit', code: 2, stdout: '', stderr: program.helpInformation() };
  const otlp = config.mode === 'crd' || config.mode === 'olm-deployer' ? undefined : otlpSettingsError(config.telemetry, effectiveEnv(env));
  if (otlp !== undefined) return { kind: 'exit', code: 1, stdout: '', stderr: `error: ${otlp}\n` };
  return { kind: 'run', config: Object.freeze(config) };
}

/**
 * The standard OTLP variables the exporters will read, checked while we can still say which one is
 * wrong (upstream's exporter builder refuses a bad endpoint at start too). Upstream exports over
 * OTLP/gRPC only (opentelemetry-otlp with tonic), and so do we: another protocol asked for is
 * refused, not silently replaced by gRPC.
 */
function otlpSettingsError(t: TelemetryConfig, env: NodeJS.ProcessEnv): string | undefined {
  const any = t.otelTraces.enabled || t.otelLogs.enabled;
  const checks: [boolean, string][] = [[any, ''], [t.otelTraces.enabled, 'TRACES_'], [t.otelLogs.enabled, 'LOGS_']];
  for (const [on, kind] of checks) {
    if (!on) continue;
    const protocol = env[`OTEL_EXPORTER_OTLP_${kind}PROTOCOL`];
    if (protocol !== undefined && protocol !== 'grpc') return `OTEL_EXPORTER_OTLP_${kind}PROTOCOL is ${JSON.stringify(protocol)}: OTLP is exported over gRPC only (as upstream); accepted: grpc, or leave it unset`;
    const endpoint = env[`OTEL_EXPORTER_OTLP_${kind}ENDPOINT`];
    if (endpoint !== undefined && !/^https?:\/\/[^/\s]+/.test(endpoint)) return `OTEL_EXPORTER_OTLP_${kind}ENDPOINT is ${JSON.stringify(endpoint)}: accepted: an http:// or https:// URL, e.g. http://otel-collector:4317`;
  }
  return undefined;
}

/** Commander's error message, without the usage hints that may follow it. */
function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '');
  return line === undefined ? '' : `${line}\n`;
}
