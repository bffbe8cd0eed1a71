// CSI Controller, served by `run controller` next to the external-provisioner: CreateVolume,
// DeleteVolume, ValidateVolumeCapabilities and the capabilities. Everything else is UNIMPLEMENTED
// (the server's funnel answers for methods left out here).
//
// CreateVolume reads the PVC named by the provisioner's --extra-create-metadata parameters, takes
// its annotations as the volume context (unchanged), resolves the ListenerClass (directly, or
// through the named Listener's className) and pins the volume to the first preferred topology
// only for a NodePort class with pinnedNodePorts. There is nothing to allocate: volume_id is the
// request's name, capacity 0 ("unknown").
//
// Every API request carries the call's signal (its gRPC deadline and cancellation), so a call the
// provisioner has given up on stops at its next request.
//
// ValidateVolumeCapabilities must answer NOT_FOUND for a volume that does not exist (CSI spec).
// A volume exists once CreateVolume has returned it; the PersistentVolume the provisioner then
// creates (named after it) is the durable record. So a volume is known when this process created
// it and has not deleted it since, or when a PV with that name belongs to this driver.

import { DRIVER_NAME } from '../constants.ts';
import type { KubeClient } from '../k8s/client.ts';
import { LISTENER_CLASSES, LISTENERS, PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, at } from '../k8s/resources.ts';
import { BoundedSet } from '../util/bounded-set.ts';
import { createVolumeTopology } from './decisions.ts';
import type { ObjectRef } from './errors.ts';
import type { PersistentVolume, PersistentVolumeClaim } from './kube-types.ts';
import { decodeListener, decodeListenerClass, fetchObject, fetchOptional, resolveClass, type ClassLookup } from './lookups.ts';
import { err, ok } from './result.ts';
import type { ControllerImpl } from './server.ts';
import { validateCreateVolume, validateDeleteVolume, validateValidateVolumeCapabilities } from './validation.ts';
import { parseListenerSelector } from './volume-context.ts';

export interface ControllerServiceOptions {
  readonly client: KubeClient;
  /** How many created-but-not-deleted volume ids to remember (see ValidateVolumeCapabilities). */
  readonly rememberVolumes?: number;
}

export function controllerService(opts: ControllerServiceOptions): ControllerImpl {
  const { client } = opts;
  const created = new BoundedSet(opts.rememberVolumes ?? 10_000);
  const classLookup = (signal: AbortSignal): ClassLookup => async (name) => {
    const got = await fetchOptional<unknown>(client, at(LISTENER_CLASSES, undefined, name), { kind: 'ListenerClass', name }, signal);
    return got.ok ? decodeListenerClass(got.value, name) : got;
  };

  return {
    ControllerGetCapabilities: () => ok({ capabilities: [{ rpc: { type: 'CREATE_DELETE_VOLUME' } }] }),

    CreateVolume: async (request, { log, signal }) => {
      const lookupClass = classLookup(signal);
      const args = validateCreateVolume(request);
      if (!args.ok) return args;
      const { name, pvc: claim, preferredTopology } = args.value;
      const pvcRef: ObjectRef = { kind: 'PersistentVolumeClaim', namespace: claim.namespace, name: claim.name };
      const pvc = await fetchObject<PersistentVolumeClaim>(client, at(PERSISTENT_VOLUME_CLAIMS, claim.namespace, claim.name), pvcRef, signal);
      if (!pvc.ok) return pvc;
      const annotations = { ...(pvc.value.metadata?.annotations ?? {}) };
      const selector = parseListenerSelector(annotations, pvcRef);
      if (!selector.ok) return selector;
      let listenerClass;
      if (selector.value.kind === 'class') {
        listenerClass = await resolveClass(lookupClass, selector.value.className);
      } else {
        const listenerRef: ObjectRef = { kind: 'Listener', namespace: claim.namespace, name: selector.value.listenerName };
        const raw = await fetchObject<unknown>(client, at(LISTENERS, claim.namespace, selector.value.listenerName), listenerRef, signal);
        if (!raw.ok) return raw;
        const listener = decodeListener(raw.value, listenerRef);
        if (!listener.ok) return listener;
        listenerClass = await resolveClass(lookupClass, listener.value.spec.className, listenerRef);
      }
      if (!listenerClass.ok) return listenerClass;
      const topology = createVolumeTopology({ listenerClass: listenerClass.value, preferredTopology });
      created.add(name);
      log.info({ pvc: `${claim.namespace}/${claim.name}`, listenerClass: listenerClass.value.metadata.name, pinned: topology.length > 0 }, 'Volume created');
      return ok({ volume: { volume_id: name, capacity_bytes: 0, volume_context: annotations, accessible_topology: topology } });
    },

    // Nothing to free: the auto-created Listener is owned by the PV and goes with it.
    DeleteVolume: (request) => {
      const args = validateDeleteVolume(request);
      if (!args.ok) return args;
      created.delete(args.value.volumeId);
      return ok({});
    },

    ValidateVolumeCapabilities: async (request, { signal }) => {
      const args = validateValidateVolumeCapabilities(request);
      if (!args.ok) return args;
      const { volumeId, volumeContext, parameters, unsupported } = args.value;
      if (!created.has(volumeId)) {
        const pv = await fetchOptional<PersistentVolume>(client, at(PERSISTENT_VOLUMES, undefined, volumeId), { kind: 'PersistentVolume', name: volumeId }, signal);
        if (!pv.ok) return pv;
        if (pv.value?.spec?.csi?.driver !== DRIVER_NAME) return err({ kind: 'VolumeNotFound', volumeId });
      }
      if (unsupported !== undefined) return ok({ message: unsupported });
      return ok({ confirmed: { volume_context: volumeContext, volume_capabilities: request.volume_capabilities, parameters } });
    },
  };
}
