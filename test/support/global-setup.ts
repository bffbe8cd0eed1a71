// node --test global setup for the integration tier: one real control plane per test run,
// shared by every test file (each file works in namespaces of its own). Test files run in child
// processes that inherit the environment set here.
import { startCluster, type Cluster } from './cluster.ts';

let cluster: Cluster | undefined;

export async function globalSetup(): Promise<void> {
  cluster = await startCluster();
  process.env.KUBECONFIG = cluster.kubeconfig;
  process.env.LISTENER_TEST_BIN = cluster.binDir;
  process.env.LISTENER_TEST_CLUSTER_DIR = cluster.dir;
  process.env.LISTENER_TEST_ETCD_URL = cluster.etcdUrl;
}

export async function globalTeardown(): Promise<void> {
  await cluster?.stop();
}
