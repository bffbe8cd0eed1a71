// Our operator on the e2e node, deployed from our Helm chart (deploy/helm/listener-operator,
// rendered by the pinned helm with kubeletDir = the node's kubelet dir and preset stable-nodes):
//   - every rendered object but the two workloads is applied as it is: CRDs, CSIDriver,
//     StorageClass, ServiceAccount, ClusterRole and binding, Service;
//   - each container of the Deployment (run controller + csi-provisioner) and the DaemonSet (run
//     node + node-driver-registrar) runs as a host process with the container's own args and env,
//     its volume mounts mapped onto host directories (hostPath: the same path; emptyDir: a
//     directory of ours), and the chart's ServiceAccount's credentials (a TokenRequest token in a
//     kubeconfig: a host process has no in-cluster config). So RBAC, flags, socket paths and
//     kubelet paths are exactly the chart's.
// Deviations, all forced by host processes: HTTP_ADDRESS ":8080" becomes "127.0.0.1:0" (two
// processes share one network namespace here); the registrar is registrar.ts, the stand-in for
// csi-node-driver-registrar (its module cannot be fetched here), given the sidecar's default
// --plugin-registration-path=/registration explicitly. Like kubelet with a crashed container, a
// supervisor restarts any process that exits (after 1 s); tests restart the DaemonSet's
// containers by signalling the pids in the state file.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Cluster } from './cluster.ts';
import { kubectl } from './cluster.ts';
import { renderChart, type Container, type Workload } from './helm.ts';
import { eventually } from './k8s.ts';
import type { Proc, TestNode } from './node.ts';
import { serviceAccountToken, writeTokenKubeconfig } from './rbac.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { DRIVER_NAME } from '../../src/constants.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
const MAIN = path.join(ROOT, 'src', 'main.ts');
const REGISTRAR = path.join(import.meta.dirname, 'registrar.ts');
export const OPERATOR_NAMESPACE = 'stackable-operators';
const RELEASE = 'listener-operator';
const FIELD_MANAGER = 'listener-operator-e2e';

/** What the e2e test files need to know, written as JSON to `stateFile`. */
export interface E2eState {
  kubeconfig: string;
  binDir: string;
  nodeName: string;
  nodeIp: string;
  podCidr: string;
  kubeletDir: string;
  logDir: string;
  /**
   * By container name: its workload kind, current pid (the guard.sh process; SIGTERM stops the
   * component), start count and log file.
   */
  components: Record<string, { workload: 'Deployment' | 'DaemonSet'; pid: number; starts: number; logFile: string }>;
}

export interface RunningOperator {
  stateFile: string;
  stop(): Promise<void>;
}

interface Supervised {
  name: string;
  workload: 'Deployment' | 'DaemonSet';
  argv: string[];
  env: Record<string, string>;
  proc?: Proc;
  starts: number;
}

/** A container's mounts as [mountPath, host directory], longest mount path first. */
async function hostMounts(w: Workload, c: Container, scratch: string): Promise<[string, string][]> {
  const mounts: [string, string][] = [];
  for (const m of c.volumeMounts ?? []) {
    const v = w.spec.template.spec.volumes?.find((x) => x.name === m.name);
    let dir: string;
    if (v?.hostPath !== undefined) dir = v.hostPath.path.replace(/\/$/, '');
    else if (v?.emptyDir !== undefined) dir = path.join(scratch, w.metadata.name, v.name);
    else throw new Error(`${w.metadata.name}/${c.name}: volume ${m.name} is neither hostPath nor emptyDir`);
    await mkdir(dir, { recursive: true });
    mounts.push([m.mountPath.replace(/\/$/, ''), dir]);
  }
  return mounts.sort((a, b) => b[0].length - a[0].length);
}

/** Maps a container path (or a --flag=path) onto the host, through the mounts. */
function mapPath(value: string, mounts: [string, string][]): string {
  const eq = value.startsWith('--') ? value.indexOf('=') : -1;
  const [prefix, v] = eq >= 0 ? [value.slice(0, eq + 1), value.slice(eq + 1)] : ['', value];
  for (const [inside, host] of mounts) {
    if (v === inside || v.startsWith(`${inside}/`)) return `${prefix}${host}${v.slice(inside.length)}`;
  }
  return value;
}

interface HostContext { node: TestNode; cluster: Cluster; kubeconfig: string; namespace: string; scratch: string }

/** One container of the chart as a host process. */
async function toHostProcess(w: Workload, kind: 'Deployment' | 'DaemonSet', c: Container, ctx: HostContext): Promise<Supervised> {
  const mounts = await hostMounts(w, c, ctx.scratch);
  const args = c.args ?? [];
  let argv: string[];
  switch (c.name) {
    case 'csi-controller-service':
    case 'csi-node-service':
      argv = [process.execPath, MAIN, ...args]; // the image's entrypoint: node main.js
      break;
    case 'external-provisioner':
      argv = [path.join(ctx.cluster.binDir, 'csi-provisioner'), ...args, `--kubeconfig=${ctx.kubeconfig}`, '--v=3'];
      break;
    case 'node-driver-registrar':
      argv = [process.execPath, REGISTRAR, ...args];
      if (!args.some((a) => a.startsWith('--plugin-registration-path='))) argv.push('--plugin-registration-path=/registration');
      break;
    default:
      throw new Error(`the chart's ${kind} ${w.metadata.name} has a container ${c.name} the e2e tier does not know how to run`);
  }
  return { name: c.name, workload: kind, argv: argv.map((a) => mapPath(a, mounts)), env: hostEnv(w, c, ctx, mounts), starts: 0 };
}

/** The container's env with its fieldRefs resolved and paths mapped, plus the credentials. */
function hostEnv(w: Workload, c: Container, ctx: HostContext, mounts: [string, string][]): Record<string, string> {
  const fields: Record<string, string> = { 'metadata.namespace': ctx.namespace, 'spec.nodeName': ctx.node.name, 'metadata.name': `${w.metadata.name}-e2e` };
  const env: Record<string, string> = { KUBECONFIG: ctx.kubeconfig, CONSOLE_LOG_LEVEL: process.env.E2E_OPERATOR_LOG_LEVEL ?? 'debug' };
  for (const e of c.env ?? []) {
    const value = e.value ?? fields[e.valueFrom?.fieldRef?.fieldPath ?? ''];
    if (value === undefined) throw new Error(`${w.metadata.name}/${c.name}: env ${e.name} has a source the e2e tier does not resolve`);
    env[e.name] = mapPath(value, mounts);
  }
  if (env.HTTP_ADDRESS !== undefined && env.HTTP_ADDRESS !== '') env.HTTP_ADDRESS = '127.0.0.1:0';
  return env;
}

export async function startOperator(cluster: Cluster, node: TestNode, opts: { log?: (l: string) => void } = {}): Promise<RunningOperator> {
  const log = opts.log ?? ((l: string) => { process.stderr.write(`[operator] ${l}\n`); });
  process.env.LISTENER_TEST_BIN ??= cluster.binDir; // where helm.ts finds the pinned helm
  const namespace = OPERATOR_NAMESPACE;
  const chart = await renderChart({ kubeletDir: node.kubeletDir, preset: 'stable-nodes' }, { release: RELEASE, namespace });
  const workloads = { Deployment: chart.workload('Deployment'), DaemonSet: chart.workload('DaemonSet') };

  // Everything but the workloads, as helm would install it (namespaced objects in the release's).
  const admin = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  let kubeconfig: string;
  try {
    await admin.apply({ group: '', version: 'v1', plural: 'namespaces', name: namespace }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, FIELD_MANAGER, true);
    const items = chart.objects.filter((o) => o.kind !== 'Deployment' && o.kind !== 'DaemonSet');
    await kubectl(cluster, ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--namespace', namespace, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    await kubectl(cluster, ['wait', '--for=condition=Established', '--timeout=60s', ...items.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => `crd/${o.metadata.name}`)]);
    log(`chart applied (${items.map((o) => `${o.kind} ${o.metadata.name}`).join(', ')})`);
    const sa = workloads.Deployment.spec.template.spec.serviceAccountName ?? 'default';
    if (workloads.DaemonSet.spec.template.spec.serviceAccountName !== sa) throw new Error('the chart\'s workloads use different ServiceAccounts; the e2e tier assumes one');
    const credDir = path.join(node.dir, 'operator');
    await mkdir(credDir, { recursive: true });
    kubeconfig = await writeTokenKubeconfig(credDir, cluster.server, cluster.pki.caCert, await serviceAccountToken(admin, namespace, sa));
  } finally {
    admin.close();
  }

  const ctx: HostContext = { node, cluster, kubeconfig, namespace, scratch: path.join(node.dir, 'operator', 'volumes') };
  const components: Supervised[] = [];
  for (const kind of ['Deployment', 'DaemonSet'] as const) {
    for (const c of workloads[kind].spec.template.spec.containers) components.push(await toHostProcess(workloads[kind], kind, c, ctx));
  }

  const stateFile = path.join(node.dir, 'e2e-state.json');
  // Writes are serialized and each goes through its own temporary file, then an atomic rename.
  let writes = Promise.resolve();
  let seq = 0;
  const writeStateNow = async (): Promise<void> => {
    const state: E2eState = {
      kubeconfig: cluster.kubeconfig, binDir: cluster.binDir, nodeName: node.name, nodeIp: node.ip, podCidr: '10.244.0.0/24',
      kubeletDir: node.kubeletDir, logDir: node.logDir, components: {},
    };
    for (const c of components) {
      if (c.proc?.child.pid !== undefined) state.components[c.name] = { workload: c.workload, pid: c.proc.child.pid, starts: c.starts, logFile: c.proc.logFile };
    }
    const tmp = `${stateFile}.${++seq}.tmp`;
    await writeFile(tmp, JSON.stringify(state, null, 2));
    await rename(tmp, stateFile);
  };
  const writeState = (): Promise<void> => {
    writes = writes.then(() => writeStateNow(), () => writeStateNow());
    return writes;
  };

  let stopping = false;
  const stopAll = async (): Promise<void> => {
    stopping = true;
    await Promise.all(components.map(async (c) => { await c.proc?.stop(); }));
  };
  const launch = async (c: Supervised): Promise<void> => {
    c.starts++;
    const proc = await node.spawn(c.name, c.argv, c.env);
    c.proc = proc;
    await writeState();
    void proc.exited.then(async (code) => {
      if (stopping) return;
      log(`${c.name} exited with code ${code}; restarting in 1 s`);
      await new Promise((r) => setTimeout(r, 1000));
      if (!stopping) await launch(c);
    }).catch((e: unknown) => { log(`restarting ${c.name} failed: ${e instanceof Error ? e.message : String(e)}`); });
  };
  for (const c of components) await launch(c);

  // Ready when kubelet has registered the driver (the CSINode lists it), as a DaemonSet Pod is.
  const watcher = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  try {
    await eventually(`kubelet registers ${DRIVER_NAME} (CSINode ${node.name})`, async () => {
      const n = await watcher.getOptional<{ spec: { drivers: { name: string }[] | null } }>({ group: 'storage.k8s.io', version: 'v1', plural: 'csinodes', name: node.name });
      return n?.spec.drivers?.some((d) => d.name === DRIVER_NAME) === true ? true : undefined;
    }, 60_000);
  } catch (e) {
    await stopAll();
    throw new Error(`${e instanceof Error ? e.message : String(e)}; logs in ${node.logDir}`, { cause: e });
  } finally {
    watcher.close();
  }
  log(`operator running as the chart's ServiceAccount: ${components.map((c) => `${c.workload}/${c.name}`).join(', ')}; driver registered with kubelet`);

  return { stateFile, stop: stopAll };
}
