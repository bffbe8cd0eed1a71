// Scenario "raw limit": the API server's own ceiling for the same work. A bare KubeClient, with the
// operator stopped, performs per Listener exactly the requests that must happen for it to become
// ready: create the Listener, server-side apply its Service (the very body the operator would
// apply, built by the same pure functions), for LoadBalancer the cloud's status write, then apply
// the Listener status (addresses and Ready condition, as the controller writes it). Same closed loop, same concurrency, same watch-based "ready" as "create".
import { KubeClient, type KubeObject } from '../../src/k8s/client.ts';
import { LISTENERS, LISTENER_CLASSES, SERVICES, at } from '../../src/k8s/resources.ts';
import { FIELD_MANAGER, GROUP_VERSION } from '../../src/constants.ts';
import { parseListener, parseListenerClass, type ListenerClass } from '../../src/crd/index.ts';
import { buildService } from '../../src/core/service.ts';
import { buildListenerStatus } from '../../src/core/status.ts';
import { conditionTime, withReadyCondition } from '../../src/core/conditions.ts';
import type { Node, Service } from '../../src/core/kube.ts';
import { APPLIED_HASH_ANNOTATION } from '../../src/controller/reconcile.ts';
import { contentHash } from '../../src/util/stable-json.ts';
import { closedLoop, delta, snapshot, type BenchContext } from '../lib/context.ts';
import { CLASS_NAMES, CLASS_TYPES, RAW_NS, classOf, listenerBody, listenerName, nodeAddresses, nodeName, nodeOf, type ClassType } from '../lib/fixtures.ts';
import { copyTally, diff, tallyClient, toRecord, total, WRITE_VERBS } from '../lib/requests.ts';
import { lbIp, lbStatusPatch } from '../lib/watchers.ts';
import { latencyResult, type LatencyResult } from './common.ts';
import { ITEM_TIMEOUT_MS, deadlineFor } from './create.ts';

export interface RawResult extends LatencyResult {
  /** The bare client's requests by key, and writes per Listener. */
  requests: Record<string, number>;
  writesPerListener: number;
  cpuSeconds: { apiserver: number; bench: number };
  machineBusy: number;
}

export async function runRaw(ctx: BenchContext): Promise<RawResult> {
  const n = ctx.opts.listeners;
  const client = await KubeClient.fromKubeconfig(ctx.cluster.kubeconfig);
  const tally = tallyClient(client);
  try {
    const classes = {} as Record<ClassType, ListenerClass>;
    for (const type of CLASS_TYPES) {
      const parsed = parseListenerClass(await client.get(at(LISTENER_CLASSES, undefined, CLASS_NAMES[type])));
      if (!parsed.ok) throw new Error(`ListenerClass ${CLASS_NAMES[type]}: ${parsed.error}`);
      classes[type] = parsed.value;
    }
    const before = copyTally(tally);
    const snapBefore = await snapshot(ctx, undefined);
    let lb = 1 << 15; // a different load-balancer address range from the cloud loop's
    ctx.log(`raw limit: ${n} Listeners, ${ctx.opts.concurrency} closed-loop workers, bare client`);
    const loop = await closedLoop(n, ctx.opts.concurrency, deadlineFor(n), async (i) => {
      const type = classOf(i);
      const name = listenerName(i);
      const ready = ctx.tracker.expect(`${RAW_NS}/${name}`, ITEM_TIMEOUT_MS);
      const start = performance.now();
      try {
        const created = await client.create<KubeObject>(at(LISTENERS, RAW_NS), listenerBody(RAW_NS, i));
        const listener = parseListener(created);
        if (!listener.ok) throw new Error(`Listener ${name}: ${listener.error}`);
        const desired = buildService(listener.value, classes[type]);
        if (!desired.ok) throw new Error(`Listener ${name}: ${desired.error}`);
        const body = { ...desired.value, metadata: { ...desired.value.metadata, annotations: { ...desired.value.metadata.annotations, [APPLIED_HASH_ANNOTATION]: contentHash(desired.value) } } };
        let service = await client.apply<Service>(at(SERVICES, RAW_NS, desired.value.metadata.name), body, FIELD_MANAGER, true);
        if (type === 'LoadBalancer') service = await client.mergePatch<Service>(at(SERVICES, RAW_NS, desired.value.metadata.name, 'status'), lbStatusPatch(lbIp(lb++)));
        const k = nodeOf(i, ctx.opts.nodes);
        const nodes: Node[] = type === 'NodePort' ? [{ metadata: { name: nodeName(k) }, status: { addresses: nodeAddresses(k) } }] : [];
        const addresses = buildListenerStatus({ listenerClass: classes[type], service, nodes, clusterDomain: 'cluster.local' });
        const conditions = withReadyCondition({ previous: undefined, ready: true, reason: 'AddressesAvailable', message: 'The Listener has addresses.', generation: listener.value.metadata.generation, now: conditionTime(new Date()) });
        const status = { ...addresses, conditions };
        await client.apply(at(LISTENERS, RAW_NS, name, 'status'), { apiVersion: GROUP_VERSION, kind: 'Listener', metadata: { name, namespace: RAW_NS }, status }, FIELD_MANAGER, true);
      } catch (e) {
        ready.catch(() => undefined);
        throw e;
      }
      const end = await ready;
      return { start, end, label: type };
    });
    const snapAfter = await snapshot(ctx, undefined);
    const d = delta(snapBefore, snapAfter);
    const requests = diff(copyTally(tally), before);
    const result = latencyResult(n, ctx.opts.concurrency, loop);
    return {
      ...result,
      requests: toRecord(requests),
      writesPerListener: total(requests, (k) => WRITE_VERBS.has(k.verb)) / Math.max(1, result.completed),
      cpuSeconds: { apiserver: d.cpuSeconds.apiserver, bench: d.cpuSeconds.bench },
      machineBusy: d.machineBusy,
    };
  } finally {
    client.close();
  }
}
