// The parts shared by every kind: API coordinates and the object metadata we read.
import { Type } from 'typebox';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { Plain } from './plain.ts';

/**
 * Metadata as the operator reads it. Only the fields the operator relies on are checked; the
 * static type is the client's V1ObjectMeta as plain JSON.
 * Not part of the CRD schema: Kubernetes owns `metadata` and forbids restricting it.
 */
export const ObjectMetaSchema = Type.Unsafe<Plain<V1ObjectMeta>>(
  Type.Object({
    name: Type.Optional(Type.String()),
    namespace: Type.Optional(Type.String()),
    uid: Type.Optional(Type.String()),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  }),
);

/** `apiVersion`, `kind` and `metadata` of a whole object (list items may lack apiVersion/kind). */
export const objectHeader = {
  apiVersion: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  metadata: ObjectMetaSchema,
};
