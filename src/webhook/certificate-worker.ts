// Runs as a child process (certificates.ts forks it): takes a request over IPC, issues a CA and a
// leaf certificate signed by it, sends them back, and exits. The X.509 library (and the global
// `Reflect` metadata polyfill it needs) lives only as long as this process, so the operator never
// holds it: a rotation happens once a day. A process rather than a worker thread because a
// terminated worker leaves its heap's pages behind in the operator (15 MiB resident, measured:
// docs/benchmark.md); an exited process returns all of them.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import type { CertificateRequest, IssuedCertificate } from './certificates.ts';

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // a positive INTEGER
  return bytes.toString('hex');
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

async function issue(req: CertificateRequest): Promise<IssuedCertificate> {
  x509.cryptoProvider.set(webcrypto);
  const notBefore = new Date(req.nowMs - 60_000); // a minute of slack for clocks that are a little behind
  const notAfter = new Date(req.nowMs + req.lifetimeMs);
  const caKeys = await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: `CN=${req.caName}`, notBefore, notAfter, keys: caKeys, signingAlgorithm: ECDSA,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = await webcrypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${req.dnsNames[0] ?? 'webhook'}`, issuer: ca.subject, notBefore, notAfter,
    publicKey: leafKeys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: ECDSA,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(req.dnsNames.map((value) => ({ type: 'dns' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  return {
    caPem: ca.toString('pem') + '\n',
    certPem: leaf.toString('pem') + '\n',
    keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey)),
    notBeforeMs: notBefore.getTime(),
    notAfterMs: notAfter.getTime(),
  };
}

function reply(answer: unknown): void {
  // Exits once the answer is written: nothing else keeps this process.
  if (process.send === undefined) process.exit(2); // not started over IPC
  process.send(answer, () => { process.exit(0); });
}

process.once('message', (req: CertificateRequest) => {
  issue(req).then(
    (cert) => { reply({ ok: true, cert }); },
    (e: unknown) => { reply({ ok: false, error: e instanceof Error ? e.message : String(e) }); },
  );
});
