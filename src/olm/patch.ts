// What the OLM deployer changes in each manifest before applying it (upstream's olm-deployer:
// env/, owner/, resources/, tolerations/). OLM lets a Subscription configure the env, resources and
// tolerations of the Deployment it runs, which here is the deployer; the deployer hands them on
// to the operator's workloads, and makes its own Deployment the owner of what it created in its
// namespace, so that uninstalling the operator removes it. Pure: objects in, objects out.
import type { JsonMap } from '../core/merge.ts';
import { isRecord } from '../util/is-record.ts';
import type { Manifest } from './manifests.ts';

/** The deployer's container in its Deployment (the name upstream's bundle gives it). */
export const DEPLOYER_CONTAINER = 'listener-operator-deployer';

export interface OwnerRef { apiVersion: string; kind: string; name: string; uid: string }
export interface EnvVar { name: string; [field: string]: unknown }

/** The deployer's Deployment, as far as it is read. */
export interface DeployerDeployment {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; uid: string };
  spec?: { template?: { spec?: { tolerations?: unknown[] | null; containers?: { name: string; env?: EnvVar[] | null; resources?: JsonMap | null }[] } } };
}

/** What is copied from the deployer's Deployment. */
export interface DeployerSources {
  owner: OwnerRef;
  /** Its Pod's tolerations: onto every DaemonSet's Pods (unset or empty: left alone). */
  tolerations: unknown[] | undefined;
  /** Its container's env: into every container of DaemonSets and Deployments, by name. */
  env: EnvVar[] | undefined;
  /** Its container's resources: replace those of every container of DaemonSets and Deployments. */
  resources: JsonMap | undefined;
}

export function deployerSources(d: DeployerDeployment): DeployerSources {
  const pod = d.spec?.template?.spec;
  // The last container of that name, as upstream (rfind).
  const own = [...(pod?.containers ?? [])].reverse().find((c) => c.name === DEPLOYER_CONTAINER);
  const tolerations = pod?.tolerations ?? undefined;
  return {
    owner: { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid },
    tolerations: tolerations !== undefined && tolerations.length > 0 ? tolerations : undefined,
    env: own?.env ?? undefined,
    resources: own?.resources ?? undefined,
  };
}

/**
 * `existing` with each of `add` set by name: a variable of the same name is replaced where it
 * stands, the others are appended. (Upstream appends all; a name listed twice is refused by
 * server-side apply, and the Subscription's value is the one meant to win.)
 */
export function mergeEnv(existing: readonly unknown[], add: readonly EnvVar[]): unknown[] {
  const out = [...existing];
  for (const v of add) {
    const i = out.findIndex((e) => isRecord(e) && e.name === v.name);
    if (i >= 0) out[i] = v;
    else out.push(v);
  }
  return out;
}

type Patched = { object: JsonMap } | { problem: string };

function patchContainers(pod: JsonMap, src: DeployerSources): string | undefined {
  const containers = pod.containers;
  if (!Array.isArray(containers) || containers.length === 0) return 'spec.template.spec.containers is not a list of containers';
  const out: JsonMap[] = [];
  for (const c of containers) {
    if (!isRecord(c)) return 'spec.template.spec.containers holds something other than a container';
    const env = c.env ?? [];
    if (!Array.isArray(env)) return `container ${String(c.name)}: env is not a list`;
    out.push({
      ...c,
      ...(src.env === undefined ? {} : { env: mergeEnv(env, src.env) }),
      ...(src.resources === undefined ? {} : { resources: src.resources }),
    });
  }
  pod.containers = out;
  return undefined;
}

/** The Pod template's spec of a DaemonSet or Deployment (created when missing, as upstream). */
function podSpec(o: JsonMap): JsonMap | undefined {
  const spec = o.spec ?? {};
  if (!isRecord(spec)) return undefined;
  const template = spec.template ?? {};
  if (!isRecord(template)) return undefined;
  const pod = template.spec ?? {};
  if (!isRecord(pod)) return undefined;
  o.spec = { ...spec, template: { ...template, spec: pod } };
  return pod;
}

function patchWorkload(o: JsonMap, kind: string, src: DeployerSources): string | undefined {
  if (kind !== 'DaemonSet' && kind !== 'Deployment') return undefined;
  const pod = podSpec(o);
  if (pod === undefined) return 'spec.template.spec is not an object';
  if (kind === 'DaemonSet' && src.tolerations !== undefined) pod.tolerations = src.tolerations;
  return patchContainers(pod, src);
}

/**
 * The manifest as the deployer applies it: namespaced objects in `namespace` and owned by the
 * deployer's Deployment (cluster-scoped ones never: deleting the deployer must not take the CSI
 * driver or the StorageClass with it, as upstream learnt), DaemonSets with its tolerations, and
 * the containers of DaemonSets and Deployments with its env and resources.
 */
export function patchManifest(m: Manifest, namespaced: boolean, namespace: string, src: DeployerSources): Patched {
  const o = structuredClone(m.object);
  const metadata = isRecord(o.metadata) ? o.metadata : {};
  if (namespaced) {
    if (metadata.namespace !== undefined && metadata.namespace !== namespace) {
      return { problem: `${m.kind} ${m.name}: metadata.namespace is ${JSON.stringify(metadata.namespace)}, but the deployer applies into its own namespace "${namespace}"` };
    }
    const refs: unknown = metadata.ownerReferences ?? [];
    if (!Array.isArray(refs)) return { problem: `${m.kind} ${m.name}: metadata.ownerReferences is not a list` };
    const list = refs as unknown[];
    const owned = list.some((r) => isRecord(r) && r.uid === src.owner.uid);
    o.metadata = { ...metadata, namespace, ownerReferences: owned ? list : [...list, src.owner] };
  }
  const problem = patchWorkload(o, m.kind, src);
  return problem === undefined ? { object: o } : { problem: `${m.kind} ${m.name}: ${problem}` };
}
