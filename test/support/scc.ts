// OpenShift's SecurityContextConstraints, for tests on a plain API server: the fixture CRD that
// makes the kind served (test/fixtures/openshift), and a model of SCC admission for the fields
// the chart's Pods use, to show which SCC would admit which Pod. The model is not OpenShift: it
// follows the documented strategies (volumes, host access, privileged, capabilities, runAsUser,
// SELinux, read-only root, privilege escalation, seccomp) and treats OpenShift's defaulting (an
// unset field is filled in from the SCC) as admitting.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import type { KubeClient } from '../../src/k8s/client.ts';
import { CRDS, at } from '../../src/k8s/resources.ts';
import { eventually } from './k8s.ts';

export const SCC_CRD_FILE = path.join(import.meta.dirname, '..', 'fixtures', 'openshift', 'securitycontextconstraints-crd.yaml');
export const SCC_CRD = 'securitycontextconstraints.security.openshift.io';
export const SCCS = { group: 'security.openshift.io', version: 'v1', plural: 'securitycontextconstraints' };

/** Installs the fixture CRD (idempotent: other test files may too) and waits until it is served. */
export async function installSccCrd(client: KubeClient): Promise<void> {
  const crd = parse(await readFile(SCC_CRD_FILE, 'utf8')) as object;
  await client.apply(at(CRDS, undefined, SCC_CRD), crd, 'listener-operator-tests', true);
  await eventually(`CRD ${SCC_CRD} established`, async () => {
    const c = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(at(CRDS, undefined, SCC_CRD));
    return c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True') === true ? true : undefined;
  });
}

export interface Scc {
  metadata: { name: string };
  allowHostDirVolumePlugin: boolean;
  allowHostIPC: boolean;
  allowHostNetwork: boolean;
  allowHostPID: boolean;
  allowHostPorts: boolean;
  allowPrivilegedContainer: boolean;
  allowPrivilegeEscalation?: boolean | null;
  allowedCapabilities: string[] | null;
  requiredDropCapabilities: string[] | null;
  readOnlyRootFilesystem: boolean;
  runAsUser: { type: string; uid?: number; uidRangeMin?: number; uidRangeMax?: number } | null;
  seLinuxContext: { type: string; seLinuxOptions?: Record<string, string> } | null;
  seccompProfiles: string[] | null;
  volumes: string[] | null;
}

interface SecurityContext {
  runAsUser?: number;
  runAsNonRoot?: boolean;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seLinuxOptions?: Record<string, string> | null;
  seccompProfile?: { type: string };
}
export interface PodSpecLike {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  automountServiceAccountToken?: boolean;
  securityContext?: SecurityContext;
  containers: { name: string; securityContext?: SecurityContext; ports?: { hostPort?: number }[] }[];
  volumes?: Record<string, unknown>[];
}

const SECCOMP = { RuntimeDefault: 'runtime/default', Unconfined: 'unconfined', Localhost: 'localhost/*' } as Record<string, string>;

type Check = (scc: Scc, sc: SecurityContext, c: PodSpecLike['containers'][number]) => string | undefined;

/** The runAsUser strategies (an unset uid is filled in by MustRunAs, so it admits). */
const RUN_AS: Record<string, (s: NonNullable<Scc['runAsUser']>, uid: number | undefined, nonRoot: boolean | undefined) => string | undefined> = {
  RunAsAny: () => undefined,
  MustRunAs: (s, uid) => (uid === undefined || uid === s.uid ? undefined : `runs as ${uid}, the SCC requires ${s.uid ?? '?'}`),
  MustRunAsNonRoot: (_s, uid, nonRoot) => (uid === 0 || (uid === undefined && nonRoot !== true) ? `runs as ${uid ?? 'the image\'s user'}, the SCC requires a non-root uid` : undefined),
  MustRunAsRange: (s, uid) => (uid !== undefined && (uid < (s.uidRangeMin ?? Infinity) || uid > (s.uidRangeMax ?? -Infinity)) ? `runs as ${uid}, outside the SCC's range` : undefined),
};

const CHECKS: Check[] = [
  (scc, sc) => (sc.privileged === true && !scc.allowPrivilegedContainer ? 'privileged' : undefined),
  (scc, sc) => {
    const bad = (sc.capabilities?.add ?? []).filter((cap) => !(scc.allowedCapabilities ?? []).includes(cap) || (scc.requiredDropCapabilities ?? []).includes(cap));
    return bad.length > 0 ? `adds capabilities ${bad.join(', ')}` : undefined;
  },
  (scc, sc) => (scc.runAsUser === null ? undefined : (RUN_AS[scc.runAsUser.type] ?? (() => `unknown runAsUser strategy ${scc.runAsUser?.type ?? ''}`))(scc.runAsUser, sc.runAsUser, sc.runAsNonRoot)),
  (scc, sc) => {
    const se = sc.seLinuxOptions;
    const mustRunAs = scc.seLinuxContext?.type === 'MustRunAs';
    return mustRunAs && se !== undefined && se !== null && JSON.stringify(se) !== JSON.stringify(scc.seLinuxContext?.seLinuxOptions ?? {}) ? `SELinux options ${JSON.stringify(se)}` : undefined;
  },
  (scc, sc) => (scc.readOnlyRootFilesystem && sc.readOnlyRootFilesystem === false ? 'a writable root filesystem' : undefined),
  (scc, sc) => (scc.allowPrivilegeEscalation === false && sc.allowPrivilegeEscalation === true ? 'privilege escalation' : undefined),
  (scc, sc) => {
    const p = sc.seccompProfile === undefined ? undefined : SECCOMP[sc.seccompProfile.type];
    return p !== undefined && !(scc.seccompProfiles ?? []).some((x) => x === '*' || x === p) ? `seccomp ${p}` : undefined;
  },
  (scc, _sc, c) => ((c.ports ?? []).some((p) => p.hostPort !== undefined) && !scc.allowHostPorts ? 'host ports' : undefined),
];

function containerRefusals(scc: Scc, pod: PodSpecLike, c: PodSpecLike['containers'][number]): string[] {
  const sc = { ...pod.securityContext, ...c.securityContext };
  return CHECKS.map((check) => check(scc, sc, c)).filter((x): x is string => x !== undefined).map((x) => `container ${c.name}: ${x}`);
}

/** Why this SCC would refuse the Pod; empty when it would admit it. */
export function sccRefusals(scc: Scc, pod: PodSpecLike): string[] {
  const r: string[] = [];
  // The ServiceAccount admission adds the token as a projected volume.
  const kinds = [...(pod.volumes ?? []).flatMap((v) => Object.keys(v).filter((k) => k !== 'name')), ...(pod.automountServiceAccountToken === false ? [] : ['projected'])];
  for (const k of new Set(kinds)) {
    if (!(scc.volumes ?? []).some((v) => v === '*' || v === k)) r.push(`volume type ${k}`);
  }
  if (kinds.includes('hostPath') && !scc.allowHostDirVolumePlugin) r.push('hostPath volumes (allowHostDirVolumePlugin)');
  if (pod.hostNetwork === true && !scc.allowHostNetwork) r.push('host network');
  if (pod.hostPID === true && !scc.allowHostPID) r.push('host PID');
  if (pod.hostIPC === true && !scc.allowHostIPC) r.push('host IPC');
  for (const c of pod.containers) r.push(...containerRefusals(scc, pod, c));
  return r;
}
