// The OLM deployer's steps against the API server (upstream's olm-deployer, main.rs), in an order
// that writes nothing unless everything can be written: find the deployer's own Deployment, decide
// every object (its resource from discovery, its patched content), dry-run all of them, and only
// then apply them, one by one, in the decided order (manifests.ts). Files are read by the caller.
import type { JsonMap } from '../core/merge.ts';
import type { KubeClient, ResourceRef } from '../k8s/client.ts';
import { ApiDiscovery } from '../k8s/discovery.ts';
import { DEPLOYMENTS, at } from '../k8s/resources.ts';
import { applyOrder, type Manifest, type ManifestProblem } from './manifests.ts';
import { deployerSources, patchManifest, type DeployerDeployment } from './patch.ts';

/** Upstream's field manager, so that objects it applied are taken over without conflicts. */
export const FIELD_MANAGER = 'stkbl-listener-olm-deployer';

/** The deployer's Deployment: owned by the ClusterServiceVersion (OLM's labels), by name (upstream's lookup). */
export async function findDeployer(client: KubeClient, o: { csv: string; deployer: string; namespace: string }, signal?: AbortSignal): Promise<DeployerDeployment> {
  const labelSelector = `olm.owner=${o.csv},olm.owner.kind=ClusterServiceVersion`;
  const owned = (await client.list<DeployerDeployment>(at(DEPLOYMENTS, o.namespace), { labelSelector }, { signal })).items;
  if (owned.length === 0) throw new Error(`no Deployment owned by the ClusterServiceVersion ${o.csv} (labels ${labelSelector}) in namespace ${o.namespace}`);
  const d = owned.find((x) => x.metadata.name === o.deployer);
  if (d === undefined) throw new Error(`no Deployment named ${o.deployer} among those owned by the ClusterServiceVersion ${o.csv} in namespace ${o.namespace} (${owned.map((x) => x.metadata.name).join(', ')})`);
  return d;
}

export interface Planned { manifest: Manifest; ref: ResourceRef; object: JsonMap }

/** Every object as it will be applied, in order, or every problem found (nothing sent yet). */
export async function plan(client: KubeClient, manifests: readonly Manifest[], namespace: string, deployer: DeployerDeployment, signal?: AbortSignal): Promise<{ planned: Planned[]; problems: ManifestProblem[] }> {
  const discovery = new ApiDiscovery(client);
  const src = deployerSources(deployer);
  const planned: Planned[] = [];
  const problems: ManifestProblem[] = [];
  for (const m of applyOrder(manifests)) {
    const kind = await discovery.resolve(m.apiVersion, m.kind, signal);
    if ('problem' in kind) {
      problems.push({ file: m.file, doc: m.doc, reason: `${m.kind} ${m.name}: ${kind.problem}` });
      continue;
    }
    const patched = patchManifest(m, kind.namespaced, namespace, src);
    if ('problem' in patched) problems.push({ file: m.file, doc: m.doc, reason: patched.problem });
    else planned.push({ manifest: m, ref: { ...kind.ref, namespace: kind.namespaced ? namespace : undefined, name: m.name }, object: patched.object });
  }
  return { planned, problems };
}

const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Server-side dry-run of every object: the API server's validation and admission, nothing persisted. */
export async function dryRun(client: KubeClient, planned: readonly Planned[], signal?: AbortSignal): Promise<ManifestProblem[]> {
  const problems: ManifestProblem[] = [];
  for (const p of planned) {
    try {
      await client.apply(p.ref, p.object, FIELD_MANAGER, true, { dryRun: true, signal });
    } catch (e) {
      problems.push({ file: p.manifest.file, doc: p.manifest.doc, reason: `${p.manifest.kind} ${p.manifest.name} refused by the API server: ${reasonOf(e)}` });
    }
  }
  return problems;
}

/**
 * Applies the objects in order (server-side apply, forced, as upstream). A failure after a clean
 * dry-run (the cluster changed in between) stops at that object and says what was applied.
 */
export async function applyAll(client: KubeClient, planned: readonly Planned[], onApplied: (p: Planned) => void, signal?: AbortSignal): Promise<void> {
  const done: string[] = [];
  for (const p of planned) {
    try {
      await client.apply(p.ref, p.object, FIELD_MANAGER, true, { signal });
    } catch (e) {
      throw new Error(`${p.manifest.file}: ${p.manifest.kind} ${p.manifest.name}: ${reasonOf(e)} (applied before it: ${done.join(', ') || 'nothing'})`, { cause: e });
    }
    done.push(`${p.manifest.kind} ${p.manifest.name}`);
    onApplied(p);
  }
}
