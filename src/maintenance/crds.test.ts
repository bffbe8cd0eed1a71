import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCrds } from '../crd/index.ts';
import { withConversion } from './crds.ts';

test('each CRD as applied: unchanged but for the conversion through our webhook, trusting the bundle', () => {
  for (const crd of buildCrds()) {
    const name = (crd.metadata as { name: string }).name;
    const applied = withConversion(crd, { name: 'lo', namespace: 'ops', port: 8443 }, '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    const spec = applied.spec as Record<string, unknown>;
    assert.deepEqual(spec.conversion, {
      strategy: 'Webhook',
      webhook: {
        conversionReviewVersions: ['v1'],
        clientConfig: {
          service: { name: 'lo', namespace: 'ops', path: `/convert/${name}`, port: 8443 },
          caBundle: Buffer.from('-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n').toString('base64'),
        },
      },
    });
    const { conversion, ...rest } = spec;
    assert.ok(conversion !== undefined);
    assert.deepEqual({ ...applied, spec: rest }, crd, `${name}: nothing else changes`);
  }
});
