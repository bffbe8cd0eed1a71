// CSI test helpers: our CSI services in-process on a real Unix socket, a small gRPC client typed by
// the generated code (every call goes through the socket, as kubelet's and the provisioner's do),
// and builders for the objects a listener volume involves (PVC, PV, Pod), as the provisioner,
// the PV binder and kubelet would leave them.
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { createLogger } from '../../src/cli/log.ts';
import { DRIVER_NAME } from '../../src/constants.ts';
import { controllerService } from '../../src/csi/controller-service.ts';
import { identityService } from '../../src/csi/identity.ts';
import { nodeService } from '../../src/csi/node-service.ts';
import type { ControllerDefinition } from '../../src/csi/proto/generated/csi/v1/Controller.ts';
import type { IdentityDefinition } from '../../src/csi/proto/generated/csi/v1/Identity.ts';
import type { NodeDefinition } from '../../src/csi/proto/generated/csi/v1/Node.ts';
import { loadCsiProto } from '../../src/csi/proto/load.ts';
import { startCsiServer, type CsiServer } from '../../src/csi/server.ts';
import { KubeClient } from '../../src/k8s/client.ts';
import { PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, PODS, at } from '../../src/k8s/resources.ts';
import { eventually, testClient } from './k8s.ts';

interface Definitions {
  Identity: IdentityDefinition;
  Controller: ControllerDefinition;
  Node: NodeDefinition;
}
type Service = keyof Definitions;
type Method<S extends Service> = keyof { [K in keyof Definitions[S] as string extends K ? never : K]: unknown } & string;
type RequestOf<S extends Service, M extends Method<S>> = Definitions[S][M] extends { requestSerialize: (value: infer Req) => Buffer } ? Req : never;
type ResponseOf<S extends Service, M extends Method<S>> = Definitions[S][M] extends { responseDeserialize: (bytes: Buffer) => infer Out } ? Out : never;

const proto = loadCsiProto().csi.v1;

/** One connection to a CSI socket; `call('Node', 'NodePublishVolume', {...})` is fully typed. */
export class CsiClient {
  private readonly client: grpc.Client;

  constructor(endpoint: string) {
    this.client = new grpc.Client(`unix://${endpoint}`, grpc.credentials.createInsecure());
  }

  /** One call with a deadline `timeoutMs` from now; aborting `signal` cancels it (as kubelet does when it gives up). */
  call<S extends Service, M extends Method<S>>(service: S, method: M, request: RequestOf<S, M>, timeoutMs = 30_000, signal?: AbortSignal): Promise<ResponseOf<S, M>> {
    const def = (proto[service].service as unknown as Record<string, MethodDefinition<RequestOf<S, M>, unknown, unknown, ResponseOf<S, M>>>)[method];
    assert.ok(def !== undefined, `${service}.${method} is in the protocol`);
    return new Promise((resolve, reject) => {
      const call = this.client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, value) => {
        if (error !== null) reject(error);
        else if (value === undefined) reject(new Error(`${service}.${method}: empty response`));
        else resolve(value);
      });
      signal?.addEventListener('abort', () => { call.cancel(); }, { once: true });
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Awaits a call that must fail with `code`; returns the error details for further checks. */
export async function expectCode(call: Promise<unknown>, code: grpc.status, details?: RegExp): Promise<string> {
  try {
    await call;
  } catch (e) {
    const err = e as grpc.ServiceError;
    assert.equal(grpc.status[err.code], grpc.status[code], `expected ${grpc.status[code]}, got ${grpc.status[err.code]}: ${err.details}`);
    if (details !== undefined) assert.match(err.details, details);
    return err.details;
  }
  assert.fail(`expected ${grpc.status[code]}, but the call succeeded`);
}

export interface RunningCsi {
  readonly endpoint: string;
  /** The KubeClient the services use (its `counts` show what a call did to the API server). */
  readonly kube: KubeClient;
  readonly csi: CsiClient;
  readonly server: CsiServer;
}

/** A temp directory for sockets and target paths, removed when the test ends. */
export async function tempDir(t: TestContext, prefix = 'csi-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Our CSI services in-process on a fresh socket: `controller` and/or `node` (with its Node name),
 * talking to the shared control plane (or through `kubeconfig`, e.g. a stall proxy's).
 */
export async function startCsi(t: TestContext, opts: { controller?: boolean; nodeName?: string; cacheTtlMs?: number; kubeconfig?: string }): Promise<RunningCsi> {
  const dir = await tempDir(t, 'lo-csi-');
  const endpoint = path.join(dir, 'csi.sock');
  const kube = opts.kubeconfig === undefined ? await testClient() : await KubeClient.fromKubeconfig(opts.kubeconfig);
  const log = createLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'error', 'plain');
  const server = await startCsiServer({
    endpoint,
    log,
    services: {
      identity: identityService(),
      controller: opts.controller === true ? controllerService({ client: kube }) : undefined,
      node: opts.nodeName === undefined ? undefined : nodeService({ client: kube, nodeName: opts.nodeName, cacheTtlMs: opts.cacheTtlMs ?? 0 }),
    },
    shutdownGraceMs: 2000,
  });
  const csi = new CsiClient(endpoint);
  t.after(async () => {
    csi.close();
    await server.close();
    kube.close();
  });
  return { endpoint, kube, csi, server };
}

// ---- objects -------------------------------------------------------------------------------------

export const STORAGE_CLASS = DRIVER_NAME;
export const mountCapability = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' as const } };

export interface TestPod {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
}

export interface ContainerPort { name?: string; containerPort: number; protocol?: string }

/** A Pod bound to `nodeName` (no kubelet runs it). Retries while the namespace's default ServiceAccount is missing. */
export async function createPod(client: KubeClient, ns: string, name: string, spec: { nodeName: string; ports?: ContainerPort[]; volumes: unknown[] }): Promise<TestPod> {
  const body = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns },
    spec: {
      nodeName: spec.nodeName,
      automountServiceAccountToken: false,
      containers: [{ name: 'main', image: 'registry.invalid/none:0', ports: spec.ports ?? [] }],
      volumes: spec.volumes,
    },
  };
  return eventually(`Pod ${ns}/${name} created`, () => client.create<TestPod>(at(PODS, ns), body));
}

/** A generic ephemeral volume of a Pod (its claim is `<pod>-<volume>`). */
export function ephemeralVolume(name: string, annotations: Record<string, string>, labels?: Record<string, string>): unknown {
  return {
    name,
    ephemeral: {
      volumeClaimTemplate: {
        metadata: { annotations, labels },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1' } }, storageClassName: STORAGE_CLASS },
      },
    },
  };
}

/** A Pod volume using an existing claim (the StatefulSet way). */
export function claimVolume(name: string, claimName: string): unknown {
  return { name, persistentVolumeClaim: { claimName } };
}

export interface TestPvc { metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string>; labels?: Record<string, string> } }

/** A PVC, optionally owned by a Pod (as the ephemeral-volume controller creates it; that controller may win the race). */
export async function createPvc(client: KubeClient, ns: string, name: string, opts: { annotations?: Record<string, string>; labels?: Record<string, string>; ownerPod?: TestPod }): Promise<TestPvc> {
  const owner = opts.ownerPod === undefined ? undefined : [{ apiVersion: 'v1', kind: 'Pod', name: opts.ownerPod.metadata.name, uid: opts.ownerPod.metadata.uid, controller: true, blockOwnerDeletion: true }];
  try {
    return await client.create<TestPvc>(at(PERSISTENT_VOLUME_CLAIMS, ns), {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: ns, annotations: opts.annotations, labels: opts.labels, ownerReferences: owner },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1' } }, storageClassName: STORAGE_CLASS },
    });
  } catch (e) {
    if (opts.ownerPod === undefined) throw e;
    return client.get<TestPvc>(at(PERSISTENT_VOLUME_CLAIMS, ns, name));
  }
}

export interface TestPv { metadata: { name: string; uid: string; labels?: Record<string, string> } }

/** The PV the provisioner would create for `pvc` (volume handle = its name), bound to the claim. Deleted when the test ends. */
export async function createPv(t: TestContext, client: KubeClient, name: string, pvc: TestPvc, opts: { node?: string } = {}): Promise<TestPv> {
  const pv = await client.create<TestPv>(at(PERSISTENT_VOLUMES, undefined), {
    apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name },
    spec: {
      capacity: { storage: '1' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: STORAGE_CLASS,
      csi: { driver: DRIVER_NAME, volumeHandle: name, volumeAttributes: pvc.metadata.annotations ?? {} },
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid },
      ...(opts.node === undefined ? {} : {
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'listeners.stackable.tech/hostname', operator: 'In', values: [opts.node] }] }] } },
      }),
    },
  });
  t.after(async () => { await client.delete(at(PERSISTENT_VOLUMES, undefined, name)).catch(() => undefined); });
  return pv;
}

/** The NodePublishVolumeRequest kubelet sends for `pod` (podInfoOnMount adds the Pod's identity). */
export function publishRequest(pv: TestPv, pvc: TestPvc, pod: TestPod, targetPath: string): {
  volume_id: string; target_path: string; volume_capability: typeof mountCapability; volume_context: Record<string, string>;
} {
  return {
    volume_id: pv.metadata.name,
    target_path: targetPath,
    volume_capability: mountCapability,
    volume_context: {
      ...(pvc.metadata.annotations ?? {}),
      'csi.storage.k8s.io/pod.name': pod.metadata.name,
      'csi.storage.k8s.io/pod.namespace': pod.metadata.namespace,
      'csi.storage.k8s.io/pod.uid': pod.metadata.uid,
      'csi.storage.k8s.io/serviceAccount.name': 'default',
      'csi.storage.k8s.io/ephemeral': 'false',
    },
  };
}
