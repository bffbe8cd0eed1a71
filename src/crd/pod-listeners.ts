// PodListeners (namespaced): the Listeners a Pod is bound to, by volume name. Written by the CSI
// node service (named `pod-<pod UID>`, owned by the Pod), never by users.
import { Type, type Static } from 'typebox';
import { ListenerIngressSchema } from './listener.ts';
import { nullable, stringEnum, stringMap } from './schema-kit.ts';
import { objectHeader } from './meta.ts';

export const POD_LISTENERS_KIND = 'PodListeners';

export const POD_LISTENER_SCOPES = ['Node', 'Cluster'] as const;
export type PodListenerScope = (typeof POD_LISTENER_SCOPES)[number];

export const PodListenerSchema = Type.Object(
  {
    scope: stringEnum(POD_LISTENER_SCOPES, {
      description: 'Node when the addresses reach this Pod only through its Node (node ports), else Cluster.',
    }),
    ingressAddresses: Type.Optional(
      nullable(Type.Array(ListenerIngressSchema), {
        description: 'Addresses that reach this Pod; the same as the files of its listener volume.',
      }),
    ),
  },
  { description: 'One Listener bound by the Pod.' },
);

export const PodListenersSpecSchema = Type.Object(
  {
    listeners: stringMap(PodListenerSchema, {
      description: 'The Listeners bound by the Pod, by volume name (not PV or PVC name).',
    }),
  },
  { description: 'The Listeners bound by the Pod.' },
);

export const PodListenersCrdSchema = Type.Object(
  { spec: PodListenersSpecSchema },
  { title: POD_LISTENERS_KIND, description: 'The Listeners a Pod is bound to; written by the listener CSI driver.' },
);

/** A whole PodListeners object as the operator reads it. */
export const PodListenersSchema = Type.Object({ ...objectHeader, spec: PodListenersSpecSchema });

export type PodListener = Static<typeof PodListenerSchema>;
export type PodListenersSpec = Static<typeof PodListenersSpecSchema>;
export type PodListeners = Static<typeof PodListenersSchema>;
