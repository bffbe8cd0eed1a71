// The resources the operator reads or writes (and nothing else: RBAC is checked against this).
import { API_GROUP, API_VERSION } from '../constants.ts';
import type { ResourceRef } from './client.ts';

type Kind = Pick<ResourceRef, 'group' | 'version' | 'plural'>;

export const LISTENERS: Kind = { group: API_GROUP, version: API_VERSION, plural: 'listeners' };
export const LISTENER_CLASSES: Kind = { group: API_GROUP, version: API_VERSION, plural: 'listenerclasses' };
export const POD_LISTENERS: Kind = { group: API_GROUP, version: API_VERSION, plural: 'podlisteners' };
export const SERVICES: Kind = { group: '', version: 'v1', plural: 'services' };
export const NODES: Kind = { group: '', version: 'v1', plural: 'nodes' };
export const PODS: Kind = { group: '', version: 'v1', plural: 'pods' };
export const PERSISTENT_VOLUMES: Kind = { group: '', version: 'v1', plural: 'persistentvolumes' };
export const PERSISTENT_VOLUME_CLAIMS: Kind = { group: '', version: 'v1', plural: 'persistentvolumeclaims' };
export const EVENTS: Kind = { group: 'events.k8s.io', version: 'v1', plural: 'events' };
export const ENDPOINT_SLICES: Kind = { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices' };
/** Only where EndpointSlices are forbidden (upstream's chart grants v1 Endpoints alone). */
export const ENDPOINTS: Kind = { group: '', version: 'v1', plural: 'endpoints' };
export const CRDS: Kind = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };
export const NAMESPACES: Kind = { group: '', version: 'v1', plural: 'namespaces' };
export const LEASES: Kind = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };
/** Only the chart's `helm test` check (src/cli/chart-tests.ts). */
export const CSI_NODES: Kind = { group: 'storage.k8s.io', version: 'v1', plural: 'csinodes' };
/** Only the OLM deployer: its own Deployment. */
export const DEPLOYMENTS: Kind = { group: 'apps', version: 'v1', plural: 'deployments' };

export function at(kind: Kind, namespace: string | undefined, name?: string, subresource?: string): ResourceRef {
  return { ...kind, namespace, name, subresource };
}
