// Conversion between the served versions of our kinds: what the conversion webhook does to each
// object of a ConversionReview. Only v1alpha1 is served today, so the one conversion is the
// identity; a new version adds its pair of functions to CONVERSIONS and its name to SERVED_VERSIONS.
import { API_GROUP, API_VERSION } from '../constants.ts';
import { LISTENER_CLASS_KIND } from './listener-class.ts';
import { LISTENER_KIND } from './listener.ts';
import { POD_LISTENERS_KIND } from './pod-listeners.ts';

export const SERVED_VERSIONS: readonly string[] = [API_VERSION];

/** CRD name → the kind it serves (the webhook's path names the CRD). */
export const KIND_OF_CRD: Readonly<Record<string, string>> = {
  [`listenerclasses.${API_GROUP}`]: LISTENER_CLASS_KIND,
  [`listeners.${API_GROUP}`]: LISTENER_KIND,
  [`podlisteners.${API_GROUP}`]: POD_LISTENERS_KIND,
};

type JsonObject = Record<string, unknown>;
type Convert = (obj: JsonObject) => JsonObject;

/** `${kind} ${from}→${to}`: how an object changes between two served versions (besides apiVersion). */
const CONVERSIONS: Readonly<Record<string, Convert>> = {};

export type ConversionResult = { ok: true; object: JsonObject } | { ok: false; error: string };

function describe(obj: JsonObject): string {
  const meta = typeof obj.metadata === 'object' && obj.metadata !== null ? (obj.metadata as JsonObject) : {};
  const ns = typeof meta.namespace === 'string' && meta.namespace !== '' ? `${meta.namespace}/` : '';
  return `${typeof obj.kind === 'string' ? obj.kind : 'object'} ${ns}${typeof meta.name === 'string' ? meta.name : '(no name)'}`;
}

/** The version of `apiVersion` if it is ours and served; otherwise why not. */
export function servedVersion(apiVersion: unknown): { ok: true; version: string } | { ok: false; error: string } {
  if (typeof apiVersion !== 'string') return { ok: false, error: 'has no apiVersion' };
  const slash = apiVersion.indexOf('/');
  const group = apiVersion.slice(0, slash);
  const version = apiVersion.slice(slash + 1);
  if (slash < 0 || group !== API_GROUP) return { ok: false, error: `has apiVersion ${JSON.stringify(apiVersion)}, not of the group ${API_GROUP}` };
  if (!SERVED_VERSIONS.includes(version)) return { ok: false, error: `has the version ${JSON.stringify(version)}, which is not served (served: ${SERVED_VERSIONS.join(', ')})` };
  return { ok: true, version };
}

/** Converts one object of `kind` to `toVersion` (a served version of ours). */
export function convertObject(kind: string, obj: unknown, toVersion: string): ConversionResult {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { ok: false, error: 'an object to convert is not a JSON object' };
  const o = obj as JsonObject;
  if (o.kind !== kind) return { ok: false, error: `${describe(o)} is not a ${kind}` };
  const from = servedVersion(o.apiVersion);
  if (!from.ok) return { ok: false, error: `${describe(o)} ${from.error}` };
  const converted = from.version === toVersion ? o : CONVERSIONS[`${kind} ${from.version}→${toVersion}`]?.(o);
  if (converted === undefined) return { ok: false, error: `${describe(o)}: no conversion from ${from.version} to ${toVersion}` };
  return { ok: true, object: { ...converted, apiVersion: `${API_GROUP}/${toVersion}` } };
}
