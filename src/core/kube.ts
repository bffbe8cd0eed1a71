// Kubernetes API objects as the decisions see them: plain JSON (see Plain).
import type {
  V1EndpointConditions,
  V1LoadBalancerIngress,
  V1NodeAddress,
  V1ObjectMeta,
  V1OwnerReference,
  V1VolumeNodeAffinity,
  V1Service,
  V1ServicePort,
  V1ServiceSpec,
} from '@kubernetes/client-node';
import type { Plain } from '../crd/plain.ts';

export type { Plain };

export type ObjectMeta = Plain<V1ObjectMeta>;
export type OwnerReference = Plain<V1OwnerReference>;
export type Service = Plain<V1Service>;
export type ServiceSpec = Plain<V1ServiceSpec>;
export type ServicePort = Plain<V1ServicePort>;
export type LoadBalancerIngress = Plain<V1LoadBalancerIngress>;
export type NodeAddress = Plain<V1NodeAddress>;

// Nodes, PersistentVolumes and EndpointSlices as the decisions read them: only the fields used,
// so that the controller's caches can keep no more than that (whole objects are assignable).
/** A Node's addresses. */
export interface Node { metadata?: { name?: string | undefined } | undefined; status?: { addresses?: NodeAddress[] | undefined } | undefined }
/** Where a PersistentVolume is pinned. */
export interface PersistentVolume { spec?: { nodeAffinity?: Plain<V1VolumeNodeAffinity> | undefined } | undefined }
/** Where an EndpointSlice's endpoints run, and whether they are ready. */
export interface EndpointSlice {
  endpoints?: { nodeName?: string | undefined; conditions?: Pick<Plain<V1EndpointConditions>, 'ready'> | undefined }[] | null | undefined;
}
