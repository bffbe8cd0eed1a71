import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../cli/log.ts';
import type { IssuedCertificate } from './certificates.ts';
import { CertificateRotation, rotationDue } from './rotation.ts';

const HOUR = 3_600_000;
// setImmediate is not mocked: awaiting it lets every pending promise callback run.
const flush = (): Promise<void> => new Promise((r) => { setImmediate(r); });

test('rotation is due when less than a sixth of the lifetime is left (4 h of 24 h)', () => {
  const notAfter = 100 * HOUR;
  assert.equal(rotationDue(notAfter, 24 * HOUR, notAfter - 5 * HOUR), false);
  assert.equal(rotationDue(notAfter, 24 * HOUR, notAfter - 4 * HOUR), true);
  assert.equal(rotationDue(notAfter, 24 * HOUR, notAfter + HOUR), true);
});

test('a rotation trusts old and new CA before it serves the new certificate', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  try {
    const cert = (n: number, at: number): IssuedCertificate => ({ caPem: `ca${n}`, certPem: `cert${n}`, keyPem: `key${n}`, notBeforeMs: at, notAfterMs: at + 24 * HOUR });
    const steps: string[] = [];
    let issued = 0;
    const rotation = new CertificateRotation({
      lifetimeMs: 24 * HOUR, checkIntervalMs: 5 * 60_000, log: createLogger('off', 'json'),
      issue: () => { issued++; steps.push(`issue ${issued}`); return Promise.resolve(cert(issued, Date.now())); },
      publish: (cas) => { steps.push(`publish ${cas.join('+')}`); return Promise.resolve(); },
      serve: (c) => { steps.push(`serve ${c.certPem}`); },
    }, cert(0, 0));
    const abort = new AbortController();
    const running = rotation.run(abort.signal);
    // 19 h 55 min: nothing is due yet.
    for (let i = 0; i < 239; i++) { mock.timers.tick(5 * 60_000); await flush(); }
    assert.deepEqual(steps, []);
    // At 20 h the check finds 4 h left: issue, publish both CAs, wait, then serve.
    mock.timers.tick(5 * 60_000);
    await flush();
    assert.deepEqual(steps, ['issue 1', 'publish ca0+ca1']);
    mock.timers.tick(10_000);
    await flush();
    assert.deepEqual(steps, ['issue 1', 'publish ca0+ca1', 'serve cert1']);
    assert.equal(rotation.certificate.certPem, 'cert1');
    abort.abort();
    await running;
  } finally {
    mock.timers.reset();
  }
});

test('a failed publish keeps serving the current certificate and retries at the next check', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  try {
    const served: string[] = [];
    let fail = true;
    const rotation = new CertificateRotation({
      lifetimeMs: 60_000, checkIntervalMs: 1000, log: createLogger('off', 'json'),
      issue: () => Promise.resolve({ caPem: 'caN', certPem: 'certN', keyPem: 'k', notBeforeMs: Date.now(), notAfterMs: Date.now() + 60_000 }),
      publish: () => (fail ? Promise.reject(new Error('403')) : Promise.resolve()),
      serve: (c) => { served.push(c.certPem); },
    }, { caPem: 'ca0', certPem: 'cert0', keyPem: 'k', notBeforeMs: 0, notAfterMs: 10_000 });
    const abort = new AbortController();
    const running = rotation.run(abort.signal);
    mock.timers.tick(1000);
    await flush();
    assert.deepEqual(served, []);
    fail = false;
    mock.timers.tick(1000);
    await flush();
    mock.timers.tick(2500);
    await flush();
    assert.deepEqual(served, ['certN']);
    abort.abort();
    await running;
  } finally {
    mock.timers.reset();
  }
});
