// The `olm-deployer` command line: upstream's olm-deployer options, name for name
// (`olm-deployer run --csv ... --deployer ... --namespace ... --dir ... [--keep-alive]`; `run` may
// be left out), plus the console log options and --kubeconfig.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { LOG_FORMATS, type LogFormat } from './log.ts';
import { parseLogDirectives, type LogDirectives } from './log-directives.ts';

export interface OlmDeployerConfig {
  mode: 'olm-deployer';
  /** The ClusterServiceVersion that owns the deployer's Deployment. */
  csv: string;
  /** The deployer's own Deployment. */
  deployer: string;
  /** The namespace of both, and of every namespaced object applied. */
  namespace: string;
  /** The directory of manifests (OLM mounts a ConfigMap there). */
  dir: string;
  /** Keep running after applying (so that OLM does not see the Deployment's Pod finish). */
  keepAlive: boolean;
  kubeconfig: string | undefined;
  console: { enabled: boolean; format: LogFormat; directives: LogDirectives };
}

interface Opts {
  csv: string;
  deployer: string;
  namespace: string;
  dir: string;
  keepAlive: boolean;
  kubeconfig?: string;
  consoleLogDisabled: boolean;
  consoleLogFormat: LogFormat;
  consoleLogLevel?: LogDirectives;
}

function bool(v: string): boolean {
  if (/^(true|1)$/i.test(v)) return true;
  if (/^(false|0)$/i.test(v)) return false;
  throw new InvalidArgumentError('Accepted: true or false.');
}

function directives(v: string): LogDirectives {
  const r = parseLogDirectives(v);
  if (!r.ok) throw new InvalidArgumentError(r.error);
  return r.value;
}

export function addOlmDeployerCommand(program: Command, onConfig: (c: OlmDeployerConfig) => void): void {
  const olm = program.command('olm-deployer').description('apply the operator\'s manifests from an OLM bundle, handing on the deployer Deployment\'s env, resources and tolerations');
  const run = olm.command('run', { isDefault: true }).description('apply every manifest in --dir (the default command)')
    .requiredOption('--csv <name>', 'name of the ClusterServiceVersion that owns the deployer Deployment')
    .requiredOption('--deployer <name>', 'name of the deployer\'s own Deployment')
    .requiredOption('--namespace <namespace>', 'namespace of the ClusterServiceVersion and the deployer; namespaced objects go there')
    .requiredOption('--dir <directory>', 'directory with the manifests to patch and apply')
    .addOption(new Option('--keep-alive [bool]', 'keep running after the manifests have been applied').argParser(bool).preset(true).default(false))
    .addOption(new Option('--kubeconfig <path>', 'kubeconfig file(s); default: ~/.kube/config, else the Pod\'s service account').env('KUBECONFIG'))
    .addOption(new Option('--console-log-disabled [bool]', 'write no log to the console').env('CONSOLE_LOG_DISABLED').argParser(bool).preset(true).default(false))
    .addOption(new Option('--console-log-format <format>', 'console log format').env('CONSOLE_LOG_FORMAT').choices(LOG_FORMATS).default('plain'))
    .addOption(new Option('--console-log-level <directives>', 'console log level').env('CONSOLE_LOG_LEVEL').argParser(directives));
  run.action((o: Opts) => {
    onConfig({
      mode: 'olm-deployer', csv: o.csv, deployer: o.deployer, namespace: o.namespace, dir: o.dir, keepAlive: o.keepAlive, kubeconfig: o.kubeconfig,
      console: { enabled: !o.consoleLogDisabled, format: o.consoleLogFormat, directives: o.consoleLogLevel ?? { defaultLevel: 'info', targets: new Map() } },
    });
  });
}
