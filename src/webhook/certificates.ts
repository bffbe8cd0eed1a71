// The conversion webhook's serving certificate: a fresh CA and a leaf for the Service's DNS name,
// as upstream makes them (ECDSA P-256, a 24 h lifetime by default). They are issued by a short-lived
// child process (certificate-worker.ts) so that the X.509 library never stays in the operator's memory.
import { X509Certificate } from 'node:crypto';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface CertificateRequest {
  /** Subject alternative names of the leaf; the first is also its common name. */
  dnsNames: string[];
  caName: string;
  nowMs: number;
  lifetimeMs: number;
}

export interface IssuedCertificate {
  caPem: string;
  certPem: string;
  keyPem: string;
  notBeforeMs: number;
  notAfterMs: number;
}

type WorkerAnswer = { ok: true; cert: IssuedCertificate } | { ok: false; error: string };

const ISSUE_TIMEOUT_MS = 30_000;

// The worker's file sits next to this one, bundled (.js, dist/webhook/) or not (.ts, src/webhook/).
const WORKER_FILE = fileURLToPath(new URL(`./certificate-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

/** Issues a CA and a leaf certificate signed by it, in a child process (bounded: 30 s). */
export async function issueCertificate(req: CertificateRequest): Promise<IssuedCertificate> {
  // No inherited Node.js flags (a test runner's, an inspector's): the child needs none.
  const child = fork(WORKER_FILE, [], { execArgv: [], serialization: 'json', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString('utf8'); });
  try {
    const answer = await new Promise<WorkerAnswer>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`issuing a certificate took longer than ${ISSUE_TIMEOUT_MS} ms`)); }, ISSUE_TIMEOUT_MS);
      child.once('message', (m: WorkerAnswer) => { clearTimeout(timer); resolve(m); });
      child.once('error', (e: unknown) => { clearTimeout(timer); reject(e instanceof Error ? e : new Error(String(e))); });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const last = stderr.trim().split('\n').at(-1) ?? '';
        reject(new Error(`the certificate process (${WORKER_FILE}) exited (${signal ?? String(code)}) without an answer${last === '' ? '' : `: ${last}`}`));
      });
      child.send(req);
    });
    if (!answer.ok) throw new Error(`issuing a certificate failed: ${answer.error}`);
    return answer.cert;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** The certificates of a PEM bundle (a CRD's caBundle), skipping what does not parse. */
export function certificatesOf(bundle: string): X509Certificate[] {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const out: X509Certificate[] = [];
  for (const b of blocks) {
    try {
      out.push(new X509Certificate(b));
    } catch {
      // not a certificate we can read: leave it out of the bundle we write
    }
  }
  return out;
}

/** At most this many CAs are kept in a caBundle (the newest ones). */
export const MAX_BUNDLE_CAS = 8;

/**
 * The caBundle to write: `ours` (the CAs this process serves with: the current one, and during a
 * rotation the next one) plus the still-valid CAs already in the live bundle, so a rotation, or
 * another replica's CA, never leaves a served certificate untrusted; expired ones are dropped,
 * the newest MAX_BUNDLE_CAS kept. Pure: `nowMs` is given.
 */
export function mergeCaBundle(liveBundle: string, ours: readonly string[], nowMs: number): string {
  const byFingerprint = new Map<string, X509Certificate>();
  for (const c of [...certificatesOf(ours.join('\n')), ...certificatesOf(liveBundle)]) {
    if (c.ca && Date.parse(c.validTo) > nowMs) byFingerprint.set(c.fingerprint256, c);
  }
  const oursSet = new Set(certificatesOf(ours.join('\n')).map((c) => c.fingerprint256));
  const kept = [...byFingerprint.values()]
    .sort((a, b) => Number(oursSet.has(b.fingerprint256)) - Number(oursSet.has(a.fingerprint256)) || Date.parse(b.validTo) - Date.parse(a.validTo))
    .slice(0, MAX_BUNDLE_CAS);
  return kept.map((c) => c.toString()).join('');
}
