// Parsing of the volume context: the PVC annotations that choose the listener (captured by
// CreateVolume and handed back by kubelet on every NodePublishVolume) and the Pod identity kubelet
// adds because the CSIDriver has podInfoOnMount. Pure; no I/O.

import {
  ANNOTATION_LISTENER_CLASS,
  ANNOTATION_LISTENER_NAME,
  CTX_POD_NAME,
  CTX_POD_NAMESPACE,
  CTX_POD_UID,
} from '../constants.ts';
import type { InvalidListenerSelector, InvalidPodInfo, ObjectRef } from './errors.ts';
import { err, ok, type Result } from './result.ts';

/** How a listener volume is served: a Listener made for it from a class, or an existing Listener. */
export type ListenerSelector =
  | { readonly kind: 'class'; readonly className: string }
  | { readonly kind: 'name'; readonly listenerName: string };

/** The Pod a volume is published for, from the volume context. */
export interface PodInfo {
  readonly namespace: string;
  readonly name: string;
  /** Present when kubelet passes it (it always does with podInfoOnMount). */
  readonly uid?: string | undefined;
}

/**
 * The selector from PVC annotations (or a volume context that carries them). Exactly one of
 * `listeners.stackable.tech/listener-class` and `listeners.stackable.tech/listener-name` must be
 * set, to a valid object name (a DNS-1123 subdomain, as for every ListenerClass and Listener name:
 * this also keeps any value that could break out of an API path from reaching the client).
 * `source` names the object the annotations came from, for the error message.
 */
export function parseListenerSelector(
  annotations: Readonly<Record<string, unknown>> | null | undefined,
  source: ObjectRef,
): Result<ListenerSelector, InvalidListenerSelector> {
  const fail = (reason: string): Result<never, InvalidListenerSelector> => err({ kind: 'InvalidListenerSelector', source, reason });
  const className = ownValue(annotations, ANNOTATION_LISTENER_CLASS);
  const listenerName = ownValue(annotations, ANNOTATION_LISTENER_NAME);
  if (className !== undefined && listenerName !== undefined) {
    return fail(`both ${ANNOTATION_LISTENER_CLASS} and ${ANNOTATION_LISTENER_NAME} are set; set exactly one`);
  }
  if (className !== undefined) {
    const problem = objectNameProblem(className);
    return problem === undefined ? ok({ kind: 'class', className: className as string }) : fail(`${ANNOTATION_LISTENER_CLASS} ${problem}`);
  }
  if (listenerName !== undefined) {
    const problem = objectNameProblem(listenerName);
    return problem === undefined ? ok({ kind: 'name', listenerName: listenerName as string }) : fail(`${ANNOTATION_LISTENER_NAME} ${problem}`);
  }
  return fail(`neither ${ANNOTATION_LISTENER_CLASS} nor ${ANNOTATION_LISTENER_NAME} is set; set exactly one`);
}

/** The Pod name and namespace (and uid, if given) kubelet adds to the volume context. */
export function parsePodInfo(
  volumeContext: Readonly<Record<string, unknown>> | null | undefined,
  source: ObjectRef,
): Result<PodInfo, InvalidPodInfo> {
  const fail = (reason: string): Result<never, InvalidPodInfo> => err({ kind: 'InvalidPodInfo', source, reason });
  const name = ownValue(volumeContext, CTX_POD_NAME);
  const namespace = ownValue(volumeContext, CTX_POD_NAMESPACE);
  const uid = ownValue(volumeContext, CTX_POD_UID);
  const podInfoHint = ' (is podInfoOnMount enabled on the CSIDriver?)';
  if (name === undefined) return fail(`${CTX_POD_NAME} is missing${podInfoHint}`);
  if (namespace === undefined) return fail(`${CTX_POD_NAMESPACE} is missing${podInfoHint}`);
  const nameProblem = objectNameProblem(name);
  if (nameProblem !== undefined) return fail(`${CTX_POD_NAME} ${nameProblem}`);
  if (typeof namespace !== 'string' || !isDnsLabel(namespace)) {
    return fail(`${CTX_POD_NAMESPACE} ${describeValue(namespace)} is not a valid namespace name (DNS-1123 label)`);
  }
  if (uid !== undefined && (typeof uid !== 'string' || uid === '')) return fail(`${CTX_POD_UID} must be a non-empty string`);
  return ok({ name: name as string, namespace, ...(uid === undefined ? {} : { uid }) });
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** RFC 1123 label: namespaces, Service names. */
export function isDnsLabel(value: string): boolean {
  return value.length <= 63 && DNS_LABEL.test(value);
}

/** RFC 1123 subdomain: names of most objects (Pods, Listeners, ListenerClasses, PVCs). */
export function isDnsSubdomain(value: string): boolean {
  return value.length > 0 && value.length <= 253 && value.split('.').every((label) => DNS_LABEL.test(label));
}

function objectNameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a string, not ${value === null ? 'null' : typeof value}`;
  if (value === '') return 'is empty';
  if (!isDnsSubdomain(value)) return `${describeValue(value)} is not a valid object name (DNS-1123 subdomain)`;
  return undefined;
}

function describeValue(value: unknown): string {
  if (typeof value !== 'string') return `(${typeof value})`;
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

function ownValue(record: Readonly<Record<string, unknown>> | null | undefined, key: string): unknown {
  if (record === null || record === undefined || typeof record !== 'object') return undefined;
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
