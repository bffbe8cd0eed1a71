// Flags and environment, parsed once into a frozen config. Every flag has an environment variable
// (upstream's names); `--help` documents each; a bad or missing value exits non-zero with one line.
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CLUSTER_DOMAIN } from '../constants.ts';
import { VERSION } from '../version.ts';
import { LOG_LEVELS, type LogFormat, type LogLevel } from './log.ts';

export const PRESETS = ['none', 'ephemeral-nodes', 'stable-nodes'] as const;
export type Preset = (typeof PRESETS)[number];

export interface CommonConfig {
  csiEndpoint: string;
  clusterDomain: string;
  operatorNamespace: string | undefined;
  operatorServiceName: string | undefined;
  logLevel: LogLevel;
  logFormat: LogFormat;
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
}

export interface NodeConfig extends CommonConfig {
  mode: 'node';
  nodeName: string;
}

export type Config = ControllerConfig | NodeConfig | { mode: 'crd' };

interface CommonOpts {
  csiEndpoint: string;
  kubernetesClusterDomain: string;
  operatorNamespace?: string;
  operatorServiceName?: string;
  consoleLogLevel: LogLevel;
  consoleLogFormat: LogFormat;
  kubeconfig?: string;
  httpAddress: string;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError(`must be a whole number from 1 to 1000, got "${v}"`);
  return n;
}

function parseBool(v: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0' || v === '') return false;
  throw new InvalidArgumentError(`must be true or false, got "${v}"`);
}

function addCommon(cmd: Command): Command {
  return cmd
    .addOption(new Option('--csi-endpoint <path>', 'Unix socket path the CSI services listen on (unix:// prefix optional)').env('CSI_ENDPOINT').makeOptionMandatory())
    .addOption(new Option('--kubernetes-cluster-domain <domain>', 'cluster DNS domain used in ClusterIP hostnames').env('KUBERNETES_CLUSTER_DOMAIN').default(DEFAULT_CLUSTER_DOMAIN))
    .addOption(new Option('--operator-namespace <namespace>', 'namespace the operator runs in').env('OPERATOR_NAMESPACE'))
    .addOption(new Option('--operator-service-name <name>', 'name of the operator\'s Service').env('OPERATOR_SERVICE_NAME'))
    .addOption(new Option('--console-log-level <level>', 'console log level').env('CONSOLE_LOG_LEVEL').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--console-log-format <format>', 'console log format').env('CONSOLE_LOG_FORMAT').choices(['plain', 'json']).default('plain'))
    .addOption(new Option('--kubeconfig <path>', 'kubeconfig file; default: in-cluster service account or ~/.kube/config').env('KUBECONFIG'))
    .addOption(new Option('--http-address <host:port>', 'address of the /healthz, /readyz and /metrics server ("" disables it)').env('HTTP_ADDRESS').default('0.0.0.0:8080'));
}

function common(o: CommonOpts): CommonConfig {
  return {
    csiEndpoint: o.csiEndpoint.replace(/^unix:\/\//, ''),
    clusterDomain: o.kubernetesClusterDomain,
    operatorNamespace: o.operatorNamespace,
    operatorServiceName: o.operatorServiceName,
    logLevel: o.consoleLogLevel,
    logFormat: o.consoleLogFormat,
    kubeconfig: o.kubeconfig,
    httpAddress: o.httpAddress,
  };
}

/**
 * Parses argv (without node and script). Resolves with the chosen command's config; commander
 * itself prints `--help`/`--version` and one-line errors and exits via `exit`.
 */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv, exit: (code: number) => never): Config {
  let result: Config | undefined;
  const program = new Command('listener-operator')
    .description('Kubernetes Listener operator and CSI driver (listeners.stackable.tech)')
    .version(VERSION)
    .exitOverride((err) => exit(err.exitCode))
    .showHelpAfterError(false);
  program.command('crd').description('print the CustomResourceDefinitions as YAML').action(() => { result = { mode: 'crd' }; });
  const runCmd = program.command('run').description('run one of the two services');
  addCommon(runCmd.command('controller').description('CSI Identity + Controller services and the Listener controller'))
    .addOption(new Option('--listener-class-preset <preset>', 'ListenerClasses created at start if missing').env('LISTENER_CLASS_PRESET').choices(PRESETS).default('ephemeral-nodes'))
    .addOption(new Option('--concurrency <n>', 'Listeners reconciled at once').env('RECONCILE_CONCURRENCY').default(16).argParser(positiveInt))
    .addOption(new Option('--watch-namespace <namespace>', 'only manage Listeners in this namespace (default: all namespaces)').env('WATCH_NAMESPACE'))
    .addOption(new Option('--leader-elect [enabled]', 'only one replica reconciles at a time (a Lease in --operator-namespace)').env('LEADER_ELECT').preset('true').argParser(parseBool).default(false))
    .action((o: CommonOpts & { listenerClassPreset: Preset; concurrency: number; watchNamespace?: string; leaderElect: boolean }) => {
      result = { mode: 'controller', ...common(o), preset: o.listenerClassPreset, concurrency: o.concurrency, watchNamespace: o.watchNamespace, leaderElect: o.leaderElect };
    });
  addCommon(runCmd.command('node').description('CSI Identity + Node services (one per Kubernetes Node)'))
    .addOption(new Option('--node-name <name>', 'name of the Kubernetes Node this runs on').env('KUBERNETES_NODE_NAME').makeOptionMandatory())
    .action((o: CommonOpts & { nodeName: string }) => {
      result = { mode: 'node', ...common(o), nodeName: o.nodeName };
    });
  for (const c of [program, runCmd, ...program.commands, ...runCmd.commands]) c.exitOverride((err) => exit(err.exitCode));
  const saved = process.env;
  process.env = env; // commander reads option environment variables from process.env
  try {
    program.parse(argv, { from: 'user' });
  } finally {
    process.env = saved;
  }
  if (result === undefined) {
    program.outputHelp();
    return exit(2);
  }
  return Object.freeze(result);
}
