// The CSI services' decisions, as pure functions of API objects (no I/O, no clock): the Listener
// made for a listener-class volume, the topology CreateVolume returns, the addresses a Pod gets,
// the PodListeners entry, the labels written on the PV and Pod, and which Pod volume a claim is.

import { GROUP_VERSION, POD_LISTENERS_NAME_PREFIX } from '../constants.ts';
import { nodeAddresses, resolvePreferredAddressType } from '../core/addresses.ts';
import { mountLabel, pvListenerLabels } from '../core/names.ts';
import type {
  ListenerClassSpec,
  ListenerIngress,
  ListenerPort,
  ListenerStatus,
  PodListener,
  PodListenerScope,
  PreferredAddressType,
} from '../crd/index.ts';
import type { NodeHasNoAddress, NoAddresses, ObjectRef } from './errors.ts';
import type { Node, OwnerReference, PersistentVolume, PersistentVolumeClaim, Pod } from './kube-types.ts';
import { err, ok, type Result } from './result.ts';
import type { ListenerSelector } from './volume-context.ts';

// ---- which Listener ------------------------------------------------------------------------------

/** The Listener a volume uses: the one made for its claim (named after the PVC), or the named one. */
export function listenerNameFor(selector: ListenerSelector, pvcName: string): string {
  return selector.kind === 'class' ? pvcName : selector.listenerName;
}

export interface AutoListener {
  readonly apiVersion: string;
  readonly kind: 'Listener';
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly ownerReferences: readonly OwnerReference[];
  };
  readonly spec: {
    readonly className: string;
    readonly ports: readonly ListenerPort[];
    readonly publishNotReadyAddresses: true;
  };
}

/**
 * The Listener for a `listener-class` volume: named after the PVC, in the Pod's namespace, owned by
 * the PV (so it lives as long as the volume), with the PVC's labels, the class, and one port per
 * container port of the Pod.
 */
export function buildAutoListener(args: {
  readonly pvc: PersistentVolumeClaim;
  readonly pv: PersistentVolume;
  readonly pod: Pod;
  readonly className: string;
}): AutoListener {
  const { pvc, pv, pod, className } = args;
  return {
    apiVersion: GROUP_VERSION,
    kind: 'Listener',
    metadata: {
      name: required(pvc.metadata?.name, 'PersistentVolumeClaim metadata.name'),
      namespace: required(pod.metadata?.namespace, 'Pod metadata.namespace'),
      labels: { ...(pvc.metadata?.labels ?? {}) },
      ownerReferences: [ownerReference('v1', 'PersistentVolume', pv)],
    },
    spec: { className, ports: buildListenerPorts(pod), publishNotReadyAddresses: true },
  };
}

/**
 * One Listener port per container port: its name, or `port-<containerPort>` when unnamed, and its
 * protocol. Duplicates are dropped, first one wins: a second port with an already used name, or
 * with an already used (number, protocol), would make the Service invalid.
 */
export function buildListenerPorts(pod: Pod): ListenerPort[] {
  const ports: ListenerPort[] = [];
  const names = new Set<string>();
  const numbers = new Set<string>();
  for (const container of pod.spec?.containers ?? []) {
    for (const port of container.ports ?? []) {
      const name = port.name !== undefined && port.name !== '' ? port.name : `port-${port.containerPort}`;
      const key = `${port.protocol ?? 'TCP'}/${port.containerPort}`;
      if (names.has(name) || numbers.has(key)) continue;
      names.add(name);
      numbers.add(key);
      ports.push(port.protocol === undefined ? { name, port: port.containerPort } : { name, port: port.containerPort, protocol: port.protocol });
    }
  }
  return ports;
}

/** Whether the Listener is the one made for this volume (an owner reference to this very PV). */
export function isListenerOwnedByVolume(listener: { readonly metadata?: { readonly ownerReferences?: readonly OwnerReference[] | undefined } | undefined }, pv: PersistentVolume): boolean {
  const uid = pv.metadata?.uid;
  if (uid === undefined || uid === '') return false;
  return (listener.metadata?.ownerReferences ?? []).some(
    (ref) => ref.apiVersion === 'v1' && ref.kind === 'PersistentVolume' && ref.uid === uid,
  );
}

// ---- CreateVolume ----------------------------------------------------------------------------

export interface TopologySegments {
  readonly segments: Readonly<Record<string, string>>;
}

/**
 * `accessible_topology` of a new volume: only a pinned NodePort class pins the volume, to the
 * first preferred topology (the Node the scheduler picked). Everything else is reachable from
 * anywhere: no topology.
 */
export function createVolumeTopology(args: {
  readonly listenerClass: { readonly spec: Pick<ListenerClassSpec, 'serviceType' | 'pinnedNodePorts'> };
  readonly preferredTopology: readonly Readonly<Record<string, string>>[];
}): TopologySegments[] {
  const { spec } = args.listenerClass;
  const first = args.preferredTopology[0];
  if (spec.serviceType !== 'NodePort' || spec.pinnedNodePorts !== true || first === undefined) return [];
  return [{ segments: { ...first } }];
}

// ---- addresses -----------------------------------------------------------------------------------

export interface PodAddresses {
  readonly scope: PodListenerScope;
  readonly addresses: readonly ListenerIngress[];
}

/**
 * The addresses for one Pod. A Listener whose status has `nodePorts` is reached through the Pod's
 * own Node: that Node's address (the one the controller reports for it, src/core/addresses.ts,
 * so on a dual-stack Node also its IP of the other family, after upstream's) with the node ports,
 * scope Node. Otherwise the Listener's `ingressAddresses`, scope Cluster. No address yet is an
 * error the caller retries on.
 */
export function podAddresses(args: {
  readonly listener: ObjectRef;
  readonly listenerStatus: ListenerStatus | null | undefined;
  readonly node: Node;
  readonly preferredAddressType: PreferredAddressType | null | undefined;
}): Result<PodAddresses, NoAddresses | NodeHasNoAddress> {
  const { listener, listenerStatus, node } = args;
  const nodePorts = listenerStatus?.nodePorts;
  if (nodePorts !== undefined && nodePorts !== null) {
    const preferred = resolvePreferredAddressType({ serviceType: 'NodePort', preferredAddressType: args.preferredAddressType ?? undefined });
    const picked = nodeAddresses(node, preferred);
    if (picked.length === 0) {
      return err({ kind: 'NodeHasNoAddress', node: { kind: 'Node', name: node.metadata?.name ?? '' }, listener });
    }
    return ok({ scope: 'Node', addresses: picked.map((a) => ({ ...a, ports: { ...nodePorts } })) });
  }
  const ingress = listenerStatus?.ingressAddresses ?? [];
  if (ingress.length === 0) return err({ kind: 'NoAddresses', listener });
  return ok({ scope: 'Cluster', addresses: ingress.map((i) => ({ address: i.address, addressType: i.addressType, ports: { ...i.ports } })) });
}

// ---- objects and patches written by NodePublishVolume --------------------------------------------

/** A PodListeners object carrying one volume's entry. */
export interface PodListenersPatch {
  readonly apiVersion: string;
  readonly kind: 'PodListeners';
  readonly metadata: { readonly name: string; readonly namespace: string; readonly ownerReferences: readonly OwnerReference[] };
  readonly spec: { readonly listeners: Readonly<Record<string, PodListener>> };
}

/**
 * The PodListeners object `pod-<pod uid>`, owned by the Pod, carrying this volume's entry only. Used
 * as a JSON merge patch (and as the body when it does not exist yet), so entries of the Pod's other
 * listener volumes are kept.
 */
export function buildPodListenersPatch(args: {
  readonly pod: Pod;
  readonly volumeName: string;
  readonly scope: PodListenerScope;
  readonly ingressAddresses: readonly ListenerIngress[];
}): PodListenersPatch {
  const { pod, volumeName, scope, ingressAddresses } = args;
  const uid = required(pod.metadata?.uid, 'Pod metadata.uid');
  return {
    apiVersion: GROUP_VERSION,
    kind: 'PodListeners',
    metadata: {
      name: `${POD_LISTENERS_NAME_PREFIX}${uid}`,
      namespace: required(pod.metadata?.namespace, 'Pod metadata.namespace'),
      ownerReferences: [ownerReference('v1', 'Pod', pod)],
    },
    spec: { listeners: { [volumeName]: { scope, ingressAddresses: ingressAddresses.map((a) => ({ ...a, ports: { ...a.ports } })) } } },
  };
}

/** A JSON merge patch that sets some labels (and leaves every other label alone). */
export interface LabelPatch {
  readonly metadata: { readonly labels: Readonly<Record<string, string>> };
}

/**
 * JSON merge patch adding the mount label `listener.stackable.tech/mnt.<uid without dashes>` to the
 * Pod (other listener volumes add their own). The value is `labelValueFor(name)`, the same function
 * the Service selector uses, so a Listener name over 63 characters still gives a valid label.
 */
export function buildPodLabelPatch(listener: { readonly name: string; readonly uid: string }): LabelPatch {
  const { key, value } = mountLabel(listener.name, listener.uid);
  return { metadata: { labels: { [key]: value } } };
}

/**
 * JSON merge patch tying the PV to its Listener, so the controller finds pinned Nodes without the
 * Pod; values from `pvListenerLabels`, the same function the controller's PV index uses.
 */
export function buildPvLabelPatch(listener: { readonly namespace: string; readonly name: string }): LabelPatch {
  return { metadata: { labels: pvListenerLabels(listener.namespace, listener.name) } };
}

/** Whether every label of the patch is already on the object (so the patch can be skipped). */
export function hasLabels(object: { readonly metadata?: { readonly labels?: Readonly<Record<string, string>> | undefined } | undefined }, patch: LabelPatch): boolean {
  const labels = object.metadata?.labels ?? {};
  return Object.entries(patch.metadata.labels).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);
}

// ---- which Pod volume ---------------------------------------------------------------------------

/**
 * The name of the Pod volume backed by the claim: a `persistentVolumeClaim` volume naming it (this
 * includes StatefulSet template claims, `<template>-<sts>-<ordinal>`), else a generic ephemeral
 * volume, whose claim is named `<pod>-<volume>`.
 */
export function volumeNameForPvc(args: { readonly pod: Pod; readonly pvcName: string }): string | undefined {
  const volumes = args.pod.spec?.volumes ?? [];
  const podName = args.pod.metadata?.name;
  const byClaim = volumes.find((v) => v.persistentVolumeClaim?.claimName === args.pvcName);
  if (byClaim) return byClaim.name;
  if (podName === undefined) return undefined;
  return volumes.find((v) => v.ephemeral !== undefined && `${podName}-${v.name}` === args.pvcName)?.name;
}

// ---- helpers ---------------------------------------------------------------------------------------

function ownerReference(apiVersion: string, kind: string, owner: { readonly metadata?: { readonly name?: string | undefined; readonly uid?: string | undefined } | undefined }): OwnerReference {
  return {
    apiVersion,
    kind,
    name: required(owner.metadata?.name, `${kind} metadata.name`),
    uid: required(owner.metadata?.uid, `${kind} metadata.uid`),
    controller: true,
  };
}

/** Objects read from the API server always carry these; a missing one is a programming error. */
function required(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new TypeError(`${what} is missing`);
  return value;
}
