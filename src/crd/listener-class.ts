// ListenerClass (cluster scoped): how the Listeners of a class are exposed. Set up by the admin.
import { Type, type Static } from 'typebox';
import { GROUP_VERSION } from '../constants.ts';
import { freeForm, nullable, stringEnum, stringMap } from './schema-kit.ts';
import { objectHeader } from './meta.ts';

export const LISTENER_CLASS_KIND = 'ListenerClass';

export const SERVICE_TYPES = ['NodePort', 'LoadBalancer', 'ClusterIP'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export const ADDRESS_TYPES = ['Hostname', 'IP'] as const;
export type AddressType = (typeof ADDRESS_TYPES)[number];

export const PREFERRED_ADDRESS_TYPES = ['Hostname', 'IP', 'HostnameConservative'] as const;
export type PreferredAddressType = (typeof PREFERRED_ADDRESS_TYPES)[number];

export const TRAFFIC_POLICIES = ['Cluster', 'Local'] as const;
export type TrafficPolicy = (typeof TRAFFIC_POLICIES)[number];

/**
 * Defaults of the optional scalar ListenerClass fields, in one place: the CRD schema declares them
 * (so the API server fills them in) and the decisions in src/core fall back to them for objects
 * that were never defaulted. (Map and object fields default to empty, which needs no constant.)
 */
export const LISTENER_CLASS_DEFAULTS = {
  loadBalancerAllocateNodePorts: true,
  preferredAddressType: 'HostnameConservative',
  pinnedNodePorts: false,
} as const satisfies { preferredAddressType: PreferredAddressType } & Record<string, unknown>;

export const ListenerClassSpecSchema = Type.Object(
  {
    serviceType: stringEnum(SERVICE_TYPES, {
      description: 'Type of the Service created for each Listener of this class.',
    }),
    serviceAnnotations: Type.Optional(
      stringMap(Type.String(), {
        description: 'Annotations copied onto the Service.',
        default: {},
      }),
    ),
    serviceExternalTrafficPolicy: Type.Optional(
      nullable(stringEnum(TRAFFIC_POLICIES, { description: 'externalTrafficPolicy of the Service.' }), {
        description: 'externalTrafficPolicy of the Service; only used for NodePort and LoadBalancer.',
      }),
    ),
    loadBalancerClass: Type.Optional(
      nullable(Type.String(), { description: 'loadBalancerClass of the Service; only used for LoadBalancer.' }),
    ),
    loadBalancerAllocateNodePorts: Type.Optional(
      Type.Boolean({
        description:
          'Whether a LoadBalancer Service also allocates node ports (allocateLoadBalancerNodePorts); only used for LoadBalancer.',
        default: LISTENER_CLASS_DEFAULTS.loadBalancerAllocateNodePorts,
      }),
    ),
    preferredAddressType: Type.Optional(
      stringEnum(PREFERRED_ADDRESS_TYPES, {
        description:
          'Which kind of address to report: Hostname, IP, or HostnameConservative (IP for NodePort, Hostname otherwise). The other kind is used when the preferred one is missing.',
        default: LISTENER_CLASS_DEFAULTS.preferredAddressType,
      }),
    ),
    pinnedNodePorts: Type.Optional(
      Type.Boolean({
        description:
          'Only with NodePort: pin each listener volume (and so its Pod) to the Node it was first scheduled on, so that its address stays stable.',
        default: LISTENER_CLASS_DEFAULTS.pinnedNodePorts,
      }),
    ),
    serviceOverrides: Type.Optional(
      freeForm({
        description: 'A partial Service deep-merged over the generated Service, last.',
        default: { apiVersion: 'v1', kind: 'Service', metadata: {} },
      }),
    ),
  },
  { description: 'How the Listeners of this class are exposed.' },
);

/** The CRD's openAPIV3Schema (before conversion): what Kubernetes stores. */
export const ListenerClassCrdSchema = Type.Object(
  { spec: ListenerClassSpecSchema },
  { title: LISTENER_CLASS_KIND, description: 'A policy for how Listeners are exposed; set up by the cluster administrator.' },
);

/** A whole ListenerClass object as the operator reads it. */
export const ListenerClassSchema = Type.Object({ ...objectHeader, spec: ListenerClassSpecSchema });

export type ListenerClassSpec = Static<typeof ListenerClassSpecSchema>;
export type ListenerClass = Static<typeof ListenerClassSchema>;

export const LISTENER_CLASS_API_VERSION = GROUP_VERSION;
