// Every way a CSI request can fail, as data, and the one mapping to gRPC status codes.
//
// Codes follow upstream listener-operator and the CSI spec:
// - the request itself is wrong (missing or malformed fields, unusable volume context,
//   unsupported capability): INVALID_ARGUMENT;
// - the Kubernetes API failed, or the world is "not yet" ready (no addresses yet, Pod not yet
//   scheduled, Node without addresses): UNAVAILABLE, so kubelet and the provisioner retry;
// - the configuration can never be served as it is (unknown ListenerClass, Listener without a
//   class, an object that does not decode as its kind, a foreign Listener in the way, a volume the
//   Pod does not mount, an address or port name that cannot be written safely): FAILED_PRECONDITION;
// - ValidateVolumeCapabilities on a volume that does not exist: NOT_FOUND;
// - a call for a target path that another call is still working on: ABORTED (the CSI spec's
//   "operation pending for volume"; the CO retries);
// - the local filesystem failed: INTERNAL.
// The message names the object(s) and the reason, followed by the cause chain.

import { status } from '@grpc/grpc-js';

/** A Kubernetes object named in an error (namespace omitted for cluster-scoped kinds). */
export interface ObjectRef {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string | undefined;
}

// ---- request/argument errors (INVALID_ARGUMENT) -------------------------------------------------

export interface MissingField { readonly kind: 'MissingField'; readonly field: string; readonly hint?: string | undefined }
export interface InvalidField { readonly kind: 'InvalidField'; readonly field: string; readonly value: unknown; readonly reason: string }
export interface UnsupportedCapability { readonly kind: 'UnsupportedCapability'; readonly field: string; readonly reason: string }
/** The listener-class / listener-name annotations (volume context) are unusable. */
export interface InvalidListenerSelector { readonly kind: 'InvalidListenerSelector'; readonly source: ObjectRef; readonly reason: string }
/** The volume context lacks the Pod identity kubelet adds (podInfoOnMount). */
export interface InvalidPodInfo { readonly kind: 'InvalidPodInfo'; readonly source: ObjectRef; readonly reason: string }
export interface InvalidTargetPath { readonly kind: 'InvalidTargetPath'; readonly targetPath: unknown; readonly reason: string }

export type ArgumentError = MissingField | InvalidField | UnsupportedCapability | InvalidListenerSelector | InvalidPodInfo | InvalidTargetPath;

// ---- Kubernetes API and cluster state -----------------------------------------------------------

/** Reading an object failed (including "not found" where waiting can fix it). UNAVAILABLE. */
export interface GetObject { readonly kind: 'GetObject'; readonly ref: ObjectRef; readonly cause: unknown }
/** Creating or patching an object failed. UNAVAILABLE. */
export interface WriteObject { readonly kind: 'WriteObject'; readonly ref: ObjectRef; readonly action: 'create' | 'patch' | 'apply'; readonly cause: unknown }
/** ValidateVolumeCapabilities on an unknown volume id. NOT_FOUND. */
export interface VolumeNotFound { readonly kind: 'VolumeNotFound'; readonly volumeId: string; readonly cause?: unknown }
/** The ListenerClass does not exist. FAILED_PRECONDITION. */
export interface ListenerClassNotFound { readonly kind: 'ListenerClassNotFound'; readonly listenerClass: ObjectRef; readonly via?: ObjectRef | undefined; readonly cause?: unknown }
/** A Listener named by a volume has no `spec.className`. FAILED_PRECONDITION. */
export interface ListenerHasNoClass { readonly kind: 'ListenerHasNoClass'; readonly listener: ObjectRef }
/** A same-named Listener exists that this volume does not own. FAILED_PRECONDITION. */
export interface ForeignListener { readonly kind: 'ForeignListener'; readonly listener: ObjectRef; readonly volume: ObjectRef }
/** An object read from the API server does not decode as its kind (e.g. admitted under a looser CRD). FAILED_PRECONDITION. */
export interface InvalidObject { readonly kind: 'InvalidObject'; readonly ref: ObjectRef; readonly reason: string }
/** The PersistentVolume is not bound to a claim. FAILED_PRECONDITION. */
export interface VolumeHasNoClaim { readonly kind: 'VolumeHasNoClaim'; readonly volume: ObjectRef }
/** No volume of the Pod uses the claim. FAILED_PRECONDITION. */
export interface VolumeNotInPod { readonly kind: 'VolumeNotInPod'; readonly pod: ObjectRef; readonly claim: ObjectRef }
/**
 * The Pod read from the API server is not the one kubelet publishes for (the volume context's UID
 * differs: the Pod was deleted and a new one with the same name created). UNAVAILABLE: kubelet
 * retries, and a publish for the current Pod carries its UID.
 */
export interface PodUidMismatch { readonly kind: 'PodUidMismatch'; readonly pod: ObjectRef; readonly expected: string; readonly actual: string | undefined }
/** The Pod has no Node yet. UNAVAILABLE. */
export interface PodNotScheduled { readonly kind: 'PodNotScheduled'; readonly pod: ObjectRef }
/** The Listener has no address yet (its controller has not written the status). UNAVAILABLE. */
export interface NoAddresses { readonly kind: 'NoAddresses'; readonly listener: ObjectRef }
/** The Pod's Node reports no address of a usable kind (yet). UNAVAILABLE. */
export interface NodeHasNoAddress { readonly kind: 'NodeHasNoAddress'; readonly node: ObjectRef; readonly listener: ObjectRef }

/** Another NodePublishVolume or NodeUnpublishVolume for the same target path is in flight. ABORTED. */
export interface OperationPending { readonly kind: 'OperationPending'; readonly targetPath: string }

// ---- the volume's file tree (pod-dir.ts) ---------------------------------------------------------

/** An address, port name or port number that cannot be written safely. FAILED_PRECONDITION. */
export interface UnsafePodDirEntry { readonly kind: 'UnsafePodDirEntry'; readonly what: 'address' | 'port name' | 'port number'; readonly value: unknown; readonly reason: string }
/** writePodDir was given no address at all. UNAVAILABLE (same state as NoAddresses). */
export interface NoPodDirAddresses { readonly kind: 'NoPodDirAddresses'; readonly targetPath: string }
/** A filesystem operation failed. INTERNAL. */
export interface WriteFiles { readonly kind: 'WriteFiles'; readonly targetPath: string; readonly cause: unknown }
export interface RemoveFiles { readonly kind: 'RemoveFiles'; readonly targetPath: string; readonly cause: unknown }

export type PodDirError = InvalidTargetPath | UnsafePodDirEntry | NoPodDirAddresses | WriteFiles;
export type RemovePodDirError = InvalidTargetPath | RemoveFiles;

// ---- per RPC ---------------------------------------------------------------------------------------

export type CreateVolumeError = ArgumentError | GetObject | InvalidObject | ListenerClassNotFound | ListenerHasNoClass;
export type DeleteVolumeError = ArgumentError;
export type ValidateVolumeCapabilitiesError = ArgumentError | GetObject | VolumeNotFound;
export type NodePublishVolumeError =
  | ArgumentError
  | GetObject
  | WriteObject
  | ListenerClassNotFound
  | ListenerHasNoClass
  | InvalidObject
  | ForeignListener
  | VolumeHasNoClaim
  | VolumeNotInPod
  | PodUidMismatch
  | OperationPending
  | PodNotScheduled
  | NoAddresses
  | NodeHasNoAddress
  | PodDirError;
export type NodeUnpublishVolumeError = ArgumentError | OperationPending | RemovePodDirError;

export type CsiError =
  | CreateVolumeError
  | DeleteVolumeError
  | ValidateVolumeCapabilitiesError
  | NodePublishVolumeError
  | NodeUnpublishVolumeError;

/** What a grpc-js handler passes to its callback. */
export interface GrpcStatus {
  readonly code: status;
  readonly details: string;
}

export function toGrpcStatus(error: CsiError): GrpcStatus {
  return { code: grpcCode(error), details: describeError(error) };
}

// One exhaustive switch (the `never` default makes a new kind without a code a type error).
// eslint-disable-next-line complexity
export function grpcCode(error: CsiError): status {
  switch (error.kind) {
    case 'MissingField':
    case 'InvalidField':
    case 'UnsupportedCapability':
    case 'InvalidListenerSelector':
    case 'InvalidPodInfo':
    case 'InvalidTargetPath':
      return status.INVALID_ARGUMENT;
    case 'GetObject':
    case 'WriteObject':
    case 'PodNotScheduled':
    case 'PodUidMismatch':
    case 'NoAddresses':
    case 'NodeHasNoAddress':
    case 'NoPodDirAddresses':
      return status.UNAVAILABLE;
    case 'VolumeNotFound':
      return status.NOT_FOUND;
    case 'OperationPending':
      return status.ABORTED;
    case 'ListenerClassNotFound':
    case 'ListenerHasNoClass':
    case 'InvalidObject':
    case 'ForeignListener':
    case 'VolumeHasNoClaim':
    case 'VolumeNotInPod':
    case 'UnsafePodDirEntry':
      return status.FAILED_PRECONDITION;
    case 'WriteFiles':
      // A full disk is the node's state, not our bug: RESOURCE_EXHAUSTED, which the kubelet retries.
      return isOutOfSpace(error.cause) ? status.RESOURCE_EXHAUSTED : status.INTERNAL;
    case 'RemoveFiles':
      return status.INTERNAL;
    default:
      return unreachable(error);
  }
}

/** ENOSPC (no space left) or EDQUOT (quota exceeded), anywhere in the cause chain. */
function isOutOfSpace(cause: unknown): boolean {
  for (let c: unknown = cause; c instanceof Error; c = c.cause) {
    const code = (c as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  }
  return false;
}

/** The human-readable message: what failed, on which object, why, then the cause chain. */
export function describeError(error: CsiError): string {
  const cause = 'cause' in error ? error.cause : undefined;
  const chain = formatCauseChain(cause);
  const text = describe(error);
  return chain === '' ? text : `${text}: ${chain}`;
}

// The message table; kept as one exhaustive switch like grpcCode so a new kind cannot be forgotten.
// eslint-disable-next-line complexity
function describe(error: CsiError): string {
  switch (error.kind) {
    case 'MissingField':
      return `${error.field} is missing from the request${error.hint === undefined ? '' : ` (${error.hint})`}`;
    case 'InvalidField':
      return `${error.field} ${quote(error.value)} is invalid: ${error.reason}`;
    case 'UnsupportedCapability':
      return `${error.field} is not supported: ${error.reason}`;
    case 'InvalidListenerSelector':
      return `the volume of ${formatRef(error.source)} does not choose a listener: ${error.reason}`;
    case 'InvalidPodInfo':
      return `the volume context of ${formatRef(error.source)} does not identify the Pod: ${error.reason}`;
    case 'InvalidTargetPath':
      return `target path ${quote(error.targetPath)} is invalid: ${error.reason}`;
    case 'GetObject':
      return `failed to get ${formatRef(error.ref)}`;
    case 'WriteObject':
      return `failed to ${error.action} ${formatRef(error.ref)}`;
    case 'VolumeNotFound':
      return `volume ${quote(error.volumeId)} does not exist`;
    case 'ListenerClassNotFound':
      return `${formatRef(error.listenerClass)}${error.via ? ` (used by ${formatRef(error.via)})` : ''} does not exist`;
    case 'ListenerHasNoClass':
      return `${formatRef(error.listener)} has no spec.className`;
    case 'InvalidObject':
      return `${formatRef(error.ref)} cannot be used: ${error.reason}`;
    case 'ForeignListener':
      return `${formatRef(error.listener)} already exists and is not owned by ${formatRef(error.volume)}; refusing to take it over`;
    case 'VolumeHasNoClaim':
      return `${formatRef(error.volume)} is not bound to a PersistentVolumeClaim (no spec.claimRef)`;
    case 'VolumeNotInPod':
      return `${formatRef(error.pod)} has no volume using ${formatRef(error.claim)}`;
    case 'PodNotScheduled':
      return `${formatRef(error.pod)} is not scheduled to a Node yet`;
    case 'PodUidMismatch':
      return `${formatRef(error.pod)} has UID ${quote(error.actual)}, but the volume is published for UID ${quote(error.expected)} (the Pod was recreated with the same name); nothing was changed`;
    case 'OperationPending':
      return `an operation on target path ${quote(error.targetPath)} is already in progress; retry when it has finished`;
    case 'NoAddresses':
      return `${formatRef(error.listener)} has no ingress addresses yet`;
    case 'NodeHasNoAddress':
      return `${formatRef(error.node)} has no address to publish for ${formatRef(error.listener)}`;
    case 'UnsafePodDirEntry':
      return `refusing to write ${error.what} ${quote(error.value)} into the volume: ${error.reason}`;
    case 'NoPodDirAddresses':
      return `no address to write into ${quote(error.targetPath)}`;
    case 'WriteFiles':
      return `failed to write the listener files into ${quote(error.targetPath)}`;
    case 'RemoveFiles':
      return `failed to remove ${quote(error.targetPath)}`;
    default:
      return unreachable(error);
  }
}

export function formatRef(ref: ObjectRef): string {
  const name = ref.namespace === undefined ? ref.name : `${ref.namespace}/${ref.name}`;
  return `${ref.kind} ${quote(name)}`;
}

const MAX_QUOTED = 120;

/** A value for a message: JSON-quoted (control characters and NUL escaped) and bounded in length. */
export function quote(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value !== 'string') return value === undefined ? '(unset)' : `(${value === null ? 'null' : typeof value})`;
  const shown = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value;
  const suffix = value.length > MAX_QUOTED ? ` (${Buffer.byteLength(value)} bytes)` : '';
  return JSON.stringify(shown) + suffix;
}

/** `message: cause message: cause's cause ...` following Error.cause, bounded and cycle-safe. */
export function formatCauseChain(cause: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let current = cause;
  while (current !== undefined && current !== null && !seen.has(current) && parts.length < 10) {
    seen.add(current);
    if (current instanceof Error) {
      parts.push(current.message === '' ? current.name : current.message);
      current = current.cause;
    } else {
      parts.push(typeof current === 'string' ? current : safeString(current));
      current = undefined;
    }
  }
  return parts.join(': ');
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function unreachable(value: never): never {
  throw new Error(`unhandled CSI error ${JSON.stringify(value)}`);
}
