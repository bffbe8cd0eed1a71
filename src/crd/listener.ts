// Listener (namespaced, status subresource): exposes the Pods that mount it, as its class says.
import { Type, type Static } from 'typebox';
import { ADDRESS_TYPES } from './listener-class.ts';
import { freeForm, int32, mapList, nullable, stringEnum, stringMap } from './schema-kit.ts';
import { objectHeader } from './meta.ts';

export const LISTENER_KIND = 'Listener';

/** Defaults of the optional scalar Listener fields (see LISTENER_CLASS_DEFAULTS for why here). */
export const LISTENER_DEFAULTS = {
  publishNotReadyAddresses: true,
} as const;

export const ListenerPortSchema = Type.Object({
  name: Type.String({ description: 'Name of the port; unique within the Listener.' }),
  port: int32({ description: 'Port number on the backing Pods.' }),
  protocol: Type.Optional(
    nullable(Type.String(), { description: 'Layer-4 protocol (TCP, UDP or SCTP); TCP when unset.' }),
  ),
});

export const ListenerSpecSchema = Type.Object(
  {
    className: Type.Optional(nullable(Type.String(), { description: 'Name of the ListenerClass to use.' })),
    ports: Type.Optional(
      nullable(Type.Array(ListenerPortSchema), { description: 'Ports exposed from the backing Pods.' }),
    ),
    extraPodSelectorLabels: Type.Optional(
      stringMap(Type.String(), {
        description: 'Extra labels a Pod must carry to receive traffic (it must still mount the Listener).',
        default: {},
      }),
    ),
    publishNotReadyAddresses: Type.Optional(
      nullable(Type.Boolean(), {
        description: 'Also route traffic to Pods that are not Ready (an explicit null means false).',
        default: LISTENER_DEFAULTS.publishNotReadyAddresses,
      }),
    ),
    objectOverrides: Type.Optional(
      Type.Array(freeForm({ description: 'A (partial) Kubernetes object.' }), {
        description:
          'Objects merged into the objects created for this Listener whose apiVersion, kind, namespace and name match.',
        default: [],
      }),
    ),
  },
  { description: 'Which Pods to expose, on which ports, through which ListenerClass.' },
);

export const ListenerIngressSchema = Type.Object(
  {
    address: Type.String({ description: 'Hostname or IP address.' }),
    addressType: stringEnum(ADDRESS_TYPES, { description: 'Kind of address: Hostname or IP.' }),
    ports: stringMap(int32({ description: 'Exposed port number.' }), {
      description: 'Exposed port number per port name.',
    }),
  },
  { description: 'One address the Listener can be reached on.' },
);

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

/** A standard Kubernetes condition (metav1.Condition). */
export const ListenerConditionSchema = Type.Object(
  {
    type: Type.String({ description: 'Type of the condition; `Ready` says whether the Listener can be reached.' }),
    status: stringEnum(CONDITION_STATUSES, { description: 'True, False or Unknown.' }),
    reason: Type.String({ description: 'UpperCamelCase reason for the last transition.' }),
    message: Type.String({ description: 'Human-readable details.' }),
    lastTransitionTime: Type.String({ format: 'date-time', description: 'When the status last changed.' }),
    observedGeneration: Type.Optional(Type.Integer({ format: 'int64', description: 'The Listener generation this condition describes.' })),
  },
  { description: 'One aspect of the Listener\'s state.' },
);

export const ListenerStatusSchema = Type.Object(
  {
    ingressAddresses: Type.Optional(
      nullable(Type.Array(ListenerIngressSchema), {
        description: 'Every address the Listener can be reached on, with the exposed port numbers.',
      }),
    ),
    nodePorts: Type.Optional(
      nullable(stringMap(int32({ description: 'Node port.' }), { description: 'Node port per port name.' }), {
        description: 'Node port per port name; set only when the class uses NodePort.',
      }),
    ),
    serviceName: Type.Optional(nullable(Type.String(), { description: 'Name of the backing Service.' })),
    // Keyed by type for server-side apply: the operator owns `Ready`; conditions other field
    // managers apply next to it are theirs, and our status writes keep them.
    conditions: Type.Optional(
      nullable(mapList(ListenerConditionSchema, ['type']), {
        description: 'Conditions of the Listener (beyond upstream): `Ready` is True once it has an address, else False with the reason.',
      }),
    ),
  },
  { description: 'How the Listener can be reached.' },
);

export const ListenerCrdSchema = Type.Object(
  {
    spec: ListenerSpecSchema,
    status: Type.Optional(nullable(ListenerStatusSchema, { description: 'How the Listener can be reached.' })),
  },
  { title: LISTENER_KIND, description: 'Exposes a set of Pods that mount a listener volume, as its ListenerClass says.' },
);

/** A whole Listener object as the operator reads it. */
export const ListenerSchema = Type.Object({
  ...objectHeader,
  spec: ListenerSpecSchema,
  status: Type.Optional(nullable(ListenerStatusSchema, { description: 'How the Listener can be reached.' })),
});

export type ListenerPort = Static<typeof ListenerPortSchema>;
export type ListenerSpec = Static<typeof ListenerSpecSchema>;
export type ListenerIngress = Static<typeof ListenerIngressSchema>;
export type ListenerStatus = Static<typeof ListenerStatusSchema>;
export type ListenerCondition = Static<typeof ListenerConditionSchema>;
export type Listener = Static<typeof ListenerSchema>;
