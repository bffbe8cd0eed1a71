// The OLM deployer's manifests: the documents of the files in its directory, read and checked before
// anything is sent, and the order they are applied in. Pure: files in, documents or problems out.
import { parseAllDocuments } from 'yaml';
import type { JsonMap } from '../core/merge.ts';
import { isRecord } from '../util/is-record.ts';

/** One document of a manifest file. */
export interface Manifest {
  /** The file, as given (for error messages). */
  file: string;
  /** Its position among the file's documents, from 1. */
  doc: number;
  apiVersion: string;
  kind: string;
  name: string;
  object: JsonMap;
}

/** What is wrong with a file or one of its documents. */
export interface ManifestProblem { file: string; doc?: number; reason: string }

export function describe(p: ManifestProblem): string {
  return `${p.file}${p.doc === undefined ? '' : ` (document ${p.doc})`}: ${p.reason}`;
}

function checkDocument(file: string, doc: number, value: unknown): Manifest | ManifestProblem {
  if (!isRecord(value)) return { file, doc, reason: `a document must be a Kubernetes object (a mapping), got ${Array.isArray(value) ? 'a list' : typeof value}` };
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || apiVersion === '') return { file, doc, reason: 'apiVersion is missing' };
  if (typeof kind !== 'string' || kind === '') return { file, doc, reason: 'kind is missing' };
  const name = isRecord(metadata) ? metadata.name : undefined;
  if (typeof name !== 'string' || name === '') return { file, doc, reason: `${kind}: metadata.name is missing` };
  return { file, doc, apiVersion, kind, name, object: value };
}

/** The documents of one file (empty documents skipped), or why it cannot be used. */
export function parseManifestFile(file: string, text: string): { manifests: Manifest[]; problems: ManifestProblem[] } {
  const manifests: Manifest[] = [];
  const problems: ManifestProblem[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true });
  if (!Array.isArray(docs)) return { manifests, problems: [{ file, reason: 'not YAML' }] };
  docs.forEach((d, i) => {
    const doc = i + 1;
    const error = d.errors[0];
    if (error !== undefined) {
      problems.push({ file, doc, reason: `not valid YAML: ${error.message.split('\n')[0] ?? ''}` });
      return;
    }
    const value: unknown = d.toJS();
    if (value === null || value === undefined) return;
    const m = checkDocument(file, doc, value);
    if ('object' in m) manifests.push(m);
    else problems.push(m);
  });
  return { manifests, problems };
}

/**
 * The order of kinds: what others refer to first (definitions, the SCCs Pods are admitted under,
 * identities, permissions, configuration, the CSI driver and its StorageClass, the Service), the
 * workloads last, so that their Pods start with everything they need in place; kinds not listed
 * go between the two. Helm's install order, with SecurityContextConstraints and CSIDriver added.
 */
const KIND_ORDER = [
  'CustomResourceDefinition', 'Namespace', 'PriorityClass', 'SecurityContextConstraints', 'ServiceAccount', 'Secret', 'ConfigMap',
  'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'CSIDriver', 'StorageClass', 'Service',
];
const WORKLOADS = ['DaemonSet', 'Pod', 'ReplicaSet', 'Deployment', 'StatefulSet', 'Job', 'CronJob'];

function rank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  if (i >= 0) return i;
  const w = WORKLOADS.indexOf(kind);
  return w >= 0 ? KIND_ORDER.length + 1 + w : KIND_ORDER.length;
}

/** The apply order: by kind (above), then file, then position in the file; stable. */
export function applyOrder(manifests: readonly Manifest[]): Manifest[] {
  return [...manifests].sort((a, b) => rank(a.kind) - rank(b.kind) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.doc - b.doc);
}

/** The same object twice (apiVersion group, kind, namespace, name) is a problem: which one would win? */
export function duplicates(manifests: readonly Manifest[]): ManifestProblem[] {
  const seen = new Map<string, Manifest>();
  const problems: ManifestProblem[] = [];
  for (const m of manifests) {
    const ns = isRecord(m.object.metadata) ? m.object.metadata.namespace : undefined;
    const key = `${m.apiVersion.split('/').slice(0, -1).join('/')}|${m.kind}|${typeof ns === 'string' ? ns : ''}|${m.name}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, m);
    else problems.push({ file: m.file, doc: m.doc, reason: `${m.kind} ${m.name} is also in ${first.file} (document ${first.doc})` });
  }
  return problems;
}
