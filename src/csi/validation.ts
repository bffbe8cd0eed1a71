// Request validation, done first in every handler, before any API call or file write (the
// csi-driver-host-path way). Each function takes the request as grpc-js decodes it (typed by the
// generated code, but checked as untrusted data: it never throws, whatever the shape) and returns
// either the fields the handler needs, already parsed, or an INVALID_ARGUMENT error.
//
// Capabilities: a listener volume is a directory of small files, so only the `mount` access type
// can be served. `block` (or no access type) in CreateVolume or NodePublishVolume is
// INVALID_ARGUMENT, which the CSI spec prescribes for an "invalid or unsupported field"; in
// ValidateVolumeCapabilities it is not an error but an unconfirmed answer (the spec's way to say
// "not supported"). Every access mode is accepted: the files are written per Pod on its own Node,
// so single- and multi-node modes are all honoured; UNKNOWN (unset) is refused, the mode being
// REQUIRED. Filesystem type, mount flags and mount group are ignored (nothing is mounted), as is
// the capacity range (the volume reports capacity 0, "unknown", which the spec allows).

import { PARAM_PVC_NAME, PARAM_PVC_NAMESPACE } from '../constants.ts';
import {
  quote,
  type InvalidField,
  type InvalidListenerSelector,
  type InvalidPodInfo,
  type InvalidTargetPath,
  type MissingField,
  type ObjectRef,
  type UnsupportedCapability,
} from './errors.ts';
import type { CreateVolumeRequest } from './proto/generated/csi/v1/CreateVolumeRequest.ts';
import type { DeleteVolumeRequest } from './proto/generated/csi/v1/DeleteVolumeRequest.ts';
import type { NodePublishVolumeRequest } from './proto/generated/csi/v1/NodePublishVolumeRequest.ts';
import type { NodeUnpublishVolumeRequest } from './proto/generated/csi/v1/NodeUnpublishVolumeRequest.ts';
import type { ValidateVolumeCapabilitiesRequest } from './proto/generated/csi/v1/ValidateVolumeCapabilitiesRequest.ts';
import { err, ok, type Result } from './result.ts';
import { isDnsLabel, isDnsSubdomain, parseListenerSelector, parsePodInfo, type ListenerSelector, type PodInfo } from './volume-context.ts';
import { isRecord } from '../util/is-record.ts';

/** A flat string map (parameters, volume context, topology segments). */
export type StringMap = Readonly<Record<string, string>>;

export interface CreateVolumeArgs {
  /** The CO's name for the volume; returned as `volume_id`. */
  readonly name: string;
  /** The claim named by the external-provisioner's --extra-create-metadata parameters. */
  readonly pvc: { readonly namespace: string; readonly name: string };
  readonly parameters: StringMap;
  /** `accessibility_requirements.preferred`, in order (the first is the Node the scheduler picked). */
  readonly preferredTopology: readonly StringMap[];
}

export interface DeleteVolumeArgs {
  readonly volumeId: string;
}

export interface ValidateVolumeCapabilitiesArgs {
  readonly volumeId: string;
  readonly volumeContext: StringMap;
  readonly parameters: StringMap;
  /** Why the capabilities cannot be confirmed, or undefined when every one is supported. */
  readonly unsupported: string | undefined;
}

export interface NodePublishVolumeArgs {
  /** The PersistentVolume's name. */
  readonly volumeId: string;
  readonly targetPath: string;
  readonly readonly: boolean;
  readonly pod: PodInfo;
  readonly selector: ListenerSelector;
  readonly volumeContext: StringMap;
}

export interface NodeUnpublishVolumeArgs {
  readonly volumeId: string;
  readonly targetPath: string;
}

export type CreateVolumeValidationError = MissingField | InvalidField | UnsupportedCapability;
export type NodePublishValidationError = MissingField | InvalidField | UnsupportedCapability | InvalidTargetPath | InvalidPodInfo | InvalidListenerSelector;

export function validateCreateVolume(request: CreateVolumeRequest): Result<CreateVolumeArgs, CreateVolumeValidationError> {
  const req = asRecord(request);
  const name = requiredString(req, 'name');
  if (!name.ok) return name;
  const caps = validateCapabilityList(req, 'volume_capabilities');
  if (!caps.ok) return caps;
  const capProblem = caps.value.map((cap, i) => ({ i, problem: capabilityProblem(cap) })).find((c) => c.problem !== undefined);
  if (capProblem?.problem !== undefined) {
    return err({ kind: 'UnsupportedCapability', field: `volume_capabilities[${capProblem.i}]`, reason: capProblem.problem });
  }
  if (isPresent(req['volume_content_source'])) {
    return err({ kind: 'InvalidField', field: 'volume_content_source', value: undefined, reason: 'listener volumes cannot be pre-populated from a snapshot or volume' });
  }
  const parameters = stringMap(req, 'parameters');
  if (!parameters.ok) return parameters;
  const pvc = pvcFromParameters(parameters.value);
  if (!pvc.ok) return pvc;
  const preferred = preferredTopology(req['accessibility_requirements']);
  if (!preferred.ok) return preferred;
  return ok({ name: name.value, pvc: pvc.value, parameters: parameters.value, preferredTopology: preferred.value });
}

export function validateDeleteVolume(request: DeleteVolumeRequest): Result<DeleteVolumeArgs, MissingField | InvalidField> {
  const volumeId = requiredString(asRecord(request), 'volume_id');
  return volumeId.ok ? ok({ volumeId: volumeId.value }) : volumeId;
}

export function validateValidateVolumeCapabilities(
  request: ValidateVolumeCapabilitiesRequest,
): Result<ValidateVolumeCapabilitiesArgs, MissingField | InvalidField> {
  const req = asRecord(request);
  const volumeId = requiredString(req, 'volume_id');
  if (!volumeId.ok) return volumeId;
  const caps = validateCapabilityList(req, 'volume_capabilities');
  if (!caps.ok) return caps;
  const volumeContext = stringMap(req, 'volume_context');
  if (!volumeContext.ok) return volumeContext;
  const parameters = stringMap(req, 'parameters');
  if (!parameters.ok) return parameters;
  const problems = caps.value.map((cap, i) => ({ i, problem: capabilityProblem(cap) })).filter((c) => c.problem !== undefined);
  const unsupported = problems.length === 0 ? undefined : problems.map((p) => `volume_capabilities[${p.i}]: ${p.problem ?? ''}`).join('; ');
  return ok({ volumeId: volumeId.value, volumeContext: volumeContext.value, parameters: parameters.value, unsupported });
}

export function validateNodePublishVolume(request: NodePublishVolumeRequest): Result<NodePublishVolumeArgs, NodePublishValidationError> {
  const req = asRecord(request);
  const volumeId = requiredString(req, 'volume_id');
  if (!volumeId.ok) return volumeId;
  // Our volume ids are PV names (CreateVolume gives them): anything else names no PV, and "." or
  // ".." would address the PV collection or the API's root in the request path.
  if (!isDnsSubdomain(volumeId.value)) return err({ kind: 'InvalidField', field: 'volume_id', value: volumeId.value, reason: 'not a PersistentVolume name (DNS-1123 subdomain)' });
  const targetPath = validTargetPath(req);
  if (!targetPath.ok) return targetPath;
  const capability = req['volume_capability'];
  if (!isPresent(capability)) return err({ kind: 'MissingField', field: 'volume_capability' });
  const problem = capabilityProblem(capability);
  if (problem !== undefined) return err({ kind: 'UnsupportedCapability', field: 'volume_capability', reason: problem });
  const volumeContext = stringMap(req, 'volume_context');
  if (!volumeContext.ok) return volumeContext;
  // The volume id is the PV name; the context's annotations came from its claim.
  const source: ObjectRef = { kind: 'PersistentVolume', name: volumeId.value };
  const pod = parsePodInfo(volumeContext.value, source);
  if (!pod.ok) return pod;
  const selector = parseListenerSelector(volumeContext.value, source);
  if (!selector.ok) return selector;
  const readonly = req['readonly'] === true;
  return ok({ volumeId: volumeId.value, targetPath: targetPath.value, readonly, pod: pod.value, selector: selector.value, volumeContext: volumeContext.value });
}

export function validateNodeUnpublishVolume(
  request: NodeUnpublishVolumeRequest,
): Result<NodeUnpublishVolumeArgs, MissingField | InvalidField | InvalidTargetPath> {
  const req = asRecord(request);
  const volumeId = requiredString(req, 'volume_id');
  if (!volumeId.ok) return volumeId;
  const targetPath = validTargetPath(req);
  if (!targetPath.ok) return targetPath;
  return ok({ volumeId: volumeId.value, targetPath: targetPath.value });
}

const MAX_PATH_BYTES = 4096;

/**
 * Why `value` cannot be a kubelet target path (undefined when it can): it must be an absolute,
 * normalised path (no `.` or `..` segment), not `/` itself, without NUL and within PATH_MAX.
 */
export function targetPathProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.includes('\0')) return 'contains a NUL character';
  if (!value.startsWith('/')) return 'must be an absolute path';
  if (Buffer.byteLength(value) > MAX_PATH_BYTES) return `is longer than ${MAX_PATH_BYTES} bytes`;
  const segments = value.split('/').filter((s) => s !== '');
  if (segments.length === 0) return 'must not be the root directory';
  if (segments.some((s) => s === '.' || s === '..')) return 'must not contain "." or ".." segments';
  return undefined;
}

const ACCESS_MODES = new Set([
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
]);

/** Why this driver cannot serve one VolumeCapability (undefined when it can). */
export function capabilityProblem(capability: unknown): string | undefined {
  if (!isRecord(capability)) return 'must be a VolumeCapability message';
  const block = isPresent(capability['block']);
  const mount = isPresent(capability['mount']);
  if (block && mount) return 'access_type must be one of block or mount, not both';
  if (block) return 'raw block access is not supported: a listener volume is a directory of files (use access type mount)';
  if (!mount) return 'access_type is missing (only mount is supported)';
  if (!isRecord(capability['mount'])) return 'mount must be a MountVolume message';
  return accessModeProblem(capability['access_mode']);
}

function accessModeProblem(accessMode: unknown): string | undefined {
  if (!isRecord(accessMode)) return 'access_mode is missing';
  const mode = accessMode['mode'];
  const known = (typeof mode === 'string' && ACCESS_MODES.has(mode)) || (typeof mode === 'number' && Number.isInteger(mode) && mode >= 1 && mode <= 7);
  if (!known) return `access_mode.mode ${typeof mode === 'string' || typeof mode === 'number' ? JSON.stringify(mode) : '(unset)'} is not a known access mode`;
  return undefined;
}

// ---- helpers -----------------------------------------------------------------------------------

function validateCapabilityList(req: Readonly<Record<string, unknown>>, field: string): Result<readonly unknown[], MissingField | InvalidField> {
  const caps = req[field];
  if (caps === undefined || caps === null || (Array.isArray(caps) && caps.length === 0)) return err({ kind: 'MissingField', field });
  if (!Array.isArray(caps)) return err({ kind: 'InvalidField', field, value: caps, reason: 'must be a list of VolumeCapability' });
  return ok(Array.from(caps as readonly unknown[])); // dense: holes become undefined
}

function pvcFromParameters(parameters: StringMap): Result<CreateVolumeArgs['pvc'], MissingField | InvalidField> {
  const name = Object.hasOwn(parameters, PARAM_PVC_NAME) ? parameters[PARAM_PVC_NAME] : undefined;
  const namespace = Object.hasOwn(parameters, PARAM_PVC_NAMESPACE) ? parameters[PARAM_PVC_NAMESPACE] : undefined;
  const hint = 'is the csi-provisioner running with --extra-create-metadata?';
  if (name === undefined || name === '') return err({ kind: 'MissingField', field: `parameters["${PARAM_PVC_NAME}"]`, hint });
  if (namespace === undefined || namespace === '') return err({ kind: 'MissingField', field: `parameters["${PARAM_PVC_NAMESPACE}"]`, hint });
  if (!isDnsSubdomain(name)) return err({ kind: 'InvalidField', field: `parameters["${PARAM_PVC_NAME}"]`, value: name, reason: 'not a valid object name (DNS-1123 subdomain)' });
  if (!isDnsLabel(namespace)) return err({ kind: 'InvalidField', field: `parameters["${PARAM_PVC_NAMESPACE}"]`, value: namespace, reason: 'not a valid namespace name (DNS-1123 label)' });
  return ok({ name, namespace });
}

function preferredTopology(requirements: unknown): Result<readonly StringMap[], InvalidField> {
  const field = 'accessibility_requirements.preferred';
  if (!isPresent(requirements)) return ok([]);
  if (!isRecord(requirements)) return err({ kind: 'InvalidField', field: 'accessibility_requirements', value: requirements, reason: 'must be a TopologyRequirement message' });
  const preferred = requirements['preferred'];
  if (preferred === undefined || preferred === null) return ok([]);
  if (!Array.isArray(preferred)) return err({ kind: 'InvalidField', field, value: preferred, reason: 'must be a list of Topology' });
  const out: StringMap[] = [];
  for (const [i, topology] of (preferred as unknown[]).entries()) {
    const segments = isRecord(topology) ? stringMap(topology, 'segments') : undefined;
    if (segments === undefined || !segments.ok) {
      return err({ kind: 'InvalidField', field: `${field}[${i}]`, value: undefined, reason: 'must be a Topology with string segments' });
    }
    out.push(segments.value);
  }
  return ok(out);
}

function validTargetPath(req: Readonly<Record<string, unknown>>): Result<string, MissingField | InvalidTargetPath> {
  const value = req['target_path'];
  if (value === undefined || value === null || value === '') return err({ kind: 'MissingField', field: 'target_path' });
  const problem = targetPathProblem(value);
  return problem === undefined ? ok(value as string) : err({ kind: 'InvalidTargetPath', targetPath: value, reason: problem });
}

function requiredString(req: Readonly<Record<string, unknown>>, field: string): Result<string, MissingField | InvalidField> {
  const value = req[field];
  if (value === undefined || value === null || value === '') return err({ kind: 'MissingField', field });
  if (typeof value !== 'string') return err({ kind: 'InvalidField', field, value, reason: 'must be a string' });
  return ok(value);
}

/** A map<string, string> field; absent is empty. Copied into a fresh object (own keys only). */
function stringMap(req: Readonly<Record<string, unknown>>, field: string): Result<StringMap, InvalidField> {
  const value = req[field];
  if (value === undefined || value === null) return ok({});
  if (!isRecord(value)) return err({ kind: 'InvalidField', field, value, reason: 'must be a map of strings' });
  const entries = Object.entries(value);
  const bad = entries.find(([, v]) => typeof v !== 'string');
  if (bad) return err({ kind: 'InvalidField', field: `${field}[${quote(bad[0])}]`, value: bad[1], reason: 'must be a string' });
  return ok(Object.fromEntries(entries) as Record<string, string>);
}

function asRecord(value: unknown): Readonly<Record<string, unknown>> {
  return isRecord(value) ? value : {};
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}
