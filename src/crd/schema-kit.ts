// Building blocks for the CRD schemas, and the one conversion from TypeBox's JSON Schema to a
// Kubernetes *structural* schema.
//
// Every kind is written once as a TypeBox schema. TypeBox gives us the TypeScript type (Static<>)
// and a validator; `toStructuralSchema` turns the same schema into the `openAPIV3Schema` of the
// CRD. The two dialects differ in a few places, and each helper here is written so that the
// TypeBox side stays plain JSON Schema while the conversion knows how to express it for Kubernetes:
// - nullable fields are `anyOf: [T, {type: null}]` in JSON Schema, `nullable: true` in Kubernetes;
// - string maps are `patternProperties: {'^.*$': V}` in TypeBox, `additionalProperties: V` in
//   Kubernetes (which has no patternProperties);
// - enums are `{type: string, enum: [...]}` on both sides (no `const`/`anyOf` of literals, which
//   structural schemas forbid).
// The conversion rejects every keyword it does not know, so a schema that Kubernetes would refuse
// fails in the unit tests instead of at `kubectl apply`.
import { Type, type TSchema } from 'typebox';
import { isRecord } from '../util/is-record.ts';

export type JsonObject = { [key: string]: unknown };

/** Options every field carries: a description is mandatory (it becomes `kubectl explain`). */
export type FieldOptions = {
  description: string;
  default?: unknown;
};

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** A field that may be explicitly null (Kubernetes `nullable: true`). */
export function nullable<T extends TSchema>(schema: T, options: FieldOptions) {
  return Type.Union([schema, Type.Null()], options);
}

/** A string restricted to a fixed set of values. */
export function stringEnum<const V extends readonly string[]>(values: V, options: FieldOptions) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options });
}

/**
 * A 32-bit signed integer. The bounds are explicit because TypeBox does not enforce
 * `format: int32`; the API server does, so the conversion leaves them out of the CRD.
 */
export function int32(options: FieldOptions) {
  return Type.Integer({ format: 'int32', minimum: INT32_MIN, maximum: INT32_MAX, ...options });
}

/** A map from arbitrary string keys to values of one schema. */
export function stringMap<T extends TSchema>(value: T, options: FieldOptions) {
  return Type.Record(Type.String(), value, options);
}

/**
 * A list whose entries server-side apply tracks one by one, keyed by `keys` (required fields of
 * the items): each field manager owns the entries it applied, so several can write one list
 * without conflicts and without erasing each other's entries (an atomic list is owned whole).
 */
export function mapList<T extends TSchema>(items: T, keys: readonly string[]) {
  return Type.Array(items, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [...keys] });
}

/** A free-form object whose content the API server keeps as is. */
export function freeForm(options: FieldOptions) {
  return Type.Unsafe<JsonObject>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...options });
}

// Keywords copied as they are. Anything else (const, anyOf that is not "T or null", oneOf, $ref,
// patternProperties with a real pattern, ...) is not expressible in a structural schema.
const COPIED_KEYWORDS = new Set([
  'type', 'description', 'default', 'enum', 'format', 'minimum', 'maximum', 'title', 'nullable',
  'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys',
]);
const ANY_KEY_PATTERN = '^.*$';

function fail(path: string, message: string): never {
  throw new Error(`schema at ${path || '<root>'}: ${message}`);
}

/** `anyOf: [T, {type: null}]` plus options on the union → T's node with `nullable: true`. */
function fromNullableUnion(schema: JsonObject, path: string): JsonObject {
  const { anyOf, ...options } = schema;
  if (!Array.isArray(anyOf) || anyOf.length !== 2) fail(path, 'only "T or null" unions are supported');
  const members: readonly unknown[] = anyOf;
  const inner = members[0];
  const nullType = members[1];
  if (!isRecord(nullType) || nullType.type !== 'null') fail(path, 'only "T or null" unions are supported');
  if (!isRecord(inner)) fail(path, 'union member is not a schema');
  return toStructuralSchema({ ...inner, ...options, nullable: true }, path);
}

function convertProperties(value: unknown, path: string): JsonObject {
  if (!isRecord(value)) fail(path, 'properties must be an object');
  const out: JsonObject = {};
  for (const [name, child] of Object.entries(value)) {
    const converted = toStructuralSchema(child, `${path}.${name}`);
    if (typeof converted.description !== 'string' || converted.description === '') {
      fail(`${path}.${name}`, 'every field needs a description');
    }
    out[name] = converted;
  }
  return out;
}

function convertPatternProperties(value: unknown, path: string): JsonObject {
  if (!isRecord(value)) fail(path, 'patternProperties must be an object');
  const keys = Object.keys(value);
  const child = value[ANY_KEY_PATTERN];
  if (keys.length !== 1 || !isRecord(child)) fail(path, 'only string-keyed maps (Record<string, T>) are supported');
  return toStructuralSchema(child, `${path}.*`);
}

function convertKeyword(out: JsonObject, key: string, value: unknown, path: string): void {
  switch (key) {
    case 'properties':
      out.properties = convertProperties(value, path);
      return;
    case 'patternProperties':
      out.additionalProperties = convertPatternProperties(value, path);
      return;
    case 'items':
      if (!isRecord(value)) fail(path, 'items must be a single schema');
      out.items = toStructuralSchema(value, `${path}[]`);
      return;
    case 'required':
      if (Array.isArray(value) && value.length > 0) out.required = [...(value as unknown[])];
      return;
    default:
      if (!COPIED_KEYWORDS.has(key)) fail(path, `keyword "${key}" is not allowed in a structural schema`);
      out[key] = structuredClone(value);
  }
}

/** Sorts keys (by code unit, independent of the locale) so the emitted YAML is stable to diff. */
function sortKeys(node: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(node).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Converts a TypeBox schema (JSON Schema) into a Kubernetes structural schema node. Throws on
 * anything Kubernetes would reject (untyped nodes, `properties` together with
 * `additionalProperties`, unions other than "T or null", unknown keywords) and on fields without
 * a description.
 */
export function toStructuralSchema(schema: unknown, path = ''): JsonObject {
  if (!isRecord(schema)) fail(path, 'not a schema');
  if ('anyOf' in schema) return fromNullableUnion(schema, path);
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) convertKeyword(out, key, value, path);
  if (out.format === 'int32' && out.minimum === INT32_MIN && out.maximum === INT32_MAX) {
    delete out.minimum;
    delete out.maximum;
  }
  if (typeof out.type !== 'string') fail(path, 'every node needs a type');
  if ('properties' in out && 'additionalProperties' in out) {
    fail(path, 'properties and additionalProperties are mutually exclusive');
  }
  return sortKeys(out);
}
