// Every Kubernetes API permission the operator needs, with who needs it and why: the machine-readable
// source the Helm chart's RBAC is checked against (test/integration/rbac.test.ts). That test
// fails when the chart's ClusterRole grants anything not listed here (or in SIDECAR_PERMISSIONS),
// when it misses anything listed, and when a call in src/ uses a resource or verb not listed here.
// Add a row in the same change as the call that needs it.

/**
 * RBAC verbs, as the API server authorizes requests (server-side apply is `patch`, and also
 * `create` when it creates); `use` is checked by OpenShift's SCC admission.
 */
export type RbacVerb = 'get' | 'list' | 'watch' | 'create' | 'patch' | 'update' | 'delete' | 'use';

export type Component = 'controller' | 'csi-controller' | 'csi-node' | 'external-provisioner' | 'pods' | 'olm-deployer' | 'helm-test';

export interface Permission {
  /** API group; '' is the core group. */
  group: string;
  /** Plural resource name, `resource/subresource` for a subresource. */
  resource: string;
  verbs: readonly RbacVerb[];
  who: Component;
  why: string;
  /**
   * Set when no call in src/ makes this request: the reason it is still needed (an admission
   * plugin, or a contract need of code that is being written).
   */
  notInCode?: string;
  /** Set when the chart deliberately does not grant it (a feature the chart leaves off). */
  notGranted?: string;
  /**
   * Set when the chart grants it only with some values: `crd-maintenance` while
   * maintenance.customResourceDefinitions.maintain is true, `cluster-domain-detection` while
   * kubernetesClusterDomain is unset, `openshift` where the API has security.openshift.io/v1.
   */
  grantedWhen?: 'crd-maintenance' | 'cluster-domain-detection' | 'openshift';
  /**
   * Set when the chart grants it on named objects only (RBAC resourceNames): which ones. The RBAC
   * test accepts resourceNames on this row alone, and only naming exactly these objects.
   */
  onlyNamed?: 'the chart\'s SecurityContextConstraints';
}

export const PERMISSIONS: readonly Permission[] = [
  // Listener controller (src/controller)
  { group: 'listeners.stackable.tech', resource: 'listeners', verbs: ['list', 'watch'], who: 'controller', why: 'cache of the Listeners it reconciles' },
  { group: 'listeners.stackable.tech', resource: 'listeners/status', verbs: ['patch'], who: 'controller', why: 'Listener status (server-side apply)' },
  {
    group: 'listeners.stackable.tech', resource: 'listeners/finalizers', verbs: ['update'], who: 'controller',
    why: 'the Service\'s owner reference to its Listener sets blockOwnerDeletion',
    notInCode: 'checked by the OwnerReferencesPermissionEnforcement admission plugin (on in OpenShift), not requested',
  },
  { group: 'listeners.stackable.tech', resource: 'listenerclasses', verbs: ['list', 'watch'], who: 'controller', why: 'cache of the ListenerClasses' },
  { group: 'listeners.stackable.tech', resource: 'listenerclasses', verbs: ['create'], who: 'controller', why: 'preset ListenerClasses created at start when missing' },
  { group: '', resource: 'services', verbs: ['list', 'watch'], who: 'controller', why: 'cache of the Services it manages (label-selected)' },
  { group: '', resource: 'services', verbs: ['get'], who: 'controller', why: 'a same-named Service outside the cache must not be someone else\'s' },
  { group: '', resource: 'services', verbs: ['patch', 'create'], who: 'controller', why: 'server-side apply of each Listener\'s Service (create when it is new)' },
  { group: 'discovery.k8s.io', resource: 'endpointslices', verbs: ['list', 'watch'], who: 'controller', why: 'Nodes of the ready endpoints of NodePort Listeners' },
  {
    group: '', resource: 'endpoints', verbs: ['list', 'watch'], who: 'controller', why: 'the same, where EndpointSlices are forbidden (upstream\'s chart grants only v1 Endpoints)',
    notGranted: 'our chart grants EndpointSlices (v1 Endpoints are deprecated since Kubernetes 1.33)',
  },
  { group: '', resource: 'persistentvolumes', verbs: ['list', 'watch'], who: 'controller', why: 'PVs labelled for a Listener: the Nodes it is pinned to' },
  { group: '', resource: 'nodes', verbs: ['list', 'watch'], who: 'controller', why: 'addresses of the Nodes behind NodePort Listeners' },
  { group: 'events.k8s.io', resource: 'events', verbs: ['create'], who: 'controller', why: 'events on Listeners (errors, with the reason)' },
  {
    group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', verbs: ['list', 'create', 'patch'], who: 'controller',
    why: 'CRD maintenance: server-side apply of the CRDs with the conversion webhook\'s CA bundle (create and patch); their live CA bundle and Established condition, read by name (list: upstream\'s chart grants no get)',
    grantedWhen: 'crd-maintenance',
  },
  {
    group: '', resource: 'nodes/proxy', verbs: ['get'], who: 'controller', why: 'the cluster domain from its Node\'s kubelet (configz)',
    grantedWhen: 'cluster-domain-detection',
  },
  {
    group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'create', 'update'], who: 'controller', why: 'leader election (--leader-elect)',
    notGranted: 'the chart runs one controller replica with the Recreate strategy and leaves --leader-elect off',
  },

  // OpenShift: both Pods run under SecurityContextConstraints of their own (the chart's).
  {
    group: 'security.openshift.io', resource: 'securitycontextconstraints', verbs: ['use'], who: 'pods',
    why: 'OpenShift admits the node Pod (hostPaths, root without capabilities) and the controller Pod (non-root) under their own SecurityContextConstraints',
    notInCode: 'checked by OpenShift\'s SCC admission when the Pods are created, never requested',
    grantedWhen: 'openshift', onlyNamed: 'the chart\'s SecurityContextConstraints',
  },

  // The OLM deployer (`olm-deployer`): it also applies every manifest of its bundle, whatever their
  // kinds; those permissions come with the bundle (its ClusterServiceVersion), not from this chart.
  {
    group: 'apps', resource: 'deployments', verbs: ['list'], who: 'olm-deployer',
    why: 'its own Deployment (owned by the ClusterServiceVersion): the env, resources and tolerations it hands on, and the owner of what it applies',
    notGranted: 'the OLM deployer runs under the ServiceAccount its bundle gives it, not the chart\'s',
  },

  // The chart's `helm test` check (src/cli/chart-tests.ts), as the operator's ServiceAccount.
  { group: 'storage.k8s.io', resource: 'csinodes', verbs: ['get'], who: 'helm-test', why: 'whether the kubelet of the Node the check runs on has registered the driver' },

  // CSI controller service: CreateVolume (contract, "CreateVolume")
  { group: '', resource: 'persistentvolumeclaims', verbs: ['get'], who: 'csi-controller', why: 'the PVC\'s annotations choose the listener' },
  { group: 'listeners.stackable.tech', resource: 'listenerclasses', verbs: ['get'], who: 'csi-controller', why: 'the class decides the volume\'s topology' },
  { group: 'listeners.stackable.tech', resource: 'listeners', verbs: ['get'], who: 'csi-controller', why: 'the class of a Listener named by a PVC' },
  { group: '', resource: 'persistentvolumes', verbs: ['get'], who: 'csi-controller', why: 'ValidateVolumeCapabilities: whether the volume exists (NOT_FOUND otherwise)' },

  // CSI node service: NodePublishVolume (contract, "NodePublishVolume")
  { group: '', resource: 'persistentvolumes', verbs: ['get', 'patch'], who: 'csi-node', why: 'reads the volume\'s PV and labels it with its Listener' },
  { group: '', resource: 'persistentvolumeclaims', verbs: ['get'], who: 'csi-node', why: 'the PV\'s claim' },
  { group: '', resource: 'pods', verbs: ['get', 'patch'], who: 'csi-node', why: 'reads the Pod and adds its mount label' },
  { group: '', resource: 'nodes', verbs: ['get'], who: 'csi-node', why: 'the addresses of its own Node' },
  { group: 'listeners.stackable.tech', resource: 'listeners', verbs: ['get', 'create'], who: 'csi-node', why: 'the volume\'s Listener, created for listener-class volumes' },
  { group: 'listeners.stackable.tech', resource: 'listenerclasses', verbs: ['get'], who: 'csi-node', why: 'the class of the volume\'s Listener (address type)' },
  { group: 'listeners.stackable.tech', resource: 'podlisteners', verbs: ['create', 'patch'], who: 'csi-node', why: 'the Pod\'s PodListeners (created, then merge-patched)' },
];

/**
 * The external-provisioner sidecar (v6, flags --feature-gates=Topology=true
 * --extra-create-metadata, no leader election, no capacity tracking), after its
 * deploy/kubernetes/rbac.yaml. Left out: volumeattachments (only watched for drivers with
 * PUBLISH_UNPUBLISH_VOLUME, which this one does not have), volume snapshots (none), leases (no
 * leader election), csistoragecapacities (no capacity tracking). The node-driver-registrar uses
 * no Kubernetes API.
 */
export const SIDECAR_PERMISSIONS: readonly Permission[] = [
  { group: '', resource: 'persistentvolumes', verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'], who: 'external-provisioner', why: 'provisions and deletes the PVs' },
  { group: '', resource: 'persistentvolumeclaims', verbs: ['get', 'list', 'watch', 'update'], who: 'external-provisioner', why: 'the claims it serves (annotations, finalizers)' },
  { group: 'storage.k8s.io', resource: 'storageclasses', verbs: ['get', 'list', 'watch'], who: 'external-provisioner', why: 'the StorageClass of each claim' },
  { group: '', resource: 'events', verbs: ['list', 'watch', 'create', 'update', 'patch'], who: 'external-provisioner', why: 'events on claims (core/v1 event recorder)' },
  { group: 'storage.k8s.io', resource: 'csinodes', verbs: ['get', 'list', 'watch'], who: 'external-provisioner', why: 'topology (Topology feature)' },
  { group: '', resource: 'nodes', verbs: ['get', 'list', 'watch'], who: 'external-provisioner', why: 'topology (Topology feature)' },
];

/** `group/resource:verb` keys of a set of permissions (the unit the checks compare). */
export function permissionKeys(perms: readonly Permission[]): Set<string> {
  const keys = new Set<string>();
  for (const p of perms) for (const v of p.verbs) keys.add(permissionKey(p.group, p.resource, v));
  return keys;
}

export function permissionKey(group: string, resource: string, verb: string): string {
  return `${group === '' ? 'core' : group}/${resource}:${verb}`;
}
