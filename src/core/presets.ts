// The ListenerClasses the controller creates at start (if missing; an admin's edits are never
// overwritten), chosen by `--listener-class-preset` / LISTENER_CLASS_PRESET.
import { GROUP_VERSION } from '../constants.ts';
import { LISTENER_CLASS_KIND, type ListenerClass, type ListenerClassSpec } from '../crd/listener-class.ts';

export const LISTENER_CLASS_PRESETS = ['none', 'ephemeral-nodes', 'stable-nodes'] as const;
export type ListenerClassPreset = (typeof LISTENER_CLASS_PRESETS)[number];
export const DEFAULT_LISTENER_CLASS_PRESET: ListenerClassPreset = 'ephemeral-nodes';

export function isListenerClassPreset(value: string): value is ListenerClassPreset {
  return (LISTENER_CLASS_PRESETS as readonly string[]).includes(value);
}

function listenerClass(name: string, spec: ListenerClassSpec): ListenerClass {
  return { apiVersion: GROUP_VERSION, kind: LISTENER_CLASS_KIND, metadata: { name }, spec };
}

/**
 * The classes of a preset: `cluster-internal` (ClusterIP) and `external-unstable` (NodePort, not
 * pinned) in both; `external-stable` is a LoadBalancer with `ephemeral-nodes` (Nodes come and go,
 * so only a load balancer gives a stable address) and a pinned NodePort with `stable-nodes`
 * (long-lived Nodes, possibly no load balancers). `none` creates nothing.
 */
export function presetClasses(preset: ListenerClassPreset): ListenerClass[] {
  if (preset === 'none') return [];
  return [
    listenerClass('cluster-internal', { serviceType: 'ClusterIP' }),
    listenerClass('external-unstable', { serviceType: 'NodePort', pinnedNodePorts: false }),
    preset === 'stable-nodes'
      ? listenerClass('external-stable', { serviceType: 'NodePort', pinnedNodePorts: true })
      : listenerClass('external-stable', { serviceType: 'LoadBalancer' }),
  ];
}
