// Canonical JSON (object keys sorted, undefined dropped): equal values give equal strings, so it
// serves both equality checks and content hashes.
import { createHash } from 'node:crypto';

export function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : stableJson(x))).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
}

export function contentHash(v: unknown): string {
  return createHash('sha256').update(stableJson(v)).digest('hex').slice(0, 32);
}

/**
 * True when every field set in `want` has the same value in `have` (objects: recursively, extra
 * keys in `have` allowed; arrays: same length, element-wise). This is how "the server already has
 * what we would apply" is decided, since the server adds defaults (nodePort, targetPort, ...).
 */
export function isSubset(want: unknown, have: unknown): boolean {
  if (want === undefined) return true;
  if (want === null || typeof want !== 'object') return want === have;
  if (have === null || typeof have !== 'object') return false;
  if (Array.isArray(want)) {
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => isSubset(w, have[i]));
  }
  if (Array.isArray(have)) return false;
  const h = have as Record<string, unknown>;
  return Object.entries(want as Record<string, unknown>).every(([k, w]) => isSubset(w, h[k]));
}
