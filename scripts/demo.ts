// The demo: a real control plane, a real node (kubelet, containerd, kube-proxy), the operator
// deployed from our Helm chart (as Pods from locally assembled images, see test/support/e2e-operator.ts), and a Pod
// that asks for exposure through a listener volume. It shows the Listener's addresses, the files
// the CSI driver wrote into the Pod's volume, and an HTTP request reaching the Pod through them.
// Everything is torn down at the end; with `--keep` (npm run demo -- --keep) the cluster stays up,
// with its kubeconfig printed, until Ctrl-C or SIGTERM. Traffic stays on this machine (the node's
// own IP).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { startCluster, type Cluster } from '../test/support/cluster.ts';
import { startNode, type TestNode } from '../test/support/node.ts';
import { startOperator, type RunningOperator } from '../test/support/e2e-operator.ts';
import { defaultAddressFiles, ephemeralListenerVolume, httpGetOk, waitPodReady, webContainer } from '../test/support/e2e.ts';
import { eventually } from '../test/support/k8s.ts';
import { KubeClient } from '../src/k8s/client.ts';
import { LISTENERS, NAMESPACES, PODS, SERVICES, at } from '../src/k8s/resources.ts';
import type { ListenerStatus } from '../src/crd/index.ts';

const keep = process.argv.slice(2).includes('--keep');
const unknown = process.argv.slice(2).filter((a) => a !== '--keep');
if (unknown.length > 0) {
  console.error(`unknown argument(s): ${unknown.join(' ')}; usage: npm run demo [-- --keep]`);
  process.exit(2);
}

const say = (s: string): void => { console.log(`\n▶ ${s}`); };

/** Resolves on Ctrl-C or SIGTERM (installed only while the kept cluster waits). */
function termination(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => { resolve('SIGINT'); });
    process.once('SIGTERM', () => { resolve('SIGTERM'); });
  });
}
const progress = (l: string): void => { console.log(`  ${l}`); };

let cluster: Cluster | undefined;
let node: TestNode | undefined;
let operator: RunningOperator | undefined;
let client: KubeClient | undefined;
try {
  say('bringing up a control plane, a real node and the operator (from deploy/helm/listener-operator)');
  cluster = await startCluster({ log: progress });
  node = await startNode(cluster, { log: progress });
  operator = await startOperator(cluster, node, { log: progress });
  client = await KubeClient.fromKubeconfig(cluster.kubeconfig);

  say('creating Pod demo/web: an httpd with an ephemeral listener volume of class external-unstable (NodePort)');
  await client.create(at(NAMESPACES, undefined), { metadata: { name: 'demo' } });
  await client.create(at(PODS, 'demo'), {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      containers: [webContainer(['listener'])],
      volumes: [ephemeralListenerVolume('listener', { 'listeners.stackable.tech/listener-class': 'external-unstable' })],
    },
  });
  const pod = await waitPodReady(client, 'demo', 'web');
  progress(`Pod demo/web is Ready on ${pod.spec.nodeName ?? '?'} (IP ${pod.status?.podIP ?? '?'})`);

  const c = client;
  const status = await eventually('Listener status', async () => {
    const l = await c.get<{ status?: ListenerStatus }>(at(LISTENERS, 'demo', 'web-listener'));
    return (l.status?.ingressAddresses?.length ?? 0) > 0 ? l.status : undefined;
  });
  const svc = await client.get<{ spec: { type: string; selector: Record<string, string> } }>(at(SERVICES, 'demo', status?.serviceName ?? 'web-listener'));
  say(`the operator created Listener demo/web-listener (named after the volume's PVC) and Service demo/${status?.serviceName ?? ''} (${svc.spec.type}, selector ${JSON.stringify(svc.spec.selector)})`);
  say('Listener status:');
  console.log(JSON.stringify(status, null, 2).replace(/^/gm, '  '));

  say('what the container sees in its volume (printed by the container at start, from its log):');
  const logsDir = node.podLogsDir;
  const podDir = (await readdir(logsDir)).find((d) => d.startsWith('demo_web_'));
  if (podDir !== undefined) {
    const log = await readFile(path.join(logsDir, podDir, 'web', '0.log'), 'utf8');
    for (const line of log.split('\n')) {
      const text = line.split(' ').slice(3).join(' '); // CRI log format: time stream tag text
      if (text.includes('/www/listener')) console.log(`  ${text.replace('/www/listener/', '/listener/')}`);
    }
  }
  const files = await defaultAddressFiles(pod, 'listener', ['http']);
  const url = `http://${files.address}:${files.ports.http ?? 0}/`;
  say(`reaching the Pod at the address its own files name: GET ${url}`);
  const answer = await httpGetOk(url);
  console.log(`  HTTP ${answer.status}: ${answer.body.trim()}  (the Pod serves its own name)`);
  if (keep) {
    const kubectl = path.join(cluster.binDir, 'kubectl');
    say('the demo cluster stays up (--keep). In another terminal:');
    console.log(`  export KUBECONFIG=${cluster.kubeconfig}`);
    console.log(`  ${kubectl} get listeners,services,pods -A`);
    console.log(`  ${path.join(cluster.binDir, 'helm')} test listener-operator -n stackable-operators --logs`);
    console.log(`  curl ${url}`);
    say(`stop it with Ctrl-C here, or: kill ${process.pid}   (everything it started is removed)`);
    const signal = await termination();
    say(`${signal} received`);
  }
} finally {
  say('tearing everything down');
  client?.close();
  await operator?.stop();
  await node?.stop();
  await cluster?.stop();
  progress('done');
}
