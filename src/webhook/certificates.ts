// The conversion webhook's serving certificate: a fresh CA and a leaf for the Service's DNS name,
// as upstream makes them (ECDSA P-256, a 24 h lifetime by default). Built here with Node's own
// crypto (keys, signatures) and a few lines of DER (der.ts): an X.509 library would cost the
// operator about 11 MiB resident for a certificate made once a day (docs/benchmark.md).
import { createHash, generateKeyPair, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { bitString, booleanTrue, explicit, implicitPrimitive, namedBits, octetString, oid, pem, sequence, set, smallInteger, time, unsignedInteger, utf8String } from './der.ts';

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

const generateEcKeyPair = promisify(generateKeyPair);

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};
// KeyUsage bits (RFC 5280 4.2.1.3).
const DIGITAL_SIGNATURE = 0;
const KEY_CERT_SIGN = 5;
const CRL_SIGN = 6;

const signatureAlgorithm = (): Buffer => sequence(oid(OID.ecdsaWithSha256));
const name = (cn: string): Buffer => sequence(set(sequence(oid(OID.commonName), utf8String(cn))));

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [booleanTrue()] : []), octetString(value));
}

/** A positive 127-bit serial number. */
function serial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return unsignedInteger(bytes);
}

/** The subjectPublicKeyInfo of a key, and its key identifier (SHA-1 of the public key bits, RFC 5280 4.2.1.2). */
function publicKeyInfo(key: KeyObject): { spki: Buffer; keyId: Buffer } {
  const spki = key.export({ type: 'spki', format: 'der' });
  // The last element of the SPKI SEQUENCE is the BIT STRING of the key: for P-256 an uncompressed
  // point of 65 bytes, preceded by the unused-bits byte.
  const point = spki.subarray(spki.length - 65);
  return { spki, keyId: createHash('sha1').update(point).digest() };
}

interface Signed { der: Buffer; pem: string }

function certificate(o: { issuer: string; subject: string; notBeforeMs: number; notAfterMs: number; spki: Buffer; extensions: Buffer[]; signer: KeyObject }): Signed {
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    serial(),
    signatureAlgorithm(),
    name(o.issuer),
    sequence(time(o.notBeforeMs), time(o.notAfterMs)),
    name(o.subject),
    o.spki,
    explicit(3, sequence(...o.extensions)),
  );
  // ECDSA signatures come DER-encoded (Ecdsa-Sig-Value), as X.509 wants them.
  const der = sequence(tbs, signatureAlgorithm(), bitString(sign('sha256', tbs, o.signer)));
  return { der, pem: pem('CERTIFICATE', der) };
}

/** Issues a CA and a leaf certificate signed by it. */
export async function issueCertificate(req: CertificateRequest): Promise<IssuedCertificate> {
  const notBeforeMs = req.nowMs - 60_000; // a minute of slack for clocks that are a little behind
  const notAfterMs = req.nowMs + req.lifetimeMs;
  const [ca, leaf] = await Promise.all([generateEcKeyPair('ec', { namedCurve: 'P-256' }), generateEcKeyPair('ec', { namedCurve: 'P-256' })]);
  const caKey = publicKeyInfo(ca.publicKey);
  const caCert = certificate({
    issuer: req.caName, subject: req.caName, notBeforeMs, notAfterMs, spki: caKey.spki, signer: ca.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence(booleanTrue(), smallInteger(0))),
      extension(OID.keyUsage, true, namedBits([KEY_CERT_SIGN, CRL_SIGN])),
      extension(OID.subjectKeyIdentifier, false, octetString(caKey.keyId)),
    ],
  });
  const leafKey = publicKeyInfo(leaf.publicKey);
  const leafCert = certificate({
    issuer: req.caName, subject: req.dnsNames[0] ?? 'webhook', notBeforeMs, notAfterMs, spki: leafKey.spki, signer: ca.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence()),
      extension(OID.keyUsage, true, namedBits([DIGITAL_SIGNATURE])),
      extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, sequence(...req.dnsNames.map((d) => implicitPrimitive(2, Buffer.from(d, 'ascii'))))),
      extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, caKey.keyId))),
    ],
  });
  return {
    caPem: caCert.pem,
    certPem: leafCert.pem,
    keyPem: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    notBeforeMs: Math.floor(notBeforeMs / 1000) * 1000,
    notAfterMs: Math.floor(notAfterMs / 1000) * 1000,
  };
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
