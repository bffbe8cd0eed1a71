// Our operator on the e2e node, wired as upstream's Helm chart wires it, with host processes in
// place of the chart's Pods:
//   - the "Deployment": `run controller` plus the real csi-provisioner sidecar (--csi-address,
//     --feature-gates=Topology=true, --extra-create-metadata) sharing a socket directory;
//   - the "DaemonSet" on the node: `run node` with its socket at
//     <kubeletDir>/plugins/listeners.stackable.tech/csi.sock, plus the registration sidecar on
//     <kubeletDir>/plugins_registry (registrar.ts: the stand-in for csi-node-driver-registrar,
//     whose module cannot be fetched here);
//   - the CRDs, the CSIDriver and the StorageClass objects of the contract.
// Like kubelet with a crashed container, a supervisor restarts any of these processes that exits
// (after 1 s). Tests restart the node plugin by signalling the pids in the state file.
import { writeFile, rename, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Cluster } from './cluster.ts';
import type { Proc, TestNode } from './node.ts';
import { installCrds } from './operator.ts';
import { eventually } from './k8s.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { DRIVER_NAME } from '../../src/constants.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
const MAIN = path.join(ROOT, 'src', 'main.ts');
const REGISTRAR = path.join(import.meta.dirname, 'registrar.ts');
export const OPERATOR_NAMESPACE = 'stackable-operators';

/** What the e2e test files need to know, written as JSON to `stateFile`. */
export interface E2eState {
  kubeconfig: string;
  binDir: string;
  nodeName: string;
  nodeIp: string;
  podCidr: string;
  kubeletDir: string;
  logDir: string;
  /** Current pid (the guard.sh process; SIGTERM stops the component) and restart count. */
  components: Record<string, { pid: number; starts: number; logFile: string }>;
}

export interface RunningOperator {
  stateFile: string;
  stop(): Promise<void>;
}

interface Supervised {
  name: string;
  argv: string[];
  env?: Record<string, string>;
  proc?: Proc;
  starts: number;
}

export async function startOperator(cluster: Cluster, node: TestNode, opts: { log?: (l: string) => void } = {}): Promise<RunningOperator> {
  const log = opts.log ?? ((l: string) => { process.stderr.write(`[operator] ${l}\n`); });
  const client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  try {
    await installCrds(client);
    await client.apply({ group: 'storage.k8s.io', version: 'v1', plural: 'csidrivers', name: DRIVER_NAME }, {
      apiVersion: 'storage.k8s.io/v1', kind: 'CSIDriver', metadata: { name: DRIVER_NAME },
      spec: { attachRequired: false, podInfoOnMount: true, fsGroupPolicy: 'File', volumeLifecycleModes: ['Persistent', 'Ephemeral'] },
    }, 'listener-operator-e2e', true);
    await client.apply({ group: 'storage.k8s.io', version: 'v1', plural: 'storageclasses', name: DRIVER_NAME }, {
      apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: DRIVER_NAME },
      provisioner: DRIVER_NAME, volumeBindingMode: 'WaitForFirstConsumer',
    }, 'listener-operator-e2e', true);
    await client.apply({ group: '', version: 'v1', plural: 'namespaces', name: OPERATOR_NAMESPACE }, {
      apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NAMESPACE },
    }, 'listener-operator-e2e', true);
  } finally {
    client.close();
  }
  log('CRDs, CSIDriver and StorageClass applied');

  const controllerSocketDir = path.join(node.dir, 'operator-controller');
  await mkdir(controllerSocketDir, { recursive: true });
  const controllerSocket = path.join(controllerSocketDir, 'csi.sock');
  const pluginDir = path.join(node.kubeletDir, 'plugins', DRIVER_NAME);
  await mkdir(pluginDir, { recursive: true });
  await mkdir(path.join(node.kubeletDir, 'plugins_registry'), { recursive: true });
  const nodeSocket = path.join(pluginDir, 'csi.sock');
  const common = { KUBECONFIG: cluster.kubeconfig, OPERATOR_NAMESPACE, CONSOLE_LOG_LEVEL: process.env.E2E_OPERATOR_LOG_LEVEL ?? 'debug', HTTP_ADDRESS: '' };

  const components: Supervised[] = [
    { name: 'controller', starts: 0, argv: [process.execPath, MAIN, 'run', 'controller'], env: { ...common, CSI_ENDPOINT: controllerSocket, LISTENER_CLASS_PRESET: 'stable-nodes' } },
    { name: 'csi-provisioner', starts: 0, argv: [path.join(cluster.binDir, 'csi-provisioner'),
      `--csi-address=${controllerSocket}`, '--feature-gates=Topology=true', '--extra-create-metadata',
      `--kubeconfig=${cluster.kubeconfig}`, '--leader-election=false', '--v=3'] },
    { name: 'node-service', starts: 0, argv: [process.execPath, MAIN, 'run', 'node'], env: { ...common, CSI_ENDPOINT: nodeSocket, KUBERNETES_NODE_NAME: node.name } },
    { name: 'node-driver-registrar', starts: 0, argv: [process.execPath, REGISTRAR,
      `--csi-address=${nodeSocket}`, `--kubelet-registration-path=${nodeSocket}`,
      `--plugin-registration-path=${path.join(node.kubeletDir, 'plugins_registry')}`] },
  ];

  const stateFile = path.join(node.dir, 'e2e-state.json');
  // Writes are serialized and each goes through its own temporary file, then an atomic rename.
  let writes = Promise.resolve();
  let seq = 0;
  const writeState = (): Promise<void> => {
    writes = writes.then(() => writeStateNow(), () => writeStateNow());
    return writes;
  };
  const writeStateNow = async (): Promise<void> => {
    const state: E2eState = {
      kubeconfig: cluster.kubeconfig, binDir: cluster.binDir, nodeName: node.name, nodeIp: node.ip, podCidr: '10.244.0.0/24',
      kubeletDir: node.kubeletDir, logDir: node.logDir, components: {},
    };
    for (const c of components) {
      if (c.proc?.child.pid !== undefined) state.components[c.name] = { pid: c.proc.child.pid, starts: c.starts, logFile: c.proc.logFile };
    }
    const tmp = `${stateFile}.${++seq}.tmp`;
    await writeFile(tmp, JSON.stringify(state, null, 2));
    await rename(tmp, stateFile);
  };

  let stopping = false;
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
    stopping = true;
    await Promise.all(components.map(async (c) => { await c.proc?.stop(); }));
    throw new Error(`${e instanceof Error ? e.message : String(e)}; logs in ${node.logDir}`, { cause: e });
  } finally {
    watcher.close();
  }
  log(`operator started: controller + csi-provisioner, node service + registration on ${node.kubeletDir}; driver registered with kubelet`);

  return {
    stateFile,
    stop: async () => {
      stopping = true;
      await Promise.all(components.map(async (c) => { await c.proc?.stop(); }));
    },
  };
}
