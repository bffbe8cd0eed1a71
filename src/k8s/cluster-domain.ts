// The cluster's DNS domain, read as upstream reads it when KUBERNETES_CLUSTER_DOMAIN is unset: from
// the kubelet of our own Node, through the API server's node proxy
// (GET /api/v1/nodes/<node>/proxy/configz → kubeletconfig.clusterDomain; RBAC: nodes/proxy get).
//
// When that fails we stop rather than guess `cluster.local`: a wrong domain would not fail
// loudly, it would put wrong hostnames into every ClusterIP Listener's status and into the files
// of every Pod that mounts one. A short, bounded retry covers a kubelet that is still starting.
import { domainNameError } from '../core/names.ts';
import { sleep } from '../util/sleep.ts';
import { resourcePath, type KubeClient, type ResourceRef } from './client.ts';
import { NODES, at } from './resources.ts';

export interface ClusterDomainOptions {
  client: KubeClient;
  nodeName: string;
  /** Attempts before giving up (default 3) and the pause between them (default 1 s). */
  attempts?: number;
  retryDelayMs?: number;
  signal?: AbortSignal;
  onRetry?: (attempt: number, reason: string) => void;
}

/** Why configz did not give a usable domain; the message names the Node and the reason. */
export class ClusterDomainError extends Error {}

/** The clusterDomain of a kubelet's configz answer, validated (pure). */
export function clusterDomainFromConfigz(nodeName: string, body: unknown): string {
  const kubelet = typeof body === 'object' && body !== null && 'kubeletconfig' in body ? body.kubeletconfig : undefined;
  const domain = typeof kubelet === 'object' && kubelet !== null && 'clusterDomain' in kubelet ? kubelet.clusterDomain : undefined;
  if (typeof domain !== 'string' || domain === '') {
    throw new ClusterDomainError(`the kubelet of Node ${nodeName} reports no kubeletconfig.clusterDomain in its configz`);
  }
  const invalid = domainNameError(domain);
  if (invalid !== undefined) throw new ClusterDomainError(`the kubelet of Node ${nodeName} reports the cluster domain ${JSON.stringify(domain)}, which ${invalid}`);
  return domain;
}

/** GET <node>/proxy/configz: the kubelet's configuration, through the API server. */
function fetchKubeletConfigz(client: KubeClient, nodeProxy: ResourceRef, signal?: AbortSignal): Promise<unknown> {
  return client.request<unknown>('get', 'GET', `${resourcePath(nodeProxy)}/configz`, { signal });
}

export async function detectClusterDomain(o: ClusterDomainOptions): Promise<string> {
  const attempts = o.attempts ?? 3;
  const nodeProxy = at(NODES, undefined, o.nodeName, 'proxy');
  const path = `${resourcePath(nodeProxy)}/configz`;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const body = await fetchKubeletConfigz(o.client, nodeProxy, o.signal);
      return clusterDomainFromConfigz(o.nodeName, body);
    } catch (e) {
      if (e instanceof ClusterDomainError) throw e; // an answer we cannot use does not improve with retries
      last = e instanceof Error ? e.message : String(e);
      if (o.signal?.aborted === true || attempt === attempts) break;
      o.onRetry?.(attempt, last);
      await sleep(o.retryDelayMs ?? 1000, o.signal);
    }
  }
  throw new ClusterDomainError(`cannot read the cluster domain from the kubelet of Node ${o.nodeName} (${path}): ${last}`);
}
