// Runs our operator's pieces against the shared real control plane: CRD installation and an
// in-process Listener controller scoped to one test namespace (so test files running in parallel
// never reconcile each other's Listeners, and request counts belong to one test).
import { buildCrds } from '../../src/crd/index.ts';
import { createLogger } from '../../src/cli/log.ts';
import { ListenerController } from '../../src/controller/controller.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { CRDS, at } from '../../src/k8s/resources.ts';
import type { TestContext } from 'node:test';
import { eventually, freshNamespace, testClient } from './k8s.ts';

interface Crd { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }

/** Applies our CRDs (idempotent) and waits until the API server serves them. */
export async function installCrds(client: KubeClient): Promise<void> {
  for (const crd of buildCrds() as unknown as Crd[]) {
    await client.apply(at(CRDS, undefined, crd.metadata.name), crd, 'listener-operator-tests', true);
  }
  for (const crd of buildCrds() as unknown as Crd[]) {
    await eventually(`CRD ${crd.metadata.name} established`, async () => {
      const got = await client.get<Crd>(at(CRDS, undefined, crd.metadata.name));
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true ? true : undefined;
    });
  }
}

export interface RunningController {
  controller: ListenerController;
  client: KubeClient;
  stop(): Promise<void>;
}

export async function startController(namespace: string, opts: { clusterDomain?: string } = {}): Promise<RunningController> {
  const client = await testClient();
  const log = createLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'error', 'plain');
  const controller = new ListenerController({ client, log, clusterDomain: opts.clusterDomain ?? 'cluster.local', concurrency: 4, namespace });
  await controller.start();
  return {
    controller,
    client,
    stop: async () => {
      await controller.stop();
      client.close();
    },
  };
}

/** The usual test frame: a client, a fresh namespace and a controller for it, all cleaned up. */
export async function controllerTest(t: TestContext, opts: { clusterDomain?: string } = {}): Promise<{ client: KubeClient; ns: string; ctl: RunningController }> {
  const client = await testClient();
  t.after(() => { client.close(); });
  const ns = await freshNamespace(t, client);
  const ctl = await startController(ns, opts);
  t.after(() => ctl.stop());
  return { client, ns, ctl };
}
