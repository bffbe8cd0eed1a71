// The CSI services' decisions, as pure functions of API objects (no I/O, no clock): the Listener
// made for a listener-class volume, the topology CreateVolume returns, the addresses a Pod gets,
// the PodListeners entry, the labels written on the PV and Pod, and which Pod volume a claim is.

import {
  GROUP_VERSION,
  LABEL_PV_LISTENER_NAME,
  LABEL_PV_LISTENER_NAMESPACE,
  POD_LISTENERS_NAME_PREFIX,
  POD_MOUNT_LABEL_PREFIX,
} from '../constants.ts';
import type {
  AddressType,
  ListenerClassSpec,
  ListenerIngress,
  ListenerPort,
  ListenerStatus,
  PodListener,
  PodListenerScope,
  PreferredAddressType,
  ServiceType,
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

export interface PickedAddress {
  readonly address: string;
  readonly addressType: AddressType;
}

/** The kind of address a class asks for, once HostnameConservative is resolved for a service type. */
export function effectiveAddressType(preferred: PreferredAddressType | null | undefined, serviceType: ServiceType): AddressType {
  const p = preferred ?? 'HostnameConservative';
  if (p === 'HostnameConservative') return serviceType === 'NodePort' ? 'IP' : 'Hostname';
  return p;
}

/**
 * A Node's address for the given preference: its IP is the first ExternalIP, else the first
 * InternalIP; its hostname the first Hostname address. The preferred kind, else the other one.
 * (A twin of the controller's node-address choice in src/core/; to be unified.)
 */
export function nodeAddress(node: Node, preferred: PreferredAddressType | null | undefined, serviceType: ServiceType = 'NodePort'): PickedAddress | undefined {
  const addresses = node.status?.addresses ?? [];
  const first = (type: string): string | undefined => addresses.find((a) => a.type === type && a.address !== '')?.address;
  const ip = first('ExternalIP') ?? first('InternalIP');
  const hostname = first('Hostname');
  const byIp = ip === undefined ? undefined : { address: ip, addressType: 'IP' as const };
  const byHostname = hostname === undefined ? undefined : { address: hostname, addressType: 'Hostname' as const };
  return effectiveAddressType(preferred, serviceType) === 'IP' ? (byIp ?? byHostname) : (byHostname ?? byIp);
}

export interface PodAddresses {
  readonly scope: PodListenerScope;
  readonly addresses: readonly ListenerIngress[];
}

/**
 * The addresses for one Pod. A Listener whose status has `nodePorts` is reached through the Pod's
 * own Node: that Node's address with the node ports, scope Node. Otherwise the Listener's
 * `ingressAddresses`, scope Cluster. No address yet is an error the caller retries on.
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
    const picked = nodeAddress(node, args.preferredAddressType, 'NodePort');
    if (picked === undefined) {
      return err({ kind: 'NodeHasNoAddress', node: { kind: 'Node', name: node.metadata?.name ?? '' }, listener });
    }
    return ok({ scope: 'Node', addresses: [{ ...picked, ports: { ...nodePorts } }] });
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

/** The Pod label the Listener's Service selects on: `listener.stackable.tech/mnt.<uid without dashes>: <name>`. */
export function podMountLabel(listener: { readonly name: string; readonly uid: string }): { readonly key: string; readonly value: string } {
  return { key: `${POD_MOUNT_LABEL_PREFIX}${listener.uid.replaceAll('-', '')}`, value: listener.name };
}

/** JSON merge patch adding the mount label to the Pod (other listener volumes add their own). */
export function buildPodLabelPatch(listener: { readonly name: string; readonly uid: string }): { readonly metadata: { readonly labels: Readonly<Record<string, string>> } } {
  const { key, value } = podMountLabel(listener);
  return { metadata: { labels: { [key]: value } } };
}

/** JSON merge patch tying the PV to its Listener, so the controller finds pinned Nodes without the Pod. */
export function buildPvLabelPatch(listener: { readonly namespace: string; readonly name: string }): { readonly metadata: { readonly labels: Readonly<Record<string, string>> } } {
  return { metadata: { labels: { [LABEL_PV_LISTENER_NAMESPACE]: listener.namespace, [LABEL_PV_LISTENER_NAME]: listener.name } } };
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
