// Names fixed by the compatibility contract (../shared/design/contract.md). Other Stackable
// operators depend on every one of these strings: never change them.

export const API_GROUP = 'listeners.stackable.tech';
export const API_VERSION = 'v1alpha1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/** CSI plugin name, CSIDriver and StorageClass name. */
export const DRIVER_NAME = 'listeners.stackable.tech';

/** PVC annotations choosing how a listener volume is served (exactly one must be set). */
export const ANNOTATION_LISTENER_CLASS = 'listeners.stackable.tech/listener-class';
export const ANNOTATION_LISTENER_NAME = 'listeners.stackable.tech/listener-name';

/** PV labels that tie a volume to its Listener (the controller finds pinned Nodes by them). */
export const LABEL_PV_LISTENER_NAMESPACE = 'listeners.stackable.tech/listener-namespace';
export const LABEL_PV_LISTENER_NAME = 'listeners.stackable.tech/listener-name';

/** Prefix of the Pod label the Service selects on; note the singular `listener.` (compatibility). */
export const POD_MOUNT_LABEL_PREFIX = 'listener.stackable.tech/mnt.';

/** CSI topology key and the nodeAffinity key on pinned PVs. */
export const TOPOLOGY_KEY_HOSTNAME = 'listeners.stackable.tech/hostname';

/** Labels the operator puts on every Service it manages. */
export const LABEL_APP_NAME = 'app.kubernetes.io/name';
export const LABEL_APP_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_APP_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const APP_NAME = 'listener';
export const MANAGED_BY = 'listeners.stackable.tech_listener';

/** Set by the EndpointSlice controller on every slice: the Service it belongs to. */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

/** Keys the external-provisioner (--extra-create-metadata) and kubelet (podInfoOnMount) add. */
export const PARAM_PVC_NAME = 'csi.storage.k8s.io/pvc/name';
export const PARAM_PVC_NAMESPACE = 'csi.storage.k8s.io/pvc/namespace';
export const CTX_POD_NAME = 'csi.storage.k8s.io/pod.name';
export const CTX_POD_NAMESPACE = 'csi.storage.k8s.io/pod.namespace';
export const CTX_POD_UID = 'csi.storage.k8s.io/pod.uid';

/** Field manager for every server-side apply the operator makes. */
export const FIELD_MANAGER = 'listeners.stackable.tech';

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** PodListeners objects are named `pod-<Pod UID>`. */
export const POD_LISTENERS_NAME_PREFIX = 'pod-';

/** The file tree a listener volume holds (read by every Stackable product). */
export const POD_DIR_ADDRESSES = 'addresses';
export const POD_DIR_DEFAULT_ADDRESS = 'default-address';
