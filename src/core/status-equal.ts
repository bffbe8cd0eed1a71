// Whether the status a Listener has already says what we would write, so that an unchanged
// Listener costs no write (and a restart over an unchanged cluster makes none at all).
import type { ListenerStatus } from '../crd/listener.ts';
import { isRecord } from '../util/is-record.ts';

/**
 * JSON equality as the API server means it: object keys in any order, list entries in order
 * (the first address is the default one), and a field set to null the same as an absent one.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a == null || b == null) return a == null && b == null;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * True when applying `desired` over `current` would change nothing. `desired` carries only the
 * conditions the operator owns; conditions of other types belong to other field managers (the
 * list is keyed by type), stay as they are, and are left out of the comparison.
 */
export function statusEqual(current: ListenerStatus | null | undefined, desired: ListenerStatus): boolean {
  const ours = new Set((desired.conditions ?? []).map((c) => c.type));
  const conditions = current?.conditions?.filter((c) => ours.has(c.type));
  const comparable = current?.conditions == null ? current : { ...current, conditions: conditions?.length === 0 ? undefined : conditions };
  return jsonEqual(comparable ?? {}, desired);
}
