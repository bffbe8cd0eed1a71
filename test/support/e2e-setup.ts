// node --test global setup for the e2e tier: its own control plane (never shared with the
// integration tier, whose fake Nodes would attract Pods), one real node (node.ts), and the
// operator wired as upstream's chart wires it (e2e-operator.ts). Test files run in child processes
// and find all of it through the environment set here (see e2e.ts).
import { startCluster, type Cluster } from './cluster.ts';
import { E2E_LOGS, startNode, type TestNode } from './node.ts';
import { startOperator, type RunningOperator } from './e2e-operator.ts';

let cluster: Cluster | undefined;
let node: TestNode | undefined;
let operator: RunningOperator | undefined;

const log = (l: string): void => { process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${l}\n`); };

export async function globalSetup(): Promise<void> {
  const t0 = Date.now();
  try {
    cluster = await startCluster({ log });
    node = await startNode(cluster, { log });
    operator = await startOperator(cluster, node, { log });
  } catch (e) {
    await globalTeardown();
    throw e;
  }
  process.env.KUBECONFIG = cluster.kubeconfig;
  process.env.LISTENER_TEST_BIN = cluster.binDir;
  process.env.LISTENER_E2E_STATE = operator.stateFile;
  log(`e2e environment ready in ${Date.now() - t0} ms`);
}

export async function globalTeardown(): Promise<void> {
  const t0 = Date.now();
  await operator?.stop();
  await node?.stop();
  await cluster?.stop();
  log(`e2e environment torn down in ${Date.now() - t0} ms${node === undefined ? '' : `; the node's logs are in ${E2E_LOGS}`}`);
}
