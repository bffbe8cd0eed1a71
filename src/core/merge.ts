// The typed deep merge of a (partial) Service over another, as upstream's (k8s-openapi DeepMerge):
//
// - a value the override sets replaces the base value (scalars, and lists not named below);
// - objects merge key by key, recursively (so `metadata.labels` and `metadata.annotations` merge
//   key by key and the override wins per key);
// - `spec.selector`, `spec.clusterIPs`, `spec.externalIPs`, `spec.ipFamilies` and
//   `spec.loadBalancerSourceRanges` are atomic: replaced whole;
// - `spec.ports` is a list keyed by port number: an override entry merges into the base entry with
//   the same `port` (and, when the override names a protocol, the same protocol, TCP when unset,
//   so TCP and UDP on one port stay two entries); entries without a match are appended;
// - `metadata.finalizers` merge as a set; `metadata.ownerReferences` as a list keyed by `uid`.
//
// An explicit `null` in the override means "not set" and changes nothing, as in upstream where
// the override is deserialised into optional fields first. Neither input is modified.
import { isRecord } from '../util/is-record.ts';

export type JsonMap = { [key: string]: unknown };

type ListRule = 'atomic' | 'ports' | 'set' | 'byUid';

const RULES: ReadonlyMap<string, ListRule> = new Map([
  ['spec/selector', 'atomic'],
  ['spec/clusterIPs', 'atomic'],
  ['spec/externalIPs', 'atomic'],
  ['spec/ipFamilies', 'atomic'],
  ['spec/loadBalancerSourceRanges', 'atomic'],
  ['spec/ports', 'ports'],
  ['metadata/finalizers', 'set'],
  ['metadata/ownerReferences', 'byUid'],
]);

function ruleFor(path: readonly string[]): ListRule | undefined {
  return path.length === 2 ? RULES.get(`${path[0] ?? ''}/${path[1] ?? ''}`) : undefined;
}

function protocolOf(port: JsonMap): unknown {
  return port.protocol ?? 'TCP';
}

function findPort(ports: readonly unknown[], wanted: JsonMap): number {
  return ports.findIndex(
    (p) => isRecord(p) && p.port === wanted.port && (wanted.protocol == null || protocolOf(p) === protocolOf(wanted)),
  );
}

function mergeKeyedList(
  base: readonly unknown[],
  override: readonly unknown[],
  find: (list: readonly unknown[], entry: JsonMap) => number,
  path: readonly string[],
): unknown[] {
  const out = base.map((entry) => structuredClone(entry));
  for (const entry of override) {
    const at = isRecord(entry) ? find(out, entry) : -1;
    if (at >= 0) out[at] = mergeValue(out[at], entry, path);
    else out.push(structuredClone(entry));
  }
  return out;
}

function mergeSet(base: readonly unknown[], override: readonly unknown[]): unknown[] {
  const out = [...base];
  for (const entry of override) if (!out.includes(entry)) out.push(entry);
  return out;
}

function findByUid(list: readonly unknown[], entry: JsonMap): number {
  return entry.uid == null ? -1 : list.findIndex((e) => isRecord(e) && e.uid === entry.uid);
}

function mergeList(rule: ListRule | undefined, base: unknown, override: unknown[], path: readonly string[]): unknown {
  const baseList = Array.isArray(base) ? (base as unknown[]) : [];
  switch (rule) {
    case 'ports':
      return mergeKeyedList(baseList, override, findPort, [...path, '[]']);
    case 'set':
      return mergeSet(baseList, override);
    case 'byUid':
      return mergeKeyedList(baseList, override, findByUid, [...path, '[]']);
    default:
      return structuredClone(override);
  }
}

function mergeValue(base: unknown, override: unknown, path: readonly string[]): unknown {
  if (override === undefined || override === null) return structuredClone(base);
  const rule = ruleFor(path);
  if (rule === 'atomic') return structuredClone(override);
  if (Array.isArray(override)) return mergeList(rule, base, override, path);
  if (isRecord(override) && isRecord(base)) return mergeMaps(base, override, path);
  return structuredClone(override);
}

function mergeMaps(base: JsonMap, override: JsonMap, path: readonly string[]): JsonMap {
  const out: JsonMap = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    const merged = mergeValue(base[key], value, [...path, key]);
    if (merged !== undefined) out[key] = merged;
  }
  return out;
}

/** `base` with `override` deep-merged over it by the Service rules above (a new object). */
export function mergeServiceOverride(base: JsonMap, override: JsonMap): JsonMap {
  return mergeMaps(base, override, []);
}
