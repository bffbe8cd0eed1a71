// The reads both CSI services make, with their failures as typed errors (errors.ts): an object
// fetched from the API server, and the ListenerClass a volume resolves to (directly from the
// listener-class annotation, or through the named Listener's className).

import { parseListener, parseListenerClass, type Listener, type ListenerClass } from '../crd/index.ts';
import { isNotFound, type KubeClient, type ResourceRef } from '../k8s/client.ts';
import type { GetObject, InvalidObject, ListenerClassNotFound, ListenerHasNoClass, ObjectRef } from './errors.ts';
import { err, ok, type Result } from './result.ts';

/**
 * GET; any failure (404 included: the object may appear, and the caller retries) is GetObject.
 * `signal` is the CSI call's (its deadline, its cancellation).
 */
export async function fetchObject<T>(client: KubeClient, resource: ResourceRef, ref: ObjectRef, signal?: AbortSignal): Promise<Result<T, GetObject>> {
  try {
    return ok(await client.get<T>(resource, { signal }));
  } catch (cause) {
    return err({ kind: 'GetObject', ref, cause });
  }
}

/** GET where 404 is an answer (undefined) rather than an error. */
export async function fetchOptional<T>(client: KubeClient, resource: ResourceRef, ref: ObjectRef, signal?: AbortSignal): Promise<Result<T | undefined, GetObject>> {
  try {
    return ok(await client.get<T>(resource, { signal }));
  } catch (cause) {
    if (isNotFound(cause)) return ok(undefined);
    return err({ kind: 'GetObject', ref, cause });
  }
}

export function decodeListener(object: unknown, ref: ObjectRef): Result<Listener, InvalidObject> {
  const parsed = parseListener(object);
  return parsed.ok ? ok(parsed.value) : err({ kind: 'InvalidObject', ref, reason: parsed.error });
}

/** Looks a ListenerClass up by name: the decoded class, undefined when it does not exist. */
export type ClassLookup = (name: string) => Promise<Result<ListenerClass | undefined, GetObject | InvalidObject>>;

/** Decodes a ListenerClass read from the API server (undefined stays undefined). */
export function decodeListenerClass(object: unknown, name: string): Result<ListenerClass | undefined, InvalidObject> {
  if (object === undefined) return ok(undefined);
  const parsed = parseListenerClass(object);
  return parsed.ok ? ok(parsed.value) : err({ kind: 'InvalidObject', ref: { kind: 'ListenerClass', name }, reason: parsed.error });
}

export type ResolveClassError = GetObject | InvalidObject | ListenerClassNotFound | ListenerHasNoClass;

/**
 * The class of `className`, or of the Listener `via` when it came from a named Listener: a missing
 * className or class is an error naming the Listener it came through.
 */
export async function resolveClass(lookup: ClassLookup, className: string | null | undefined, via?: ObjectRef): Promise<Result<ListenerClass, ResolveClassError>> {
  if (className === undefined || className === null || className === '') {
    return via === undefined ? err({ kind: 'ListenerClassNotFound', listenerClass: { kind: 'ListenerClass', name: '' } }) : err({ kind: 'ListenerHasNoClass', listener: via });
  }
  const found = await lookup(className);
  if (!found.ok) return found;
  if (found.value === undefined) return err({ kind: 'ListenerClassNotFound', listenerClass: { kind: 'ListenerClass', name: className }, via });
  return ok(found.value);
}
