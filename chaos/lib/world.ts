// The world every fault runs in: a control plane of its own on loopback (etcd, kube-apiserver,
// kube-controller-manager for garbage collection and endpoints), our CRDs, a few Node objects and
// two ListenerClasses; operator processes started as users run them (`node src/main.ts run ...`),
// each fault in a namespace of its own so that its controller reconciles only its Listeners.
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GROUP_VERSION } from '../../src/constants.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { LISTENER_CLASSES, NAMESPACES, NODES, at } from '../../src/k8s/resources.ts';
import { freePort, startCluster, type Cluster } from '../../test/support/cluster.ts';
import { installCrds } from '../../test/support/operator.ts';
import { spawnOperator, type OperatorProcess } from '../../test/support/operator-process.ts';

export const CLASS_CLUSTER_IP = 'chaos-cluster-ip';
export const CLASS_NODE_PORT = 'chaos-node-port';
export const NODE_COUNT = 3;

export const nodeName = (k: number): string => `chaos-node-${k}`;
export const nodeIp = (k: number): string => `10.30.0.${k + 1}`;

export interface World {
  cluster: Cluster;
  admin: KubeClient;
  dir: string;
  log(line: string): void;
  /** A fresh namespace for one fault. */
  namespace(prefix: string): Promise<string>;
  /** `run controller` for one namespace (no CRD maintenance: the CRDs are the world's). */
  controller(ns: string, o?: { kubeconfig?: string; env?: Record<string, string>; args?: string[] }): Promise<ControllerProcess>;
  /** `run node` on chaos-node-0, its socket in `socketDir`. */
  nodePlugin(socket: string, o?: { kubeconfig?: string }): OperatorProcess;
  stop(): Promise<void>;
}

export interface ControllerProcess extends OperatorProcess {
  /** 127.0.0.1:<port> of its /metrics. */
  readonly http: string;
}

export async function startWorld(log: (line: string) => void): Promise<World> {
  const cluster = await startCluster({ scheduler: false, log });
  const admin = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  const dir = await mkdtemp(path.join(tmpdir(), 'chaos-'));
  await installCrds(admin);
  for (let k = 0; k < NODE_COUNT; k++) {
    await admin.create(at(NODES, undefined), {
      apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName(k), labels: { 'listeners.stackable.tech/hostname': nodeName(k) } },
      status: { addresses: [{ type: 'InternalIP', address: nodeIp(k) }, { type: 'Hostname', address: `${nodeName(k)}.chaos.internal` }] },
    });
  }
  for (const [name, spec] of [[CLASS_CLUSTER_IP, { serviceType: 'ClusterIP' }], [CLASS_NODE_PORT, { serviceType: 'NodePort', pinnedNodePorts: true, preferredAddressType: 'IP' }]] as const) {
    await admin.create(at(LISTENER_CLASSES, undefined), { apiVersion: GROUP_VERSION, kind: 'ListenerClass', metadata: { name }, spec });
  }
  // Every process a fault starts, so that stop() ends what a failed fault left running.
  const processes: OperatorProcess[] = [];
  const track = <P extends OperatorProcess>(p: P): P => { processes.push(p); return p; };
  const baseEnv = (kubeconfig: string): Record<string, string> => ({
    KUBECONFIG: kubeconfig, DISABLE_CRD_MAINTENANCE: 'true', WEBHOOK_ADDRESS: '', KUBERNETES_CLUSTER_DOMAIN: 'cluster.local',
    LISTENER_CLASS_PRESET: 'none', CONSOLE_LOG_FORMAT: 'plain',
  });
  return {
    cluster, admin, dir, log,
    namespace: async (prefix) => {
      const name = `${prefix}-${randomBytes(3).toString('hex')}`;
      await admin.create(at(NAMESPACES, undefined), { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      return name;
    },
    controller: async (ns, o = {}) => {
      const port = await freePort();
      const sockDir = await mkdtemp(path.join(tmpdir(), 'chaos-ctl-'));
      const env = {
        ...baseEnv(o.kubeconfig ?? cluster.kubeconfig), CSI_ENDPOINT: path.join(sockDir, 'csi.sock'), HTTP_ADDRESS: `127.0.0.1:${port}`,
        WATCH_NAMESPACE: ns, ...o.env,
      };
      const op = spawnOperator(undefined, ['run', 'controller', ...(o.args ?? [])], env);
      return track(Object.assign(op, { http: `127.0.0.1:${port}` }));
    },
    nodePlugin: (socket, o = {}) => track(spawnOperator(undefined, ['run', 'node'], {
      ...baseEnv(o.kubeconfig ?? cluster.kubeconfig), CSI_ENDPOINT: socket, HTTP_ADDRESS: '', KUBERNETES_NODE_NAME: nodeName(0),
    })),
    stop: async () => {
      await Promise.all(processes.map((p) => p.kill('SIGKILL')));
      admin.close();
      await cluster.stop();
    },
  };
}

/** A counter of the operator's /metrics (sum over labels matching `labels`), or undefined. */
export async function metric(http: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://${http}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    let sum: number | undefined;
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
      sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  } catch {
    return undefined;
  }
}
