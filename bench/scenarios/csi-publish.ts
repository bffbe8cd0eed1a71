// Scenario "csi-publish": M NodePublishVolume calls through the node service's Unix socket, as
// kubelet makes them, for volumes whose PV, PVC and Pod were created beforehand and whose
// Listeners are converged. Reports latency and the API requests per call (the node service's own
// count, cross-checked with the API server's). Reports "not available" when `run node` serves no
// CSI Node service (no socket, or UNIMPLEMENTED).
import { access, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadCsiProto } from '../../src/csi/proto/load.ts';
import type { NodeClient } from '../../src/csi/proto/generated/csi/v1/Node.ts';
import type { NodePublishVolumeRequest } from '../../src/csi/proto/generated/csi/v1/NodePublishVolumeRequest.ts';
import { PERSISTENT_VOLUME_CLAIMS, at } from '../../src/k8s/resources.ts';
import type { KubeClient } from '../../src/k8s/client.ts';
import { eventually } from '../../test/support/k8s.ts';
import { closedLoop, delta, snapshot, startOperator, sumVerbs, type BenchContext, type LoopResult } from '../lib/context.ts';
import { BENCH_NS, createCsiVolume, forEachLimit, listenerName, nodeName, type CsiVolume } from '../lib/fixtures.ts';
import { isNodeServiceRequest, minus, toRecord, total, parseKey } from '../lib/requests.ts';
import { sleep, type OperatorProcess } from '../lib/process.ts';
import { latencyResult, type LatencyResult } from './common.ts';

export type CsiResult =
  | ({ available: true; nodeRequestsByVerb: Record<string, number> | undefined; requestsPerCall: number | undefined; apiRequestsPerCall: number; apiByKey: Record<string, number>; controllerRequestsMeanwhile: number | undefined } & LatencyResult)
  | { available: false; reason: string; calls: number };

const SOCKET_WAIT_MS = 15_000;
const CALL_TIMEOUT_MS = 30_000;

async function waitForSocket(file: string, op: OperatorProcess): Promise<string | undefined> {
  const deadline = performance.now() + SOCKET_WAIT_MS;
  while (performance.now() < deadline) {
    if (!op.running) return `the node service ${op.describeExit()} (see its log)`;
    try {
      await access(file);
      return undefined;
    } catch {
      await sleep(100);
    }
  }
  return `the node service did not create its CSI socket (CSI_ENDPOINT) within ${SOCKET_WAIT_MS / 1000} s`;
}

function unary<Req, Res>(fn: (req: Req, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => unknown, req: Req, timeoutMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err !== null) reject(err);
      else if (res === undefined) reject(new Error('empty response'));
      else resolve(res);
    });
  });
}

function grpcCode(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'number' ? (grpc.status[code] ?? String(code)) : 'UNKNOWN';
}

async function prepareVolumes(ctx: BenchContext, m: number, first: number): Promise<CsiVolume[]> {
  await eventually('ServiceAccount default in the bench namespace', async () => {
    const sa = await ctx.admin.getOptional({ group: '', version: 'v1', plural: 'serviceaccounts', namespace: BENCH_NS, name: 'default' });
    return sa;
  }, 30_000);
  const volumes: CsiVolume[] = new Array<CsiVolume>(m);
  await forEachLimit(m, 16, async (j) => {
    const i = first + j;
    volumes[j] = await createCsiVolume(ctx.admin, { ns: BENCH_NS, i, node: nodeName(0), listener: listenerName(i % ctx.opts.listeners) });
  });
  // Let the controller-manager bind the claims now, not while we measure.
  await waitBound(ctx.admin, m).catch((e: unknown) => { ctx.log(`csi-publish: ${e instanceof Error ? e.message : String(e)} (continuing)`); });
  return volumes;
}

async function waitBound(client: KubeClient, m: number): Promise<void> {
  await eventually(`${m} PVCs bound`, async () => {
    const list = await client.list<{ metadata: { name: string }; status?: { phase?: string } }>(at(PERSISTENT_VOLUME_CLAIMS, BENCH_NS));
    const bound = list.items.filter((p) => p.metadata.name.startsWith('bench-csi-pvc-') && p.status?.phase === 'Bound').length;
    return bound >= m ? true : undefined;
  }, 60_000);
}

function request(ctx: BenchContext, v: CsiVolume, i: number): NodePublishVolumeRequest {
  return {
    volume_id: v.pvName,
    target_path: path.join(ctx.runDir, 'csi-targets', String(i), 'mount'),
    volume_capability: { mount: { fs_type: '', mount_flags: [] }, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' }, access_type: 'mount' },
    readonly: false,
    volume_context: v.volumeContext,
  };
}

/** Connects to the node service; a reason when it is not there. */
async function connect(ctx: BenchContext, node: OperatorProcess): Promise<NodeClient | string> {
  const missing = await waitForSocket(node.csiSocket, node);
  if (missing !== undefined) return missing;
  const proto = loadCsiProto();
  const client = new proto.csi.v1.Node(`unix://${node.csiSocket}`, grpc.credentials.createInsecure());
  try {
    await unary(client.NodeGetInfo.bind(client), {}, 5000);
  } catch (e) {
    if (grpcCode(e) === 'UNIMPLEMENTED') {
      client.close();
      return 'the node service answers UNIMPLEMENTED to NodeGetInfo';
    }
    ctx.log(`csi-publish: NodeGetInfo failed (${grpcCode(e)}: ${errText(e)}); trying NodePublishVolume anyway`);
  }
  return client;
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Non-watch requests the controller made so far (by its own metrics), if it exports them. */
async function controllerRequests(controller: OperatorProcess | undefined): Promise<number | undefined> {
  if (controller?.running !== true) return undefined;
  const m = await controller.metrics().catch(() => undefined);
  if (m === undefined) return undefined;
  return m.samples.filter((s) => s.name === 'listener_operator_api_requests_total' && s.labels.verb !== 'watch').reduce((sum, s) => sum + s.value, 0);
}

async function publishAll(ctx: BenchContext, client: NodeClient, volumes: CsiVolume[]): Promise<{ loop: LoopResult; unimplemented: boolean }> {
  let unimplemented = false;
  const loop = await closedLoop(volumes.length, ctx.opts.publishConcurrency, 120_000 + volumes.length * 1000, async (i) => {
    const v = volumes[i];
    if (v === undefined) throw new Error(`volume ${i} was not prepared`);
    const start = performance.now();
    try {
      await unary(client.NodePublishVolume.bind(client), request(ctx, v, i), CALL_TIMEOUT_MS);
    } catch (e) {
      if (grpcCode(e) === 'UNIMPLEMENTED') unimplemented = true;
      throw new Error(`${grpcCode(e)}: ${errText(e)}`, { cause: e });
    }
    return { start, end: performance.now(), label: 'NodePublishVolume' };
  });
  return { loop, unimplemented };
}

/** `first`: the index of the first volume (a later run over the same cluster uses fresh volumes). */
export async function runCsiPublish(ctx: BenchContext, controller: OperatorProcess | undefined, first = 0): Promise<CsiResult> {
  const m = ctx.opts.publish;
  ctx.log(`csi-publish: preparing ${m} volumes (PV, PVC, Pod on ${nodeName(0)})`);
  const volumes = await prepareVolumes(ctx, m, first);
  const targets = path.join(ctx.runDir, 'csi-targets');
  for (let i = 0; i < m; i++) await mkdir(path.join(targets, String(i)), { recursive: true });
  const node = await startOperator(ctx, { cmd: ctx.opts.nodeCmd, phase: 'node', env: { KUBERNETES_NODE_NAME: nodeName(0) } });
  let client: NodeClient | undefined;
  try {
    const c = await connect(ctx, node);
    if (typeof c === 'string') return { available: false, reason: c, calls: 0 };
    client = c;
    await node.waitReady(10_000).catch(() => undefined);
    const before = await snapshot(ctx, node);
    const ctlBefore = await controllerRequests(controller);
    const { loop, unimplemented } = await publishAll(ctx, c, volumes);
    if (unimplemented && loop.latencies.length === 0) return { available: false, reason: 'the node service answers UNIMPLEMENTED to NodePublishVolume', calls: m };
    const after = await snapshot(ctx, node);
    const ctlAfter = await controllerRequests(controller);
    const d = delta(before, after);
    const attributed = minus(d.api, d.admin, d.cloud);
    const reads = sumVerbs(d.operatorRequests, 'reads');
    const writes = sumVerbs(d.operatorRequests, 'writes');
    const ok = Math.max(1, loop.latencies.length);
    return {
      available: true,
      ...latencyResult(m, ctx.opts.publishConcurrency, [loop]),
      nodeRequestsByVerb: d.operatorRequests === undefined ? undefined : Object.fromEntries(Object.entries(d.operatorRequests).filter(([, x]) => x !== 0)),
      requestsPerCall: reads === undefined || writes === undefined ? undefined : (reads + writes) / ok,
      apiRequestsPerCall: total(attributed, isNodeServiceRequest) / ok,
      apiByKey: toRecord(new Map([...attributed].filter(([k]) => isNodeServiceRequest(parseKey(k))))),
      controllerRequestsMeanwhile: ctlAfter !== undefined && ctlBefore !== undefined ? ctlAfter - ctlBefore : undefined,
    };
  } finally {
    client?.close();
    await node.stop();
    await rm(targets, { recursive: true, force: true });
  }
}
