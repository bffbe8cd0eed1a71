// Names and label values derived from a Listener, and the validity rules they must meet.
//
// A Listener's name is a DNS-1123 *subdomain* (up to 253 characters, may contain dots and start
// with a digit), but a Service name must be a DNS-1035 *label* (at most 63, starts with a letter,
// no dots) and a label value at most 63 characters. Upstream uses the Listener's name as is and
// fails on the rest; we keep the name whenever it is valid (so nothing changes for anyone who had
// a working setup) and otherwise derive a valid one from it, deterministically: a readable,
// sanitised prefix, then `-` and the first 10 hex digits of the SHA-256 of the *full* name, so
// two different Listener names never share a derived name in practice.
import { createHash } from 'node:crypto';
import { LABEL_PV_LISTENER_NAME, LABEL_PV_LISTENER_NAMESPACE, POD_MOUNT_LABEL_PREFIX } from '../constants.ts';

export const MAX_NAME_LENGTH = 63;
const HASH_LENGTH = 10;
const PREFIX_LENGTH = MAX_NAME_LENGTH - HASH_LENGTH - 1;

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A DNS-1035 label (what a Service name must be). */
export function isDns1035Label(s: string): boolean {
  return s.length <= MAX_NAME_LENGTH && DNS1035_LABEL.test(s);
}

/** A DNS-1123 label (what a Service port name must be). */
export function isDns1123Label(s: string): boolean {
  return s.length <= MAX_NAME_LENGTH && DNS1123_LABEL.test(s);
}

/** A valid label value (may be empty). */
export function isLabelValue(s: string): boolean {
  return s.length <= MAX_NAME_LENGTH && LABEL_VALUE.test(s);
}

// RFC 1123 labels separated by dots, optionally ending in a dot: upstream's DomainName.
const DOMAIN = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*\.?$/;
const MAX_DOMAIN_LENGTH = 253;

/** Why `s` is not a DNS domain name (upstream's DomainName rules), or undefined when it is one. */
export function domainNameError(s: string): string | undefined {
  if (s.length > MAX_DOMAIN_LENGTH) return `is longer than ${MAX_DOMAIN_LENGTH} characters`;
  if (!DOMAIN.test(s) || s.split('.').some((label) => label.length > MAX_NAME_LENGTH)) {
    return 'is not a DNS domain (labels of letters, digits and "-", at most 63 characters each, separated by dots, optionally ending with a dot)';
  }
  return undefined;
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, HASH_LENGTH);
}

/**
 * The name of the Service backing a Listener: the Listener's own name when it is a valid Service
 * name (always the case for names upstream could serve), else
 * `<lowercased name, invalid characters as '-', leading non-letters dropped, cut to 52>-<hash>`
 * (or `listener-<hash>` when nothing of the name is left). Report it in `status.serviceName`.
 */
export function serviceNameFor(listenerName: string): string {
  if (isDns1035Label(listenerName)) return listenerName;
  const prefix = listenerName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, PREFIX_LENGTH)
    .replace(/-+$/, '');
  return `${prefix === '' ? 'listener' : prefix}-${shortHash(listenerName)}`;
}

/**
 * A label value standing for `name`: the name itself when it is a valid label value (every name
 * of at most 63 characters), else its first 52 characters (trailing non-alphanumerics dropped),
 * `-` and a hash of the full name. Used wherever a Listener's name goes into a label value: the
 * Pod mount label, the PV labels and the Service's `app.kubernetes.io/instance`. Writers and
 * selectors must both use it so that they agree.
 */
export function labelValueFor(name: string): string {
  if (isLabelValue(name)) return name;
  const prefix = name.slice(0, PREFIX_LENGTH).replace(/[^A-Za-z0-9]+$/, '');
  return `${prefix === '' ? 'listener' : prefix}-${shortHash(name)}`;
}

/**
 * The key of the Pod label that says "this Pod mounts the Listener with this UID":
 * `listener.stackable.tech/mnt.<UID without dashes>` (60 characters for a UUID, under the
 * 63-character limit of a label name, which is why the dashes go).
 */
export function mountLabelKey(listenerUid: string): string {
  return `${POD_MOUNT_LABEL_PREFIX}${listenerUid.replaceAll('-', '')}`;
}

/** The Pod label (key and value) the Service of a Listener selects on. */
export function mountLabel(listenerName: string, listenerUid: string): { key: string; value: string } {
  return { key: mountLabelKey(listenerUid), value: labelValueFor(listenerName) };
}

/** The labels that tie a PersistentVolume to its Listener (the controller selects PVs by them). */
export function pvListenerLabels(listenerNamespace: string, listenerName: string): Record<string, string> {
  return {
    [LABEL_PV_LISTENER_NAMESPACE]: labelValueFor(listenerNamespace),
    [LABEL_PV_LISTENER_NAME]: labelValueFor(listenerName),
  };
}
