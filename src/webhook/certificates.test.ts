import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { MAX_BUNDLE_CAS, certificatesOf, issueCertificate, mergeCaBundle } from './certificates.ts';

const HOUR = 3_600_000;
const issue = (nowMs: number, lifetimeMs = 24 * HOUR): ReturnType<typeof issueCertificate> =>
  issueCertificate({ dnsNames: ['lo.ns.svc', 'lo.ns.svc.cluster.local'], caName: 'test CA', nowMs, lifetimeMs });

test('an issued leaf names the Service, is signed by its CA, and lives as long as asked', async () => {
  const now = Date.now();
  const c = await issue(now, 2 * HOUR);
  const ca = new X509Certificate(c.caPem);
  const leaf = new X509Certificate(c.certPem);
  assert.equal(ca.ca, true);
  assert.equal(leaf.ca, false);
  assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
  assert.equal(leaf.subjectAltName, 'DNS:lo.ns.svc, DNS:lo.ns.svc.cluster.local');
  assert.ok(Math.abs(Date.parse(leaf.validTo) - (now + 2 * HOUR)) < 2000);
  assert.equal(c.notAfterMs, now + 2 * HOUR);
  assert.match(c.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
});

test('the CA bundle: ours first, still-valid CAs of the live bundle kept, expired and unreadable ones dropped', async () => {
  const now = Date.now();
  const [ours, other, expired] = await Promise.all([issue(now), issue(now - HOUR), issue(now - 3 * HOUR, HOUR)]);
  const live = `${other.caPem}-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n${expired.caPem}${ours.caPem}`;
  const merged = certificatesOf(mergeCaBundle(live, [ours.caPem], now));
  assert.deepEqual(merged.map((c) => c.fingerprint256), [new X509Certificate(ours.caPem).fingerprint256, new X509Certificate(other.caPem).fingerprint256]);
  // A leaf is not a CA and never goes into the bundle.
  assert.equal(certificatesOf(mergeCaBundle(ours.certPem, [], now)).length, 0);
});

test('the CA bundle keeps at most the newest MAX_BUNDLE_CAS', async () => {
  const now = Date.now();
  const cas = await Promise.all(Array.from({ length: MAX_BUNDLE_CAS + 2 }, (_, i) => issue(now - i * 60_000)));
  const merged = certificatesOf(mergeCaBundle(cas.slice(1).map((c) => c.caPem).join(''), [cas[0]?.caPem ?? ''], now));
  assert.equal(merged.length, MAX_BUNDLE_CAS);
  assert.equal(merged[0]?.fingerprint256, new X509Certificate(cas[0]?.caPem ?? '').fingerprint256, 'ours first');
  assert.ok(!merged.some((c) => c.fingerprint256 === new X509Certificate(cas.at(-1)?.caPem ?? '').fingerprint256), 'the oldest dropped');
});
