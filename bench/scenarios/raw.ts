// Scenario "raw limit": the API server's own ceiling for the same work. A bare KubeClient performs
// per Listener exactly the requests that must happen for it to become ready: create the Listener,
// server-side apply its Service (the body the operator would apply, built by the same pure
// functions), for LoadBalancer the cloud's status write, then apply the Listener status (addresses
// and Ready condition, as the controller writes it). Same closed loop, same concurrency, same
// watch-based "ready" as "create".
//
// Its Listeners are of the twin kind (RAW_GROUP, same schema) and its Services lack the operator's
// managed-by label, so the operator, which keeps running between the interleaved chunks, never
// sees them: no cache entries, no events, no reconciles.
import { KubeClient, type KubeObject } from '../../src/k8s/client.ts';
import { LISTENER_CLASSES, SERVICES, at } from '../../src/k8s/resources.ts';
import { FIELD_MANAGER, LABEL_APP_MANAGED_BY } from '../../src/constants.ts';
import { parseListener, parseListenerClass, type ListenerClass } from '../../src/crd/index.ts';
import { buildService } from '../../src/core/service.ts';
import { buildListenerStatus } from '../../src/core/status.ts';
import { conditionTime, ownConditions } from '../../src/core/conditions.ts';
import type { Node, Service } from '../../src/core/kube.ts';
import { APPLIED_HASH_ANNOTATION } from '../../src/controller/reconcile.ts';
import { contentHash } from '../../src/util/stable-json.ts';
import { closedLoop, delta, snapshot, type BenchContext, type LoopResult } from '../lib/context.ts';
import { CLASS_NAMES, CLASS_TYPES, RAW_GROUP_VERSION, RAW_LISTENERS, RAW_NS, classOf, listenerBody, listenerName, nodeAddresses, nodeName, nodeOf, type ClassType } from '../lib/fixtures.ts';
import { copyTally, diff, tallyClient, toRecord, total, WRITE_VERBS, type Tally } from '../lib/requests.ts';
import { lbIp, lbStatusPatch, type ReadyTracker } from '../lib/watchers.ts';
import type { LatencyResult } from './common.ts';
import { ITEM_TIMEOUT_MS, deadlineFor } from './create.ts';

export interface RawResult extends LatencyResult {
  /** The bare client's requests by key, and writes per Listener. */
  requests: Record<string, number>;
  writesPerListener: number;
  cpuSeconds: { apiserver: number; bench: number };
  machineBusy: number;
}

export interface RawChunk { loop: LoopResult; seconds: number; apiserverCpu: number; benchCpu: number; machineBusy: number }

/** The bare client of the raw limit, with the classes it builds from. */
export class RawClient {
  readonly client: KubeClient;
  readonly tally: Tally;
  private readonly classes: Record<ClassType, ListenerClass>;
  private lb = 1 << 15; // another load-balancer address range than the cloud loop's

  private constructor(client: KubeClient, classes: Record<ClassType, ListenerClass>) {
    this.client = client;
    this.tally = tallyClient(client);
    this.classes = classes;
  }

  static async create(kubeconfig: string): Promise<RawClient> {
    const client = await KubeClient.fromKubeconfig(kubeconfig);
    const classes = {} as Record<ClassType, ListenerClass>;
    for (const type of CLASS_TYPES) {
      const parsed = parseListenerClass(await client.get(at(LISTENER_CLASSES, undefined, CLASS_NAMES[type])));
      if (!parsed.ok) throw new Error(`ListenerClass ${CLASS_NAMES[type]}: ${parsed.error}`);
      classes[type] = parsed.value;
    }
    return new RawClient(client, classes);
  }

  close(): void {
    this.client.close();
  }

  /** The minimum writes for Listener i. */
  async converge(i: number, nodes: number): Promise<void> {
    const { client } = this;
    const type = classOf(i);
    const name = listenerName(i);
    const created = await client.create<KubeObject>(at(RAW_LISTENERS, RAW_NS), listenerBody(RAW_NS, i, RAW_GROUP_VERSION));
    const listener = parseListener(created);
    if (!listener.ok) throw new Error(`Listener ${name}: ${listener.error}`);
    const desired = buildService(listener.value, this.classes[type]);
    if (!desired.ok) throw new Error(`Listener ${name}: ${desired.error}`);
    const d = desired.value;
    const labels = Object.fromEntries(Object.entries(d.metadata.labels).filter(([k]) => k !== LABEL_APP_MANAGED_BY));
    const body = {
      ...d,
      metadata: {
        ...d.metadata, labels,
        annotations: { ...d.metadata.annotations, [APPLIED_HASH_ANNOTATION]: contentHash(d) },
        ownerReferences: d.metadata.ownerReferences.map((r) => ({ ...r, apiVersion: RAW_GROUP_VERSION })),
      },
    };
    let service = await client.apply<Service>(at(SERVICES, RAW_NS, d.metadata.name), body, FIELD_MANAGER, true);
    if (type === 'LoadBalancer') service = await client.mergePatch<Service>(at(SERVICES, RAW_NS, d.metadata.name, 'status'), lbStatusPatch(lbIp(this.lb++)));
    const k = nodeOf(i, nodes);
    const backing: Node[] = type === 'NodePort' ? [{ metadata: { name: nodeName(k) }, status: { addresses: nodeAddresses(k) } }] : [];
    const addresses = buildListenerStatus({ listenerClass: this.classes[type], service, nodes: backing, clusterDomain: 'cluster.local' });
    const conditions = ownConditions({ previous: undefined, ready: true, reason: 'AddressesAvailable', message: 'The Listener has addresses.', generation: listener.value.metadata.generation, now: conditionTime(new Date()) });
    await client.apply(at(RAW_LISTENERS, RAW_NS, name, 'status'), { apiVersion: RAW_GROUP_VERSION, kind: 'Listener', metadata: { name, namespace: RAW_NS }, status: { ...addresses, conditions } }, FIELD_MANAGER, true);
  }
}

export async function runRawChunk(ctx: BenchContext, raw: RawClient, tracker: ReadyTracker, indexes: readonly number[]): Promise<RawChunk> {
  const before = await snapshot(ctx, undefined);
  const loop = await closedLoop(indexes.length, ctx.opts.concurrency, deadlineFor(indexes.length), async (j) => {
    const i = indexes[j] ?? 0;
    const ready = tracker.expect(`${RAW_NS}/${listenerName(i)}`, ITEM_TIMEOUT_MS);
    const start = performance.now();
    try {
      await raw.converge(i, ctx.opts.nodes);
    } catch (e) {
      ready.catch(() => undefined);
      throw e;
    }
    return { start, end: await ready, label: classOf(i) };
  });
  const d = delta(before, await snapshot(ctx, undefined));
  return { loop, seconds: d.seconds, apiserverCpu: d.cpuSeconds.apiserver, benchCpu: d.cpuSeconds.bench, machineBusy: d.machineBusy };
}

export function rawRequests(raw: RawClient, before: Tally, completed: number): { requests: Record<string, number>; writesPerListener: number } {
  const requests = diff(copyTally(raw.tally), before);
  return { requests: toRecord(requests), writesPerListener: total(requests, (k) => WRITE_VERBS.has(k.verb)) / Math.max(1, completed) };
}
