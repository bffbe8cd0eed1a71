// Kubernetes core objects as the CSI decisions see them: plain JSON (see src/crd/plain.ts), so
// object literals, parsed JSON and objects typed with the client's model classes all fit.

import type { V1Node, V1OwnerReference, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { Plain } from '../crd/index.ts';

export type OwnerReference = Plain<V1OwnerReference>;
export type Pod = Plain<V1Pod>;
export type PersistentVolume = Plain<V1PersistentVolume>;
export type PersistentVolumeClaim = Plain<V1PersistentVolumeClaim>;
export type Node = Plain<V1Node>;
