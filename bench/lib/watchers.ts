// The benchmark's two watchers. ReadyTracker sees every Listener through one watch and resolves
// a waiter at the moment a Listener's status is complete for its class ("create → status observed
// through a watch"). CloudLoop is the stand-in cloud provider: it writes a load-balancer ingress
// onto each LoadBalancer Service through the `status` subresource, as a cloud controller would.
import type { KubeClient, ResourceRef } from '../../src/k8s/client.ts';
import { Informer, objectKey } from '../../src/k8s/informer.ts';
import { SERVICES, at } from '../../src/k8s/resources.ts';
import { LABEL_APP_MANAGED_BY, MANAGED_BY } from '../../src/constants.ts';
import type { ListenerStatus } from '../../src/crd/index.ts';

interface ListenerView {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { className?: string | null };
  status?: ListenerStatus | null;
}

/** Complete for its type: an address (LoadBalancer: only once the load balancer has one); NodePort also its node ports. */
export function isReady(l: ListenerView, nodePortClass: string): boolean {
  const s = l.status;
  if (s === undefined || s === null || (s.ingressAddresses ?? []).length === 0) return false;
  if (l.spec?.className === nodePortClass) return s.nodePorts !== undefined && s.nodePorts !== null && Object.keys(s.nodePorts).length > 0;
  return true;
}

interface Waiter { resolve: (at: number) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

export class ReadyTracker {
  private readonly informer: Informer<ListenerView>;
  private readonly waiters = new Map<string, Waiter>();
  private readonly nodePortClass: string;

  constructor(client: KubeClient, kind: Pick<ResourceRef, 'group' | 'version' | 'plural'>, nodePortClass: string) {
    this.nodePortClass = nodePortClass;
    this.informer = new Informer<ListenerView>(client, at(kind, undefined), { onError: (e) => { process.stderr.write(`[bench] Listener watch: ${String(e)}\n`); } });
    this.informer.onChange((type, l) => {
      if (type === 'delete') return;
      const key = objectKey(l);
      const w = this.waiters.get(key);
      if (w !== undefined && isReady(l, this.nodePortClass)) {
        const now = performance.now();
        this.waiters.delete(key);
        clearTimeout(w.timer);
        w.resolve(now);
      }
    });
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    for (const w of this.waiters.values()) clearTimeout(w.timer);
    return this.informer.stop();
  }

  /** Register before creating: resolves with performance.now() when the watch shows `ns/name` ready. */
  expect(key: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const existing = this.informer.get(key);
      if (existing !== undefined && isReady(existing, this.nodePortClass)) {
        resolve(performance.now());
        return;
      }
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`${key} not ready within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(key, { resolve, reject, timer });
    });
  }
}

interface ServiceView {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { type?: string };
  status?: { loadBalancer?: { ingress?: unknown[] } };
}

/** The load-balancer IP of the c-th Service: 198.18.0.0/15 is reserved for benchmarks (RFC 2544). */
export function lbIp(c: number): string {
  return `198.${18 + ((c >> 16) & 1)}.${(c >> 8) & 255}.${c & 255}`;
}

export function lbStatusPatch(ip: string): Record<string, unknown> {
  return { status: { loadBalancer: { ingress: [{ ip }] } } };
}

export class CloudLoop {
  private readonly informer: Informer<ServiceView>;
  private readonly client: KubeClient;
  private readonly done = new Set<string>();
  private next = 1;
  patched = 0;
  failed = 0;

  constructor(client: KubeClient, namespace: string) {
    this.client = client;
    this.informer = new Informer<ServiceView>(client, at(SERVICES, namespace), {
      labelSelector: `${LABEL_APP_MANAGED_BY}=${MANAGED_BY}`,
      onError: (e) => { process.stderr.write(`[bench] cloud watch: ${String(e)}\n`); },
    });
    this.informer.onChange((type, svc) => {
      if (type === 'delete' || svc.spec?.type !== 'LoadBalancer' || (svc.status?.loadBalancer?.ingress ?? []).length > 0) return;
      const key = objectKey(svc);
      if (this.done.has(key)) return;
      this.done.add(key);
      void this.provision(svc.metadata?.namespace ?? '', svc.metadata?.name ?? '', key);
    });
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  private async provision(ns: string, name: string, key: string): Promise<void> {
    const ip = lbIp(this.next++);
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        await this.client.mergePatch(at(SERVICES, ns, name, 'status'), lbStatusPatch(ip));
        this.patched++;
        return;
      } catch (e) {
        if (attempt === 5) {
          this.failed++;
          this.done.delete(key);
          process.stderr.write(`[bench] cloud: giving up on ${key}: ${String(e)}\n`);
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }
}
