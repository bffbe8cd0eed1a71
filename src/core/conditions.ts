// The Listener's `Ready` condition (beyond upstream, which has none). lastTransitionTime changes
// only when the status flips, so an unchanged Listener keeps an identical status and costs no write.
// It is the one condition the operator owns: status.conditions is a map list keyed by type, so the
// operator applies only its own entries and the API server keeps those of other field managers.
import type { ListenerCondition, ListenerStatus } from '../crd/listener.ts';

export const READY = 'Ready';

export interface ReadyInput {
  previous: ListenerStatus | null | undefined;
  ready: boolean;
  reason: string;
  message: string;
  generation: number | undefined;
  /** RFC 3339, seconds precision (the caller's clock; this module has none). */
  now: string;
}

/** The conditions the operator applies: `Ready` as given (others' conditions are not ours to write). */
export function ownConditions(input: ReadyInput): ListenerCondition[] {
  const previous = input.previous?.conditions ?? [];
  const old = previous.find((c) => c.type === READY);
  const status = input.ready ? 'True' : 'False';
  const ready: ListenerCondition = {
    type: READY,
    status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime: old !== undefined && old.status === status ? old.lastTransitionTime : input.now,
    ...(input.generation !== undefined ? { observedGeneration: input.generation } : {}),
  };
  return [ready];
}

/** Why a Listener with no address yet has none, per service type. */
export function noAddressReason(serviceType: string): { reason: string; message: string } {
  switch (serviceType) {
    case 'LoadBalancer':
      return { reason: 'LoadBalancerPending', message: 'The Service has no load-balancer ingress yet.' };
    case 'NodePort':
      return { reason: 'NoBackingNodes', message: 'No Node backs the Listener yet: no volume is pinned to a Node and no endpoint is ready.' };
    default:
      return { reason: 'NoAddresses', message: 'The Service has no address yet.' };
  }
}

/** RFC 3339 with seconds precision, as Kubernetes writes condition times. */
export function conditionTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}
