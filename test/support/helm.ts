// The Helm chart (deploy/helm/listener-operator) as tests see it: the pinned helm binary (built by
// scripts/build-tools.sh from tools/helm/go.mod), `helm template` / `helm lint` with a values
// object, and the rendered objects parsed.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

export const CHART_DIR = path.join(import.meta.dirname, '..', '..', 'deploy', 'helm', 'listener-operator');

/** The directory of the pinned tools (helm, kubectl, csi-provisioner, ...). */
export function toolsBin(): string {
  const dir = process.env.LISTENER_OPERATOR_BIN ?? process.env.LISTENER_TEST_BIN;
  if (dir === undefined || dir === '') throw new Error('LISTENER_OPERATOR_BIN is not set: run through scripts/test.sh (it builds the pinned tools)');
  return dir;
}

export const helmPath = (): string => path.join(toolsBin(), 'helm');
export const kubectlPath = (): string => path.join(toolsBin(), 'kubectl');

export interface Container {
  name: string;
  image?: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  securityContext?: {
    runAsUser?: number;
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  resources?: Record<string, Record<string, string>>;
}

export interface PodSpec {
  serviceAccountName?: string;
  securityContext?: { runAsUser?: number; runAsNonRoot?: boolean };
  containers: Container[];
  volumes?: { name: string; emptyDir?: object; hostPath?: { path: string; type?: string } }[];
  nodeSelector?: Record<string, string>;
  tolerations?: object[];
  affinity?: object;
  priorityClassName?: string;
  imagePullSecrets?: { name: string }[];
}

export interface Workload {
  apiVersion: string;
  kind: 'Deployment' | 'DaemonSet';
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
  };
}

export interface RbacRule { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[] }

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface Rendered {
  objects: K8sObject[];
  /** The manifests as helm printed them. */
  yaml: string;
  /** The one object of this kind (and name); fails when there is none or several. */
  get(kind: string, name?: string): K8sObject;
  /** The Deployment or DaemonSet. */
  workload(kind: 'Deployment' | 'DaemonSet', name?: string): Workload;
  all(kind: string): K8sObject[];
}

/** Writes `values` to a temporary values file and calls `fn` with its path. */
async function withValuesFile<T>(values: object, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'helm-values-'));
  try {
    const file = path.join(dir, 'values.yaml');
    await writeFile(file, JSON.stringify(values)); // JSON is YAML
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * `helm template <release> <chart> --namespace <ns> -f <values>`, parsed; `apiVersions`: what the
 * target API serves beyond the built-in ones (`--api-versions`, e.g. security.openshift.io/v1).
 * Without the `helm test` hooks (as `helm install` creates the release) unless `tests`.
 */
export async function renderChart(values: object, o: { release?: string; namespace?: string; apiVersions?: string[]; tests?: boolean } = {}): Promise<Rendered> {
  const yaml = await withValuesFile(values, async (file) => {
    const apiVersions = (o.apiVersions ?? []).flatMap((v) => ['--api-versions', v]);
    const tests = o.tests === true ? [] : ['--skip-tests'];
    const { stdout } = await run(helmPath(), ['template', o.release ?? 'listener-operator', CHART_DIR, '--namespace', o.namespace ?? 'stackable-operators', '-f', file, ...apiVersions, ...tests], { maxBuffer: 16 << 20 });
    return stdout;
  });
  const objects = parseAllDocuments(yaml).map((d) => d.toJS() as K8sObject | null).filter((o): o is K8sObject => o !== null);
  const all = (kind: string): K8sObject[] => objects.filter((x) => x.kind === kind);
  const get = (kind: string, name?: string): K8sObject => {
    const found = all(kind).filter((x) => name === undefined || x.metadata.name === name);
    if (found.length !== 1 || found[0] === undefined) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, rendered ${found.length}`);
    return found[0];
  };
  return { objects, yaml, all, get, workload: (kind, name) => get(kind, name) as unknown as Workload };
}

/** Helm's own directories, away from the user's (repositories, plugins, registry logins). */
const HELM_HOMES = {
  HELM_CACHE_HOME: path.join(tmpdir(), 'listener-helm', 'cache'),
  HELM_CONFIG_HOME: path.join(tmpdir(), 'listener-helm', 'config'),
  HELM_DATA_HOME: path.join(tmpdir(), 'listener-helm', 'data'),
};

/**
 * Runs the pinned helm against the cluster of `kubeconfig` (through KUBECONFIG, as a user's shell
 * has it, so the command line stays the one a user types); resolves with its output.
 */
export async function helm(kubeconfig: string, args: string[], timeoutMs = 300_000): Promise<string> {
  try {
    const { stdout, stderr } = await run(helmPath(), args, { maxBuffer: 16 << 20, timeout: timeoutMs, env: { ...process.env, ...HELM_HOMES, KUBECONFIG: kubeconfig } });
    return stdout + stderr;
  } catch (e) {
    const o = e as { stdout?: string; stderr?: string };
    throw new Error(`helm ${args.join(' ')} failed:\n${o.stdout ?? ''}${o.stderr ?? String(e)}`, { cause: e });
  }
}

/** Runs `helm template` expecting it to fail; resolves with its stderr. */
export async function renderChartError(values: object): Promise<string> {
  return withValuesFile(values, async (file) => {
    try {
      await run(helmPath(), ['template', 'listener-operator', CHART_DIR, '-f', file]);
    } catch (e) {
      return String((e as { stderr?: string }).stderr ?? e);
    }
    throw new Error('helm template succeeded, but was expected to fail');
  });
}

/** `helm lint --strict` with the values; resolves with its output (rejects on failure). */
export async function lintChart(values: object): Promise<string> {
  return withValuesFile(values, async (file) => {
    const { stdout, stderr } = await run(helmPath(), ['lint', '--strict', CHART_DIR, '-f', file]);
    return stdout + stderr;
  });
}

export function container(w: Workload, name: string): Container {
  const c = w.spec.template.spec.containers.find((x) => x.name === name);
  if (c === undefined) throw new Error(`${w.kind} ${w.metadata.name} has no container ${name}`);
  return c;
}

export function envOf(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

export function argOf(c: Container, flag: string): string | undefined {
  const prefix = `${flag}=`;
  return c.args?.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}
