import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { describeError, formatCauseChain, formatRef, quote, toGrpcStatus, type CsiError } from './errors.ts';

const pvc = { kind: 'PersistentVolumeClaim', namespace: 'ns', name: 'data' };
const listener = { kind: 'Listener', namespace: 'ns', name: 'web' };
const pv = { kind: 'PersistentVolume', name: 'pvc-1234' };
const pod = { kind: 'Pod', namespace: 'ns', name: 'web-0' };

// One sample per kind; the Record type makes a forgotten kind a compile error here too.
const table: { [K in CsiError['kind']]: { error: Extract<CsiError, { kind: K }>; code: status; mentions: string[] } } = {
  MissingField: { error: { kind: 'MissingField', field: 'volume_id' }, code: status.INVALID_ARGUMENT, mentions: ['volume_id', 'missing'] },
  InvalidField: { error: { kind: 'InvalidField', field: 'name', value: 5, reason: 'must be a string' }, code: status.INVALID_ARGUMENT, mentions: ['name', 'must be a string'] },
  UnsupportedCapability: { error: { kind: 'UnsupportedCapability', field: 'volume_capability', reason: 'raw block access is not supported' }, code: status.INVALID_ARGUMENT, mentions: ['volume_capability', 'block'] },
  InvalidListenerSelector: { error: { kind: 'InvalidListenerSelector', source: pvc, reason: 'neither is set' }, code: status.INVALID_ARGUMENT, mentions: ['"ns/data"', 'neither is set'] },
  InvalidPodInfo: { error: { kind: 'InvalidPodInfo', source: pv, reason: 'pod.name is missing' }, code: status.INVALID_ARGUMENT, mentions: ['pvc-1234', 'pod.name'] },
  InvalidTargetPath: { error: { kind: 'InvalidTargetPath', targetPath: 'rel/path', reason: 'must be an absolute path' }, code: status.INVALID_ARGUMENT, mentions: ['"rel/path"', 'absolute'] },
  GetObject: { error: { kind: 'GetObject', ref: pvc, cause: new Error('connection refused') }, code: status.UNAVAILABLE, mentions: ['failed to get PersistentVolumeClaim "ns/data"', 'connection refused'] },
  WriteObject: { error: { kind: 'WriteObject', ref: listener, action: 'create', cause: new Error('forbidden') }, code: status.UNAVAILABLE, mentions: ['failed to create Listener "ns/web"', 'forbidden'] },
  VolumeNotFound: { error: { kind: 'VolumeNotFound', volumeId: 'pvc-x' }, code: status.NOT_FOUND, mentions: ['"pvc-x"', 'does not exist'] },
  ListenerClassNotFound: { error: { kind: 'ListenerClassNotFound', listenerClass: { kind: 'ListenerClass', name: 'nope' }, via: listener }, code: status.FAILED_PRECONDITION, mentions: ['ListenerClass "nope"', 'Listener "ns/web"'] },
  ListenerHasNoClass: { error: { kind: 'ListenerHasNoClass', listener }, code: status.FAILED_PRECONDITION, mentions: ['Listener "ns/web"', 'className'] },
  InvalidObject: { error: { kind: 'InvalidObject', ref: listener, reason: 'Listener ns/web is invalid: spec.ports[0].port: must be integer' }, code: status.FAILED_PRECONDITION, mentions: ['Listener "ns/web"', 'spec.ports[0].port'] },
  ForeignListener: { error: { kind: 'ForeignListener', listener, volume: pv }, code: status.FAILED_PRECONDITION, mentions: ['Listener "ns/web"', 'PersistentVolume "pvc-1234"', 'not owned'] },
  VolumeHasNoClaim: { error: { kind: 'VolumeHasNoClaim', volume: pv }, code: status.FAILED_PRECONDITION, mentions: ['pvc-1234', 'claimRef'] },
  VolumeNotInPod: { error: { kind: 'VolumeNotInPod', pod, claim: pvc }, code: status.FAILED_PRECONDITION, mentions: ['Pod "ns/web-0"', 'PersistentVolumeClaim "ns/data"'] },
  PodNotScheduled: { error: { kind: 'PodNotScheduled', pod }, code: status.UNAVAILABLE, mentions: ['Pod "ns/web-0"', 'not scheduled'] },
  PodUidMismatch: { error: { kind: 'PodUidMismatch', pod, expected: 'uid-old', actual: 'uid-new' }, code: status.UNAVAILABLE, mentions: ['Pod "ns/web-0"', '"uid-old"', '"uid-new"', 'recreated'] },
  OperationPending: { error: { kind: 'OperationPending', targetPath: '/t' }, code: status.ABORTED, mentions: ['"/t"', 'in progress'] },
  NoAddresses: { error: { kind: 'NoAddresses', listener }, code: status.UNAVAILABLE, mentions: ['Listener "ns/web"', 'no ingress addresses yet'] },
  NodeHasNoAddress: { error: { kind: 'NodeHasNoAddress', node: { kind: 'Node', name: 'n1' }, listener }, code: status.UNAVAILABLE, mentions: ['Node "n1"', 'Listener "ns/web"'] },
  UnsafePodDirEntry: { error: { kind: 'UnsafePodDirEntry', what: 'address', value: '../etc', reason: 'contains "/"' }, code: status.FAILED_PRECONDITION, mentions: ['address', '"../etc"', 'contains'] },
  NoPodDirAddresses: { error: { kind: 'NoPodDirAddresses', targetPath: '/t' }, code: status.UNAVAILABLE, mentions: ['no address', '"/t"'] },
  WriteFiles: { error: { kind: 'WriteFiles', targetPath: '/t', cause: Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }) }, code: status.INTERNAL, mentions: ['"/t"', 'EACCES'] },
  RemoveFiles: { error: { kind: 'RemoveFiles', targetPath: '/t', cause: new Error('EBUSY') }, code: status.INTERNAL, mentions: ['remove "/t"', 'EBUSY'] },
};

for (const [kind, { error, code, mentions }] of Object.entries(table)) {
  test(`toGrpcStatus: ${kind} → ${status[code]}`, () => {
    const s = toGrpcStatus(error);
    assert.equal(s.code, code);
    for (const m of mentions) assert.ok(s.details.includes(m), `${JSON.stringify(s.details)} mentions ${m}`);
  });
}

test('the message ends with the whole cause chain', () => {
  const root = new Error('dial tcp 10.0.0.1:443: connect: connection refused');
  const mid = new Error('request failed', { cause: root });
  const message = describeError({ kind: 'GetObject', ref: { kind: 'Pod', namespace: 'a', name: 'b' }, cause: mid });
  assert.equal(message, 'failed to get Pod "a/b": request failed: dial tcp 10.0.0.1:443: connect: connection refused');
});

test('formatCauseChain: strings, objects, cycles and depth are handled', () => {
  assert.equal(formatCauseChain(undefined), '');
  assert.equal(formatCauseChain('plain'), 'plain');
  assert.equal(formatCauseChain({ code: 404 }), '{"code":404}');
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b; // a cycle
  assert.equal(formatCauseChain(b), 'b: a');
  let deep: Error = new Error('0');
  for (let i = 1; i < 50; i++) deep = new Error(String(i), { cause: deep });
  assert.equal(formatCauseChain(deep).split(': ').length, 10);
  const cyclicObject: Record<string, unknown> = {};
  cyclicObject['self'] = cyclicObject;
  assert.equal(formatCauseChain(cyclicObject), '[object Object]');
});

test('quote escapes control characters and bounds long values', () => {
  assert.equal(quote('a\0b\n'), '"a\\u0000b\\n"');
  assert.equal(quote(undefined), '(unset)');
  assert.equal(quote(7), '7');
  assert.equal(quote(null), '(null)');
  const long = quote('x'.repeat(10_000));
  assert.ok(long.length < 200 && long.endsWith('(10000 bytes)'));
});

test('formatRef: namespaced and cluster-scoped objects', () => {
  assert.equal(formatRef({ kind: 'Listener', namespace: 'ns', name: 'l' }), 'Listener "ns/l"');
  assert.equal(formatRef({ kind: 'ListenerClass', name: 'c' }), 'ListenerClass "c"');
});

test('a full disk is RESOURCE_EXHAUSTED (the kubelet retries it), whatever wraps the ENOSPC', () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  for (const cause of [enospc, new Error('writing the version directory', { cause: enospc }), Object.assign(new Error('EDQUOT'), { code: 'EDQUOT' })]) {
    const s = toGrpcStatus({ kind: 'WriteFiles', targetPath: '/t', cause });
    assert.equal(s.code, status.RESOURCE_EXHAUSTED);
    assert.match(s.details, /failed to write the listener files into "\/t"/);
  }
});
