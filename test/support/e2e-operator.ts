// Our operator on the e2e node, installed from our Helm chart (deploy/helm/listener-operator)
// exactly as a user installs it, its workloads running as Pods on the node from locally assembled
// images (images.ts): `helm upgrade --install` with the pinned helm, so the release exists for
// `helm upgrade` and `helm test` (CSIDriver, StorageClass, ServiceAccount, RBAC, Service, the
// controller Deployment (run controller + csi-provisioner) and the node DaemonSet (run node + the
// registration sidecar); the controller then installs the CRDs).
// Values set (the node values file, NODE_VALUES): kubeletDir (the node's), preset stable-nodes,
// and the two sidecar images: the pinned csi-provisioner build, and the registration stand-in
// (registrar.ts), because the real csi-node-driver-registrar cannot be fetched here. The operator
// image keeps the chart's default name, localhost/listener-operator:<appVersion>, assembled from
// docker/Dockerfile.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Cluster } from './cluster.ts';
import { CHART_DIR, helm, renderChart } from './helm.ts';
import { buildOperatorImages, e2eImagesDir } from './images.ts';
import { eventually } from './k8s.ts';
import type { TestNode } from './node.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { DRIVER_NAME } from '../../src/constants.ts';

export const OPERATOR_NAMESPACE = 'stackable-operators';
/** The release name of the building guide's `helm upgrade listener-operator ...`. */
export const RELEASE = 'listener-operator';

/** What the e2e test files need to know, written as JSON to `stateFile`. */
export interface E2eState {
  kubeconfig: string;
  binDir: string;
  nodeName: string;
  nodeIp: string;
  podCidr: string;
  kubeletDir: string;
  logDir: string;
  /** kubelet's podLogsDir: <namespace>_<pod>_<uid>/<container>/<restart>.log */
  podLogsDir: string;
  operatorNamespace: string;
  /** The Helm release (in operatorNamespace). */
  release: string;
  /** What this node needs the chart to be told (kubeletDir, preset, sidecar images), as a values file. */
  valuesFile: string;
  /** The operator image the release runs. */
  operatorImage: string;
  /** containerd's socket on the node. */
  containerdSocket: string;
  /** The chart's workloads: name and Pod selector labels. */
  deployment: { name: string; selector: Record<string, string> };
  daemonSet: { name: string; selector: Record<string, string> };
}

export interface RunningOperator {
  stateFile: string;
  stop(): Promise<void>;
}

interface PodObj { metadata: { name: string; uid: string; deletionTimestamp?: string }; status?: { conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; ready: boolean; restartCount: number; state?: Record<string, { reason?: string; message?: string }> }[] } }

const selectorOf = (labels: Record<string, string>): string => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');

/** Waits until exactly one Pod matches and all its containers are ready; returns it. */
export async function waitWorkloadPod(client: KubeClient, namespace: string, labels: Record<string, string>, what: string, timeoutMs = 120_000): Promise<PodObj> {
  return eventually(`${what} Pod Ready`, async () => {
    const pods = (await client.list<PodObj>({ group: '', version: 'v1', plural: 'pods', namespace }, { labelSelector: selectorOf(labels) })).items
      .filter((p) => p.metadata.deletionTimestamp === undefined);
    const p = pods[0];
    if (pods.length === 1 && p !== undefined && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true) return p;
    throw new Error(pods.map((x) => `${x.metadata.name}: ${JSON.stringify(x.status?.containerStatuses?.map((c) => ({ name: c.name, ready: c.ready, restarts: c.restartCount, state: c.state })) ?? [])}`).join('; ') || 'no Pod');
  }, timeoutMs);
}

interface ImagePod { metadata: { name: string; deletionTimestamp?: string }; spec: { containers: { name: string; image: string }[] }; status?: { conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; image: string; imageID: string; ready: boolean }[] } }

/** Waits until the workload has exactly one Pod, Ready, whose container `container` runs `image`. */
export async function waitWorkloadImage(client: KubeClient, ns: string, selector: Record<string, string>, container: string, image: string): Promise<ImagePod> {
  const timeoutMs = 180_000;
  const labelSelector = selectorOf(selector);
  return eventually(`a Ready Pod (${labelSelector}) whose ${container} runs ${image}`, async () => {
    const pods = (await client.list<ImagePod>({ group: '', version: 'v1', plural: 'pods', namespace: ns }, { labelSelector })).items.filter((p) => p.metadata.deletionTimestamp === undefined);
    const [p] = pods;
    const c = p?.spec.containers.find((x) => x.name === container);
    const ready = p?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true;
    if (pods.length === 1 && p !== undefined && c?.image === image && ready) return p;
    throw new Error(pods.map((x) => `${x.metadata.name}: ${x.spec.containers.map((y) => y.image).join(',')} ${JSON.stringify(x.status?.containerStatuses?.map((st) => st.ready) ?? [])}`).join('; ') || 'no Pod');
  }, timeoutMs, 50);
}

/** Waits until the kubelet of `node` lists the driver in its CSINode. */
export async function waitDriverRegistered(client: KubeClient, node: string, timeoutMs = 90_000): Promise<void> {
  await eventually(`kubelet registers ${DRIVER_NAME} (CSINode ${node})`, async () => {
    const n = await client.getOptional<{ spec: { drivers: { name: string }[] | null } }>({ group: 'storage.k8s.io', version: 'v1', plural: 'csinodes', name: node });
    return n?.spec.drivers?.some((d) => d.name === DRIVER_NAME) === true ? true : undefined;
  }, timeoutMs, 50);
}

/** The log a container of a Pod wrote (kubelet's files on this host), all restarts. */
export async function containerLog(podLogsDir: string, namespace: string, pod: PodObj, container: string): Promise<string> {
  const dir = path.join(podLogsDir, `${namespace}_${pod.metadata.name}_${pod.metadata.uid}`, container);
  const files = (await readdir(dir).catch(() => [])).sort();
  return (await Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')))).join('');
}

export async function startOperator(cluster: Cluster, node: TestNode, opts: { log?: (l: string) => void } = {}): Promise<RunningOperator> {
  const log = opts.log ?? ((l: string) => { process.stderr.write(`[operator] ${l}\n`); });
  process.env.LISTENER_TEST_BIN ??= cluster.binDir; // where helm.ts finds the pinned helm
  const t0 = Date.now();
  const appVersion = /^appVersion:\s*"?([^"\s]+)"?/m.exec(await readFile(path.join(CHART_DIR, 'Chart.yaml'), 'utf8'))?.[1] ?? '';
  const provisionerVersion = /external-provisioner\/v6 v(\S+)/.exec(await readFile(path.join(import.meta.dirname, '..', '..', 'tools', 'csi', 'go.mod'), 'utf8'))?.[1] ?? 'dev';
  const images = await buildOperatorImages(e2eImagesDir(), cluster.binDir, appVersion, `v${provisionerVersion}`, log);
  await node.importImages([images.operator.archive, images.provisioner.archive, images.registrar.archive]);
  log(`imported ${images.operator.name}, ${images.provisioner.repository}:${images.provisioner.tag}, ${images.registrar.repository}:${images.registrar.tag} (${Date.now() - t0} ms)`);

  const namespace = OPERATOR_NAMESPACE;
  const values = {
    kubeletDir: node.kubeletDir,
    preset: 'stable-nodes',
    csiProvisioner: { externalProvisioner: { image: { repository: images.provisioner.repository, tag: images.provisioner.tag } } },
    csiNodeDriver: { nodeDriverRegistrar: { image: { repository: images.registrar.repository, tag: images.registrar.tag } } },
  };
  const valuesFile = path.join(node.dir, 'node-values.yaml');
  await writeFile(valuesFile, JSON.stringify(values, null, 2)); // JSON is YAML
  const chart = await renderChart(values, { release: RELEASE, namespace });
  const deployment = chart.workload('Deployment');
  const daemonSet = chart.workload('DaemonSet');

  const client = await KubeClient.fromKubeconfig(cluster.kubeconfig);
  try {
    const out = await helm(cluster.kubeconfig, ['upgrade', RELEASE, CHART_DIR, '--install', '--namespace', namespace, '--create-namespace', '-f', valuesFile]);
    log(`helm upgrade --install: ${out.split('\n').filter((l) => /^(STATUS|REVISION):/.test(l)).join(', ')}`);
    log(`chart installed: ${chart.objects.filter((o) => o.metadata.annotations?.['helm.sh/hook'] === undefined).map((o) => `${o.kind} ${o.metadata.name}`).join(', ')}`);
    const [controllerPod, nodePod] = await Promise.all([
      waitWorkloadPod(client, namespace, deployment.spec.selector.matchLabels, `Deployment ${deployment.metadata.name}`),
      waitWorkloadPod(client, namespace, daemonSet.spec.selector.matchLabels, `DaemonSet ${daemonSet.metadata.name}`),
    ]);
    // Ready when kubelet has registered the driver (the CSINode lists it).
    await waitDriverRegistered(client, node.name, 60_000);
    log(`operator running: Pods ${controllerPod.metadata.name} and ${nodePod.metadata.name} Ready, driver registered with kubelet (${Date.now() - t0} ms)`);
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}; kubelet's and containerd's logs in ${node.logDir}, the Pods' logs in ${node.podLogsDir}`, { cause: e });
  } finally {
    client.close();
  }

  const state: E2eState = {
    kubeconfig: cluster.kubeconfig, binDir: cluster.binDir, nodeName: node.name, nodeIp: node.ip, podCidr: '10.244.0.0/24',
    kubeletDir: node.kubeletDir, logDir: node.logDir, podLogsDir: node.podLogsDir, operatorNamespace: namespace,
    release: RELEASE, valuesFile, operatorImage: images.operator.name, containerdSocket: node.containerdSocket,
    deployment: { name: deployment.metadata.name, selector: deployment.spec.selector.matchLabels },
    daemonSet: { name: daemonSet.metadata.name, selector: daemonSet.spec.selector.matchLabels },
  };
  const stateFile = path.join(node.dir, 'e2e-state.json');
  await writeFile(stateFile, JSON.stringify(state, null, 2));
  // The Pods go with the node (its teardown stops every container).
  return { stateFile, stop: async () => { /* nothing of its own */ } };
}
