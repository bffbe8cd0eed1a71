import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostPort } from './host-port.ts';

test('listen addresses', () => {
  assert.deepEqual(parseHostPort('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 });
  assert.deepEqual(parseHostPort(':8443'), { host: undefined, port: 8443 });
  assert.deepEqual(parseHostPort('[::1]:0'), { host: '::1', port: 0 });
  for (const bad of ['8080', 'host:', 'host:http', 'host:70000', 'host:-1', '']) assert.equal(parseHostPort(bad), undefined, bad);
});
