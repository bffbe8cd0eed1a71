// Kubernetes API objects as the decisions see them: plain JSON (see Plain).
import type {
  V1EndpointSlice,
  V1LoadBalancerIngress,
  V1Node,
  V1NodeAddress,
  V1ObjectMeta,
  V1OwnerReference,
  V1PersistentVolume,
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
export type Node = Plain<V1Node>;
export type NodeAddress = Plain<V1NodeAddress>;
export type PersistentVolume = Plain<V1PersistentVolume>;
export type EndpointSlice = Plain<V1EndpointSlice>;
