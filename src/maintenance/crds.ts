// CRD maintenance (`run controller` unless DISABLE_CRD_MAINTENANCE), as upstream's operator does it
// since the chart stopped shipping the CRDs: server-side apply the three CRDs, each pointing its
// conversion at our webhook (`/convert/<crd name>` on port 8443 of OPERATOR_SERVICE_NAME in
// OPERATOR_NAMESPACE) and trusting the CA of the certificate the webhook serves; again on every
// certificate rotation; then wait until the API server serves them (Established).
//
// The field manager is upstream's own name, and the apply is forced as upstream's is: whoever
// installed the CRDs before (upstream's operator, our earlier chart, stackablectl), we become the
// owner of every field we set, and a switch from upstream's operator drops the fields only it set.
//
// Reads use `list` with a name selector, not `get`: upstream's chart grants list and watch on
// CRDs, not get, and this must work under upstream's chart unchanged.
import type { Logger } from '../cli/log.ts';
import { buildCrds, type JsonObject } from '../crd/index.ts';
import type { KubeClient } from '../k8s/client.ts';
import { CRDS, at } from '../k8s/resources.ts';
import { sleep } from '../util/sleep.ts';
import { mergeCaBundle } from '../webhook/certificates.ts';

export const CRD_FIELD_MANAGER = 'listener-operator';

export interface ConversionService {
  name: string;
  namespace: string;
  port: number;
}

interface LiveCrd {
  metadata: { name: string };
  spec?: { conversion?: { webhook?: { clientConfig?: { caBundle?: string } } } };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** The CRD as we apply it: ours, converted by our webhook, trusting `caBundlePem` (pure). */
export function withConversion(crd: JsonObject, service: ConversionService, caBundlePem: string): JsonObject {
  const name = (crd.metadata as { name: string }).name;
  return {
    ...crd,
    spec: {
      ...(crd.spec as JsonObject),
      conversion: {
        strategy: 'Webhook',
        webhook: {
          // The API server sends the first version of this list it understands; v1 only keeps the
          // webhook simple (as upstream's).
          conversionReviewVersions: ['v1'],
          clientConfig: {
            service: { name: service.name, namespace: service.namespace, path: `/convert/${name}`, port: service.port },
            caBundle: Buffer.from(caBundlePem).toString('base64'),
          },
        },
      },
    },
  };
}

const crdName = (crd: JsonObject): string => (crd.metadata as { name: string }).name;

export interface CrdMaintainerOptions {
  client: KubeClient;
  service: ConversionService;
  log: Logger;
  now?: () => number;
}

export class CrdMaintainer {
  private readonly o: CrdMaintainerOptions;

  constructor(o: CrdMaintainerOptions) {
    this.o = o;
  }

  private async live(name: string, signal?: AbortSignal): Promise<LiveCrd | undefined> {
    const list = await this.o.client.list<LiveCrd>(at(CRDS, undefined), { fieldSelector: `metadata.name=${name}` }, { signal });
    return list.items[0];
  }

  /**
   * Applies the three CRDs, trusting `ourCas` (PEM) plus the CAs still valid in each live bundle
   * (a rotation in progress, another replica's).
   */
  async apply(ourCas: readonly string[], signal?: AbortSignal): Promise<void> {
    const now = (this.o.now ?? Date.now)();
    for (const crd of buildCrds()) {
      const name = crdName(crd);
      const live = await this.live(name, signal);
      const liveBundle = Buffer.from(live?.spec?.conversion?.webhook?.clientConfig?.caBundle ?? '', 'base64').toString('utf8');
      const bundle = mergeCaBundle(liveBundle, ourCas, now);
      await this.o.client.apply(at(CRDS, undefined, name), withConversion(crd, this.o.service, bundle), CRD_FIELD_MANAGER, true, { signal });
      this.o.log.info({ crd: name, installed: live === undefined ? 'now' : 'before', cas: bundle.split('-----BEGIN').length - 1 }, 'Applied CRD');
    }
  }

  /** Resolves once the API server serves all three CRDs; fails with their conditions after `timeoutMs`. */
  async waitEstablished(signal: AbortSignal, timeoutMs = 60_000): Promise<void> {
    await waitCrdsEstablished(this.o.client, signal, timeoutMs);
  }
}

/** Whether a CRD's conditions say it is served; else a description of them. */
function establishedOr(crd: LiveCrd | undefined): true | string {
  if (crd === undefined) return 'not installed';
  const conditions = crd.status?.conditions ?? [];
  if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) return true;
  return conditions.map((c) => `${c.type}=${c.status}${c.message !== undefined ? ` (${c.message})` : ''}`).join(', ') || 'no conditions yet';
}

/**
 * Resolves once the API server serves our three CRDs (every one Established), polling with a name
 * selector (list permission only); fails after `timeoutMs` with what their conditions say.
 */
export async function waitCrdsEstablished(client: KubeClient, signal: AbortSignal, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const names = buildCrds().map(crdName);
  while (!signal.aborted) {
    const states: string[] = [];
    for (const name of names) {
      const list = await client.list<LiveCrd>(at(CRDS, undefined), { fieldSelector: `metadata.name=${name}` }, { signal });
      const state = establishedOr(list.items[0]);
      if (state !== true) states.push(`${name}: ${state}`);
    }
    if (states.length === 0) return;
    if (Date.now() > deadline) throw new Error(`the CRDs are not Established after ${timeoutMs} ms: ${states.join('; ')}`);
    await sleep(250, signal);
  }
}
