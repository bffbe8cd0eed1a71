// Which Listener controls a Service. The controller only ever writes a Service that this Listener
// controls (or that does not exist yet): whoever may create a Listener must not be able to take
// over, or have garbage-collected, a Service that belongs to someone else.
import { API_GROUP, GROUP_VERSION } from '../constants.ts';
import { LISTENER_KIND } from '../crd/listener.ts';
import type { ObjectMeta, OwnerReference } from './kube.ts';

interface HasMetadata {
  metadata?: Pick<ObjectMeta, 'name' | 'uid' | 'ownerReferences'> | undefined;
}

/**
 * True iff `object` has an owner reference with `controller: true`, kind Listener, an apiVersion
 * of the listeners.stackable.tech group (any version) and the Listener's UID. A Listener without
 * a UID controls nothing.
 */
export function isControlledByListener(object: HasMetadata, listener: HasMetadata): boolean {
  const uid = listener.metadata?.uid;
  if (uid === undefined || uid === '') return false;
  return (object.metadata?.ownerReferences ?? []).some(
    (ref) =>
      ref.controller === true &&
      ref.kind === LISTENER_KIND &&
      ref.apiVersion.startsWith(`${API_GROUP}/`) &&
      ref.uid === uid,
  );
}

/** The controller owner reference to a Listener (for the objects it creates). */
export function listenerOwnerReference(listenerName: string, listenerUid: string): OwnerReference {
  return {
    apiVersion: GROUP_VERSION,
    kind: LISTENER_KIND,
    name: listenerName,
    uid: listenerUid,
    controller: true,
    blockOwnerDeletion: true,
  };
}
