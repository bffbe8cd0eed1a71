// Validation of objects that come from the API server (or anywhere else) against the schemas.
//
// The controller decodes every object through these, so one undecodable object yields a clear
// error for that object alone instead of stalling the others. Defaults of the schema are filled in
// first, exactly as the API server would, so callers see the same values either way.
import { Compile, type Validator } from 'typebox/compile';
import type { TSchema } from 'typebox';
import { LISTENER_CLASS_KIND, ListenerClassSchema, type ListenerClass } from './listener-class.ts';
import { LISTENER_KIND, ListenerSchema, type Listener } from './listener.ts';
import { POD_LISTENERS_KIND, PodListenersSchema, type PodListeners } from './pod-listeners.ts';
import { isRecord } from '../util/is-record.ts';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

interface SchemaError {
  instancePath: string;
  keyword: string;
  message: string;
  params: object;
}

const MAX_REPORTED_ERRORS = 5;

/** `namespace/name`, or `name`, or `<unnamed>`: how the object is named in error messages. */
export function describeObject(obj: unknown): string {
  const metadata = isRecord(obj) ? obj.metadata : undefined;
  if (!isRecord(metadata)) return '<unnamed>';
  const name = typeof metadata.name === 'string' ? metadata.name : '<unnamed>';
  return typeof metadata.namespace === 'string' ? `${metadata.namespace}/${name}` : name;
}

/** `/spec/ports/0/port` → `spec.ports[0].port` (the way kubectl names fields). */
function fieldPath(pointer: string): string {
  if (pointer === '') return '<root>';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path === '' ? part : `${path}.${part}`), '');
}

/**
 * Condenses the validator's errors into what a human needs. A nullable field fails both of its
 * alternatives ("must be string", "must be null") plus the union itself; a failing list entry also
 * makes its enclosing "T or null" fail. So errors that only restate a more specific one below the
 * same path are dropped, and the type alternatives of one path are merged ("must be string or null").
 */
/** The validator's message, with the allowed values spelled out for enums. */
function messageOf(error: SchemaError): string {
  if (error.keyword === 'enum' && 'allowedValues' in error.params && Array.isArray(error.params.allowedValues)) {
    return `must be one of ${error.params.allowedValues.map(String).join(', ')}`;
  }
  return error.message;
}

function formatErrors(errors: readonly SchemaError[]): string {
  const specific = errors.filter(
    (e) => e.keyword !== 'anyOf' && !errors.some((o) => o.instancePath.startsWith(`${e.instancePath}/`)),
  );
  const byPath = new Map<string, string[]>();
  for (const e of specific) {
    const messages = byPath.get(e.instancePath) ?? [];
    const message = e.keyword === 'type' && messages.length > 0 ? e.message.replace(/^must be /, '') : messageOf(e);
    if (!messages.includes(message)) messages.push(message);
    byPath.set(e.instancePath, messages);
  }
  const lines = [...byPath].map(([path, messages]) => `${fieldPath(path)}: ${messages.join(' or ')}`);
  const shown = lines.slice(0, MAX_REPORTED_ERRORS);
  if (lines.length > shown.length) shown.push(`and ${lines.length - shown.length} more`);
  return shown.join('; ');
}

/**
 * `value` with the schema's defaults filled in, as the API server's structural defaulting does:
 * a missing field gets its default, an explicit null stays null. It walks only the shapes the
 * schemas are built from (schema-kit.ts): objects with properties, maps (patternProperties),
 * arrays, and "T or null" unions. Objects and arrays on the way are copied, so the input is never
 * changed; what the walk does not enter (free-form objects' content, strings) is shared with it.
 * (TypeBox's Value.Default does the same generically, but resolves every union by validating the
 * value against each variant: 40% of the CPU of a controller restart, measured.)
 */
function withDefaults(schema: Readonly<Record<string, unknown>>, value: unknown): unknown {
  if (value === undefined) return 'default' in schema ? structuredClone(schema.default) : undefined;
  if (value === null) return null;
  if (Array.isArray(schema.anyOf)) {
    const variant: unknown = schema.anyOf.find((v: unknown) => isRecord(v) && v.type !== 'null');
    return isRecord(variant) ? withDefaults(variant, value) : value;
  }
  if (Array.isArray(value)) {
    const list: readonly unknown[] = value;
    const items = schema.items;
    return isRecord(items) ? list.map((v) => withDefaults(items, v)) : [...list];
  }
  return isRecord(value) ? objectWithDefaults(schema, value) : value;
}

function objectWithDefaults(schema: Readonly<Record<string, unknown>>, value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...value };
  const properties = isRecord(schema.properties) ? schema.properties : {};
  for (const [key, fieldSchema] of Object.entries(properties)) {
    if (!isRecord(fieldSchema)) continue;
    const filled = withDefaults(fieldSchema, out[key]);
    if (filled !== undefined) out[key] = filled;
  }
  const [entrySchema] = isRecord(schema.patternProperties) ? Object.values(schema.patternProperties) : [];
  if (isRecord(entrySchema)) {
    for (const key of Object.keys(out)) if (!(key in properties)) out[key] = withDefaults(entrySchema, out[key]);
  }
  return out;
}

/**
 * A parser for one kind. Results are remembered per input object: the controller's caches hand out
 * the same object until its next version arrives, and a ListenerClass is read by every reconcile of
 * every Listener of that class (filling defaults walks the schema, the costliest part of a no-op
 * reconcile). So a parsed value is shared: callers only read it.
 */
function makeParser<T>(kind: string, schema: TSchema, validator: Validator): (obj: unknown) => ParseResult<T> {
  const shape: Readonly<Record<string, unknown>> = isRecord(schema) ? schema : {};
  const parsed = new WeakMap<object, ParseResult<T>>();
  return (obj) => {
    const what = `${kind} ${describeObject(obj)}`;
    if (!isRecord(obj)) return { ok: false, error: `${what} is invalid: not an object` };
    const known = parsed.get(obj);
    if (known !== undefined) return known;
    const value = withDefaults(shape, obj);
    const result: ParseResult<T> = validator.Check(value) ? { ok: true, value: value as T } : { ok: false, error: `${what} is invalid: ${formatErrors(validator.Errors(value))}` };
    parsed.set(obj, result);
    return result;
  };
}

const listenerClassValidator = Compile(ListenerClassSchema);
const listenerValidator = Compile(ListenerSchema);
const podListenersValidator = Compile(PodListenersSchema);

/** Validates an unknown object as a ListenerClass (defaults filled in), or says what is wrong. */
export const parseListenerClass: (obj: unknown) => ParseResult<ListenerClass> = makeParser(
  LISTENER_CLASS_KIND,
  ListenerClassSchema,
  listenerClassValidator,
);

/** Validates an unknown object as a Listener (defaults filled in), or says what is wrong. */
export const parseListener: (obj: unknown) => ParseResult<Listener> = makeParser(
  LISTENER_KIND,
  ListenerSchema,
  listenerValidator,
);

/** Validates an unknown object as a PodListeners (defaults filled in), or says what is wrong. */
export const parsePodListeners: (obj: unknown) => ParseResult<PodListeners> = makeParser(
  POD_LISTENERS_KIND,
  PodListenersSchema,
  podListenersValidator,
);
