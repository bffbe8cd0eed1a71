// The ClusterRole rules of upstream's Helm chart (stackabletech/listener-operator 26.7.0,
// deploy/helm/listener-operator/templates/roles.yaml, rendered with its default values, not on
// OpenShift): the permissions a user who installed upstream's chart has given the operator. A
// drop-in must work with exactly these. Transcribed as data; what differs from ours: v1 Endpoints
// instead of EndpointSlices, no `get` on CRDs (list and watch only), more verbs than we use.
import type { RbacRule } from './helm.ts';

export const UPSTREAM_CLUSTER_ROLE_RULES: readonly RbacRule[] = [
  { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['persistentvolumes'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['nodes', 'persistentvolumeclaims', 'endpoints'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['nodes/proxy'], verbs: ['get'] },
  { apiGroups: ['storage.k8s.io'], resources: ['csinodes', 'storageclasses'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['listeners.stackable.tech'], resources: ['listenerclasses'], verbs: ['patch', 'get', 'list', 'watch', 'create'] },
  { apiGroups: ['listeners.stackable.tech'], resources: ['listeners'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: ['listeners.stackable.tech'], resources: ['listeners/status'], verbs: ['patch'] },
  { apiGroups: ['listeners.stackable.tech'], resources: ['listeners/finalizers'], verbs: ['update'] },
  { apiGroups: ['listeners.stackable.tech'], resources: ['podlisteners'], verbs: ['create', 'patch'] },
  { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['create', 'patch', 'list', 'watch'] },
];
