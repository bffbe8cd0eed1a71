// The Service a Listener should have: a value for server-side apply, built from the Listener and
// its class, with the class's `serviceOverrides` and then the Listener's matching
// `objectOverrides` merged over it last.
import { APP_NAME, LABEL_APP_INSTANCE, LABEL_APP_MANAGED_BY, LABEL_APP_NAME, MANAGED_BY } from '../constants.ts';
import type { ListenerClass } from '../crd/listener-class.ts';
import { LISTENER_CLASS_DEFAULTS } from '../crd/listener-class.ts';
import type { Listener } from '../crd/listener.ts';
import { LISTENER_DEFAULTS } from '../crd/listener.ts';
import type { ObjectMeta, OwnerReference, Service, ServiceSpec } from './kube.ts';
import { mergeServiceOverride, type JsonMap } from './merge.ts';
import { isRecord } from '../util/is-record.ts';
import { labelValueFor, mountLabel, serviceNameFor } from './names.ts';
import { listenerOwnerReference } from './ownership.ts';
import { buildServicePorts, validateServicePorts } from './ports.ts';

export interface DesiredServiceMeta extends ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  ownerReferences: OwnerReference[];
}

/** A Service as applied by the operator: always a v1 Service with name, namespace and owner. */
export interface DesiredService extends Service {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: DesiredServiceMeta;
  spec: ServiceSpec;
}

export type BuildServiceResult =
  | { ok: true; value: DesiredService }
  | { ok: false; error: string; errors: string[] };

interface ListenerIdentity {
  name: string;
  namespace: string;
  uid: string;
}

function identityOf(listener: Listener): ListenerIdentity | string[] {
  const { name, namespace, uid } = listener.metadata;
  const missing = [
    ...(name ? [] : ['metadata.name']),
    ...(namespace ? [] : ['metadata.namespace']),
    ...(uid ? [] : ['metadata.uid']),
  ];
  if (!name || !namespace || !uid) return missing.map((field) => `the Listener has no ${field}`);
  return { name, namespace, uid };
}

/** Explicit null means false (as upstream's `unwrap_or_default`); unset means the default, true. */
function publishNotReadyAddresses(listener: Listener): boolean {
  const value = listener.spec.publishNotReadyAddresses;
  return value === undefined ? LISTENER_DEFAULTS.publishNotReadyAddresses : value === true;
}

function buildSpec(listener: Listener, id: ListenerIdentity, listenerClass: Pick<ListenerClass, 'spec'>): ServiceSpec {
  const cls = listenerClass.spec;
  const type = cls.serviceType;
  const mount = mountLabel(id.name, id.uid);
  const spec: ServiceSpec = {
    type,
    ports: buildServicePorts(listener.spec.ports),
    selector: { ...listener.spec.extraPodSelectorLabels, [mount.key]: mount.value },
    publishNotReadyAddresses: publishNotReadyAddresses(listener),
  };
  // ClusterIP Services have no external traffic to apply a policy to.
  if ((type === 'NodePort' || type === 'LoadBalancer') && cls.serviceExternalTrafficPolicy != null) {
    spec.externalTrafficPolicy = cls.serviceExternalTrafficPolicy;
  }
  if (type === 'LoadBalancer') {
    if (cls.loadBalancerClass != null) spec.loadBalancerClass = cls.loadBalancerClass;
    spec.allocateLoadBalancerNodePorts = cls.loadBalancerAllocateNodePorts ?? LISTENER_CLASS_DEFAULTS.loadBalancerAllocateNodePorts;
  }
  return spec;
}

function buildGenerated(listener: Listener, id: ListenerIdentity, listenerClass: Pick<ListenerClass, 'spec'>): DesiredService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: serviceNameFor(id.name),
      namespace: id.namespace,
      // The operator's identifying labels win over same-named labels of the Listener.
      labels: {
        ...listener.metadata.labels,
        [LABEL_APP_NAME]: APP_NAME,
        [LABEL_APP_INSTANCE]: labelValueFor(id.name),
        [LABEL_APP_MANAGED_BY]: MANAGED_BY,
      },
      annotations: { ...listenerClass.spec.serviceAnnotations },
      ownerReferences: [listenerOwnerReference(id.name, id.uid)],
    },
    spec: buildSpec(listener, id, listenerClass),
  };
}

/** An objectOverrides entry applies to the Service iff apiVersion, kind, namespace and name match. */
function targetsService(override: JsonMap, service: DesiredService): boolean {
  const meta = isRecord(override.metadata) ? override.metadata : {};
  return (
    override.apiVersion === service.apiVersion &&
    override.kind === service.kind &&
    meta.namespace === service.metadata.namespace &&
    meta.name === service.metadata.name
  );
}

function isStringMap(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}

/**
 * Puts back what overrides must not change, because the controller could no longer find, own or
 * safely apply the Service otherwise: apiVersion, kind, name, namespace, our controller owner
 * reference, and the managed-by label its Service and EndpointSlice caches select on (without it
 * the Service would vanish from the cache and every reconcile would GET and apply it again).
 * `status` is dropped (the API server ignores it on apply anyway).
 */
function pinIdentity(merged: JsonMap, generated: DesiredService, id: ListenerIdentity): JsonMap {
  const rest = { ...merged };
  delete rest.status;
  const meta = isRecord(rest.metadata) ? rest.metadata : {};
  const ours = listenerOwnerReference(id.name, id.uid);
  const refs = Array.isArray(meta.ownerReferences) ? (meta.ownerReferences as unknown[]) : [];
  const others = refs.filter((r) => !(isRecord(r) && r.uid === ours.uid));
  // Labels that are not a map are left for shapeProblems to report.
  const labels = isRecord(meta.labels) ? { ...meta.labels, [LABEL_APP_MANAGED_BY]: MANAGED_BY } : meta.labels;
  return {
    ...rest,
    apiVersion: generated.apiVersion,
    kind: generated.kind,
    metadata: {
      ...meta,
      name: generated.metadata.name,
      namespace: generated.metadata.namespace,
      labels,
      ownerReferences: [ours, ...others],
    },
  };
}

function shapeProblems(service: JsonMap): string[] {
  const meta = isRecord(service.metadata) ? service.metadata : {};
  return [
    ...(isStringMap(meta.labels) ? [] : ['the overrides make metadata.labels something else than a map of strings']),
    ...(isStringMap(meta.annotations) ? [] : ['the overrides make metadata.annotations something else than a map of strings']),
    ...(isRecord(service.spec) ? [] : ['the overrides make spec something else than an object']),
  ];
}

function failure(errors: string[]): BuildServiceResult {
  return { ok: false, error: errors.join('; '), errors };
}

/**
 * The desired Service of a Listener, or what is wrong with the Listener (missing identity, ports
 * the API server would reject, overrides that break the Service's shape). The caller has already
 * resolved the class (a missing `className` or class is its error to report). The Service is named
 * `serviceNameFor(listener name)`.
 */
export function buildService(
  listener: Listener,
  listenerClass: Pick<ListenerClass, 'spec'>,
): BuildServiceResult {
  const id = identityOf(listener);
  if (Array.isArray(id)) return failure(id);
  const portErrors = validateServicePorts(buildServicePorts(listener.spec.ports));
  if (portErrors.length > 0) return failure(portErrors);

  const generated = buildGenerated(listener, id, listenerClass);
  let merged: JsonMap = mergeServiceOverride(generated as unknown as JsonMap, listenerClass.spec.serviceOverrides ?? {});
  for (const override of listener.spec.objectOverrides ?? []) {
    if (targetsService(override, generated)) merged = mergeServiceOverride(merged, override);
  }
  const pinned = pinIdentity(merged, generated, id);
  const problems = shapeProblems(pinned);
  if (problems.length > 0) return failure(problems);
  return { ok: true, value: pinned as unknown as DesiredService };
}
