// Kubernetes Events on the objects we act for (events.k8s.io/v1). The same (object, reason,
// message) is not re-sent within a quiet period, so a Listener stuck in backoff does not turn
// into a write storm.
import { randomBytes } from 'node:crypto';
import type { KubeClient, KubeObject } from './client.ts';
import { EVENTS, at } from './resources.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string | undefined;
}

export type EventType = 'Normal' | 'Warning';

export interface EventInfo {
  type: EventType;
  /** UpperCamelCase, e.g. ListenerClassNotFound */
  reason: string;
  /** What we were doing, e.g. Reconcile */
  action: string;
  /** Human-readable: the object and the reason */
  note: string;
}

const QUIET_MS = 5 * 60_000;

export class EventRecorder {
  private readonly last = new Map<string, { fingerprint: string; at: number }>();
  private readonly client: KubeClient;
  private readonly controller: string;
  private readonly instance: string;

  constructor(client: KubeClient, controller: string, instance: string) {
    this.client = client;
    this.controller = controller;
    this.instance = instance;
  }

  static targetOf(obj: KubeObject, apiVersion: string, kind: string): EventTarget {
    return { apiVersion, kind, name: obj.metadata?.name ?? '', namespace: obj.metadata?.namespace ?? 'default', uid: obj.metadata?.uid };
  }

  /** Publishes an event; failures are returned to the caller's log, never thrown. */
  async publish(target: EventTarget, { type, reason, action, note }: EventInfo, now = Date.now()): Promise<Error | undefined> {
    const key = `${target.kind}/${target.namespace}/${target.name}`;
    const fingerprint = `${type}/${reason}/${note}`;
    const prev = this.last.get(key);
    if (prev !== undefined && prev.fingerprint === fingerprint && now - prev.at < QUIET_MS) return undefined;
    this.last.set(key, { fingerprint, at: now });
    const name = `${target.name.slice(0, 200)}.${randomBytes(8).toString('hex')}`;
    try {
      await this.client.create(at(EVENTS, target.namespace), {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace: target.namespace },
        eventTime: new Date(now).toISOString().replace(/Z$/, '000Z'),
        reportingController: this.controller,
        reportingInstance: this.instance,
        action,
        reason,
        type,
        note: note.slice(0, 1024),
        regarding: { apiVersion: target.apiVersion, kind: target.kind, name: target.name, namespace: target.namespace, uid: target.uid },
      });
      return undefined;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  }

  /** Forgets an object (it was deleted, or it is healthy again). */
  forget(target: Pick<EventTarget, 'kind' | 'namespace' | 'name'>): void {
    this.last.delete(`${target.kind}/${target.namespace}/${target.name}`);
  }
}
