import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { issueCertificate } from './certificates.ts';
import { namedBits, oid, time, unsignedInteger } from './der.ts';

const NOW = Date.parse('2026-06-01T12:00:00.250Z');

test('DER building blocks: OID, INTEGER sign byte, named bits, UTCTime and GeneralizedTime', () => {
  assert.equal(oid('1.2.840.10045.4.3.2').toString('hex'), '06082a8648ce3d040302');
  assert.equal(unsignedInteger(Buffer.from([0x80])).toString('hex'), '02020080', 'a high first bit gets a 0 byte');
  assert.equal(unsignedInteger(Buffer.from([0, 0, 5])).toString('hex'), '020105', 'leading zeros dropped');
  assert.equal(namedBits([5, 6]).toString('hex'), '03020106', 'keyCertSign | cRLSign, one unused bit');
  assert.equal(namedBits([0]).toString('hex'), '03020780', 'digitalSignature, seven unused bits');
  assert.equal(time(NOW).toString('ascii', 2), '260601120000Z');
  assert.equal(time(Date.parse('2051-01-02T03:04:05Z')).toString('ascii', 2), '20510102030405Z');
});

test('the CA and the leaf parse, chain, and carry what the API server checks', async () => {
  const dns = ['listener-operator.stackable.svc', 'listener-operator.stackable.svc.cluster.local'];
  const c = await issueCertificate({ dnsNames: dns, caName: 'listener-operator webhook CA host-1', nowMs: NOW, lifetimeMs: 24 * 3_600_000 });
  const ca = new X509Certificate(c.caPem);
  const leaf = new X509Certificate(c.certPem);
  assert.equal(ca.ca, true);
  assert.equal(leaf.ca, false);
  assert.equal(ca.subject, 'CN=listener-operator webhook CA host-1');
  assert.equal(leaf.subject, `CN=${dns[0]}`);
  assert.equal(leaf.issuer, ca.subject);
  assert.ok(ca.verify(ca.publicKey), 'the CA is self-signed');
  assert.ok(leaf.verify(ca.publicKey), 'the CA signed the leaf');
  assert.ok(leaf.checkIssued(ca));
  assert.equal(leaf.subjectAltName, dns.map((d) => `DNS:${d}`).join(', '));
  for (const d of dns) assert.equal(leaf.checkHost(d), d);
  assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extended key usage: serverAuth');
  assert.equal(Date.parse(leaf.validFrom), Math.floor((NOW - 60_000) / 1000) * 1000);
  assert.equal(Date.parse(leaf.validTo), Math.floor((NOW + 24 * 3_600_000) / 1000) * 1000);
  assert.equal(c.notAfterMs, Date.parse(leaf.validTo));
  // The private key belongs to the leaf.
  assert.ok(leaf.checkPrivateKey(createPrivateKey(c.keyPem)));
  assert.equal(createPublicKey(c.keyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.notEqual(ca.serialNumber, leaf.serialNumber);
});

test('a TLS client that trusts only the CA accepts the leaf for the Service name', async (t) => {
  const name = 'listener-operator.default.svc';
  const c = await issueCertificate({ dnsNames: [name], caName: 'test CA', nowMs: Date.now(), lifetimeMs: 3_600_000 });
  const server = tls.createServer({ cert: c.certPem, key: c.keyPem }, (s) => { s.end('ok'); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => { server.close(); });
  const port = (server.address() as AddressInfo).port;
  const socket = tls.connect({ host: '127.0.0.1', port, servername: name, ca: c.caPem });
  t.after(() => { socket.destroy(); });
  const [data] = await once(socket, 'data') as [Buffer];
  assert.equal(data.toString(), 'ok');
  assert.equal(socket.authorized, true);
  // And a different name is refused.
  const wrong = tls.connect({ host: '127.0.0.1', port, servername: 'other.default.svc', ca: c.caPem });
  t.after(() => { wrong.destroy(); });
  const [err] = await once(wrong, 'error') as [Error & { code?: string }];
  assert.equal(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
});
