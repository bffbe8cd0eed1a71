// Validation of objects that come from the API server (or anywhere else) against the schemas.
//
// The controller decodes every object through these, so one undecodable object yields a clear
// error for that object alone instead of stalling the others. Defaults of the schema are filled in
// first, exactly as the API server would, so callers see the same values either way.
import { Compile, type Validator } from 'typebox/compile';
import { Value } from 'typebox/value';
import type { TSchema } from 'typebox';
import { LISTENER_CLASS_KIND, ListenerClassSchema, type ListenerClass } from './listener-class.ts';
import { LISTENER_KIND, ListenerSchema, type Listener } from './listener.ts';
import { POD_LISTENERS_KIND, PodListenersSchema, type PodListeners } from './pod-listeners.ts';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

interface SchemaError {
  instancePath: string;
  keyword: string;
  message: string;
  params: object;
}

const MAX_REPORTED_ERRORS = 5;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

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

function makeParser<T>(kind: string, schema: TSchema, validator: Validator): (obj: unknown) => ParseResult<T> {
  return (obj) => {
    const what = `${kind} ${describeObject(obj)}`;
    if (!isRecord(obj)) return { ok: false, error: `${what} is invalid: not an object` };
    const value = Value.Default(schema, structuredClone(obj));
    if (validator.Check(value)) return { ok: true, value: value as T };
    return { ok: false, error: `${what} is invalid: ${formatErrors(validator.Errors(value))}` };
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
