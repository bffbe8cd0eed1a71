// API discovery: which resource (plural) serves a kind of an apiVersion, and whether it is
// namespaced, as the API server itself reports it (GET /api/v1, /apis/<group>/<version>). Used by
// the OLM deployer, which applies manifests of any kind. One request per apiVersion, remembered.
import { isNotFound, type KubeClient, type ResourceRef } from './client.ts';

interface ApiResourceList { resources: { name: string; kind: string; namespaced: boolean }[] }

export interface ResolvedKind { ref: Pick<ResourceRef, 'group' | 'version' | 'plural'>; namespaced: boolean }

export class ApiDiscovery {
  private readonly lists = new Map<string, Promise<ApiResourceList | undefined>>();
  private readonly client: KubeClient;

  constructor(client: KubeClient) {
    this.client = client;
  }

  private list(apiVersion: string, signal?: AbortSignal): Promise<ApiResourceList | undefined> {
    let p = this.lists.get(apiVersion);
    if (p === undefined) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      p = this.client.request<ApiResourceList>('get', 'GET', path, { signal }).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        this.lists.delete(apiVersion); // a failed request is not an answer: ask again next time
        throw e;
      });
      this.lists.set(apiVersion, p);
    }
    return p;
  }

  /** The resource of `kind` in `apiVersion`, or why there is none. */
  async resolve(apiVersion: string, kind: string, signal?: AbortSignal): Promise<ResolvedKind | { problem: string }> {
    const list = await this.list(apiVersion, signal);
    if (list === undefined) return { problem: `the API server does not serve ${apiVersion}` };
    // Subresources (pods/status) report their parent's kind: skip them.
    const r = list.resources.find((x) => x.kind === kind && !x.name.includes('/'));
    if (r === undefined) return { problem: `the API server serves no kind ${kind} in ${apiVersion}` };
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
    return { ref: { group: group ?? '', version: version ?? '', plural: r.name }, namespaced: r.namespaced };
  }
}
