import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import fc from 'fast-check';
import { describeError, grpcCode } from './errors.ts';
import type { CreateVolumeRequest__Output } from './proto/generated/csi/v1/CreateVolumeRequest.ts';
import type { NodePublishVolumeRequest, NodePublishVolumeRequest__Output } from './proto/generated/csi/v1/NodePublishVolumeRequest.ts';
import type { VolumeCapability__Output } from './proto/generated/csi/v1/VolumeCapability.ts';
import {
  capabilityProblem,
  targetPathProblem,
  validateCreateVolume,
  validateDeleteVolume,
  validateNodePublishVolume,
  validateNodeUnpublishVolume,
  validateValidateVolumeCapabilities,
} from './validation.ts';
import { isDnsLabel, isDnsSubdomain } from './volume-context.ts';

const CLASS = 'listeners.stackable.tech/listener-class';
const NAME = 'listeners.stackable.tech/listener-name';
const POD_NAME = 'csi.storage.k8s.io/pod.name';
const POD_NS = 'csi.storage.k8s.io/pod.namespace';
const PVC_NAME = 'csi.storage.k8s.io/pvc/name';
const PVC_NS = 'csi.storage.k8s.io/pvc/namespace';
const TARGET = '/var/lib/kubelet/pods/1234/volumes/kubernetes.io~csi/pvc-1/mount';

const mount: VolumeCapability__Output = {
  mount: { fs_type: '', mount_flags: [], volume_mount_group: '' },
  access_mode: { mode: 'SINGLE_NODE_WRITER' },
  access_type: 'mount',
};
const block: VolumeCapability__Output = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' }, access_type: 'block' };

// Shaped as grpc-js hands requests to handlers (proto-loader with defaults and oneofs).
function createRequest(overrides: Partial<CreateVolumeRequest__Output> = {}): CreateVolumeRequest__Output {
  return {
    name: 'pvc-5a1b',
    capacity_range: null,
    volume_capabilities: [mount],
    parameters: { [PVC_NAME]: 'listener-broker-0', [PVC_NS]: 'kafka' },
    secrets: {},
    volume_content_source: null,
    accessibility_requirements: {
      requisite: [{ segments: { 'listeners.stackable.tech/hostname': 'n1' } }],
      preferred: [{ segments: { 'listeners.stackable.tech/hostname': 'n2' } }, { segments: { 'listeners.stackable.tech/hostname': 'n1' } }],
    },
    mutable_parameters: {},
    ...overrides,
  };
}

function publishRequest(overrides: Partial<NodePublishVolumeRequest__Output> = {}): NodePublishVolumeRequest__Output {
  return {
    volume_id: 'pvc-5a1b',
    publish_context: {},
    staging_target_path: '',
    target_path: TARGET,
    volume_capability: mount,
    readonly: false,
    secrets: {},
    volume_context: { [CLASS]: 'external-unstable', [POD_NAME]: 'broker-0', [POD_NS]: 'kafka', 'csi.storage.k8s.io/pod.uid': 'u1' },
    ...overrides,
  };
}

function errorOf<E extends { kind: string }>(r: { ok: true } | { ok: false; error: E }): E {
  assert.ok(!r.ok, 'expected an error');
  return r.error;
}

// ---- CreateVolume ----------------------------------------------------------------------------

test('CreateVolume: a valid request gives the claim and the preferred topology in order', () => {
  const r = validateCreateVolume(createRequest());
  assert.ok(r.ok);
  assert.equal(r.value.name, 'pvc-5a1b');
  assert.deepEqual(r.value.pvc, { namespace: 'kafka', name: 'listener-broker-0' });
  assert.deepEqual(r.value.preferredTopology, [{ 'listeners.stackable.tech/hostname': 'n2' }, { 'listeners.stackable.tech/hostname': 'n1' }]);
});

test('CreateVolume: 128-character names are accepted (csi-sanity)', () => {
  assert.ok(validateCreateVolume(createRequest({ name: 'x'.repeat(128) })).ok);
});

test('CreateVolume: no topology requirement → no preferred topology', () => {
  const r = validateCreateVolume(createRequest({ accessibility_requirements: null }));
  assert.ok(r.ok);
  assert.deepEqual(r.value.preferredTopology, []);
});

test('CreateVolume: argument errors', () => {
  const cases: [Partial<CreateVolumeRequest__Output>, string, string][] = [
    [{ name: '' }, 'MissingField', 'name is missing'],
    [{ volume_capabilities: [] }, 'MissingField', 'volume_capabilities is missing'],
    [{ volume_capabilities: [mount, block] }, 'UnsupportedCapability', 'volume_capabilities[1] is not supported: raw block'],
    [{ volume_capabilities: [{ access_mode: { mode: 'SINGLE_NODE_WRITER' } }] }, 'UnsupportedCapability', 'access_type is missing'],
    [{ volume_capabilities: [{ ...mount, access_mode: null }] }, 'UnsupportedCapability', 'access_mode is missing'],
    [{ volume_capabilities: [{ ...mount, access_mode: { mode: 'UNKNOWN' } }] }, 'UnsupportedCapability', 'not a known access mode'],
    [{ parameters: { [PVC_NS]: 'kafka' } }, 'MissingField', 'pvc/name"] is missing from the request (is the csi-provisioner running with --extra-create-metadata?)'],
    [{ parameters: { [PVC_NAME]: 'x' } }, 'MissingField', 'pvc/namespace'],
    [{ parameters: { [PVC_NAME]: '../x', [PVC_NS]: 'kafka' } }, 'InvalidField', 'not a valid object name'],
    [{ volume_content_source: { snapshot: { snapshot_id: 's' }, type: 'snapshot' } }, 'InvalidField', 'cannot be pre-populated'],
  ];
  for (const [overrides, kind, text] of cases) {
    const e = errorOf(validateCreateVolume(createRequest(overrides)));
    assert.equal(e.kind, kind);
    assert.equal(grpcCode(e), status.INVALID_ARGUMENT);
    assert.ok(describeError(e).includes(text), describeError(e));
  }
});

test('every access mode is accepted with mount access', () => {
  for (const mode of ['SINGLE_NODE_WRITER', 'SINGLE_NODE_READER_ONLY', 'MULTI_NODE_READER_ONLY', 'MULTI_NODE_SINGLE_WRITER', 'MULTI_NODE_MULTI_WRITER', 'SINGLE_NODE_SINGLE_WRITER', 'SINGLE_NODE_MULTI_WRITER', 5] as const) {
    assert.equal(capabilityProblem({ ...mount, access_mode: { mode } }), undefined, String(mode));
  }
  assert.match(capabilityProblem({ mount: {}, block: {}, access_mode: { mode: 1 } }) ?? '', /not both/);
  assert.match(capabilityProblem('mount') ?? '', /VolumeCapability message/);
});

// ---- DeleteVolume, ValidateVolumeCapabilities --------------------------------------------------

test('DeleteVolume: volume_id is required', () => {
  assert.deepEqual(validateDeleteVolume({ volume_id: 'v', secrets: {} }), { ok: true, value: { volumeId: 'v' } });
  assert.equal(errorOf(validateDeleteVolume({ volume_id: '' })).kind, 'MissingField');
  assert.equal(errorOf(validateDeleteVolume({})).kind, 'MissingField');
});

test('ValidateVolumeCapabilities: id and capabilities required; block is unconfirmed, not an error', () => {
  assert.equal(errorOf(validateValidateVolumeCapabilities({ volume_capabilities: [mount] })).kind, 'MissingField');
  const noCaps = errorOf(validateValidateVolumeCapabilities({ volume_id: 'v', volume_capabilities: [] }));
  assert.ok(describeError(noCaps).includes('volume_capabilities'));
  const good = validateValidateVolumeCapabilities({ volume_id: 'v', volume_capabilities: [mount], volume_context: { a: 'b' } });
  assert.ok(good.ok);
  assert.equal(good.value.unsupported, undefined);
  assert.deepEqual(good.value.volumeContext, { a: 'b' });
  const bad = validateValidateVolumeCapabilities({ volume_id: 'v', volume_capabilities: [mount, block] });
  assert.ok(bad.ok);
  assert.match(bad.value.unsupported ?? '', /volume_capabilities\[1\]: raw block/);
});

// ---- NodePublishVolume, NodeUnpublishVolume -----------------------------------------------------

test('NodePublishVolume: a valid request gives pod, selector and target', () => {
  const r = validateNodePublishVolume(publishRequest({ readonly: true }));
  assert.ok(r.ok);
  assert.equal(r.value.volumeId, 'pvc-5a1b');
  assert.equal(r.value.targetPath, TARGET);
  assert.equal(r.value.readonly, true);
  assert.deepEqual(r.value.pod, { name: 'broker-0', namespace: 'kafka', uid: 'u1' });
  assert.deepEqual(r.value.selector, { kind: 'class', className: 'external-unstable' });
});

test('NodePublishVolume: required fields are checked in csi-sanity order, all INVALID_ARGUMENT', () => {
  const cases: [NodePublishVolumeRequest, string][] = [
    [{}, 'volume_id is missing'],
    [{ volume_id: 'v' }, 'target_path is missing'],
    [{ volume_id: 'v', target_path: TARGET }, 'volume_capability is missing'],
    [publishRequest({ volume_capability: block }), 'raw block'],
    [publishRequest({ target_path: 'relative/mount' }), 'must be an absolute path'],
    [publishRequest({ target_path: '/var/lib/../../etc' }), '".." segments'],
    [publishRequest({ volume_context: { [CLASS]: 'c', [POD_NS]: 'ns' } }), 'PersistentVolume "pvc-5a1b" does not identify the Pod: csi.storage.k8s.io/pod.name is missing'],
    [publishRequest({ volume_context: { [POD_NAME]: 'p', [POD_NS]: 'ns' } }), 'PersistentVolume "pvc-5a1b" does not choose a listener: neither'],
    [publishRequest({ volume_context: { [POD_NAME]: 'p', [POD_NS]: 'ns', [CLASS]: 'a', [NAME]: 'b' } }), 'both'],
  ];
  for (const [request, text] of cases) {
    const e = errorOf(validateNodePublishVolume(request));
    assert.equal(grpcCode(e), status.INVALID_ARGUMENT);
    assert.ok(describeError(e).includes(text), `${describeError(e)} ∌ ${text}`);
  }
});

test('NodeUnpublishVolume: volume_id and an absolute target_path', () => {
  assert.deepEqual(validateNodeUnpublishVolume({ volume_id: 'v', target_path: TARGET }), { ok: true, value: { volumeId: 'v', targetPath: TARGET } });
  assert.match(describeError(errorOf(validateNodeUnpublishVolume({ target_path: TARGET }))), /volume_id is missing/);
  assert.match(describeError(errorOf(validateNodeUnpublishVolume({ volume_id: 'v' }))), /target_path is missing/);
  assert.equal(errorOf(validateNodeUnpublishVolume({ volume_id: 'v', target_path: '/' })).kind, 'InvalidTargetPath');
});

test('targetPathProblem', () => {
  assert.equal(targetPathProblem('/a/b/'), undefined);
  assert.equal(targetPathProblem('//a//b'), undefined);
  for (const bad of ['', 'a', './a', '/', '///', '/a/./b', '/a/..', '/a\0b', `/${'x'.repeat(5000)}`, 5, null]) {
    assert.notEqual(targetPathProblem(bad), undefined, JSON.stringify(bad));
  }
});

// ---- properties: hostile requests never throw --------------------------------------------------

const anything = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withNullPrototype: true,
  withObjectString: true,
  withSet: true,
  withSparseArray: true,
  withTypedArray: true,
  stringUnit: 'binary',
});
const keys = fc.constantFrom(CLASS, NAME, POD_NAME, POD_NS, PVC_NAME, PVC_NS, 'csi.storage.k8s.io/pod.uid', '__proto__', 'constructor');
const plausibleName = fc.oneof(fc.constantFrom('web-0', 'kafka', 'a.b', 'external-stable', ''), fc.stringMatching(/^[a-z0-9.-]{0,70}$/));
const stringMapArb = fc.oneof(
  fc.dictionary(fc.oneof(keys, fc.string()), fc.oneof(plausibleName, fc.string(), anything)),
  anything,
);
const capabilityArb = fc.oneof(
  fc.constant(mount),
  fc.constant(block),
  fc.record(
    {
      block: fc.oneof(fc.constant({}), anything),
      mount: fc.oneof(fc.constant({ fs_type: 'ext4', mount_flags: [] }), anything),
      access_mode: fc.oneof(fc.record({ mode: fc.oneof(fc.constantFrom('SINGLE_NODE_WRITER', 'UNKNOWN', 'MULTI_NODE_MULTI_WRITER'), fc.integer(), anything) }), anything),
      access_type: fc.oneof(fc.constantFrom('block', 'mount'), anything),
    },
    { requiredKeys: [] },
  ),
  anything,
);
const pathArb = fc.oneof(fc.constant(TARGET), fc.string().map((s) => `/${s}`), fc.string(), anything);
const fieldsArb = fc.record(
  {
    name: fc.oneof(plausibleName, fc.string(), anything),
    volume_id: fc.oneof(plausibleName, fc.string(), anything),
    target_path: pathArb,
    volume_capability: capabilityArb,
    volume_capabilities: fc.oneof(fc.array(capabilityArb, { maxLength: 3 }), anything),
    parameters: stringMapArb,
    volume_context: stringMapArb,
    accessibility_requirements: fc.oneof(fc.record({ preferred: fc.oneof(fc.array(fc.record({ segments: stringMapArb }), { maxLength: 3 }), anything) }), anything),
    volume_content_source: fc.oneof(fc.constant(null), anything),
    readonly: anything,
  },
  { requiredKeys: [] },
);
// Valid requests with a few fields replaced (so the success paths are exercised too), random
// records, and anything at all.
const mutatedValidArb = fc
  .tuple(fc.constantFrom<object>(createRequest(), publishRequest()), fieldsArb, fc.integer({ min: 0, max: 2 }))
  .map(([base, fields, n]) => ({ ...base, ...Object.fromEntries(Object.entries(fields).slice(0, n)) }));
const requestArb = fc.oneof({ weight: 3, arbitrary: mutatedValidArb }, { weight: 3, arbitrary: fieldsArb }, { weight: 1, arbitrary: anything });

const ARGUMENT_KINDS = new Set(['MissingField', 'InvalidField', 'UnsupportedCapability', 'InvalidListenerSelector', 'InvalidPodInfo', 'InvalidTargetPath']);

function checkError(error: Parameters<typeof grpcCode>[0]): void {
  assert.ok(ARGUMENT_KINDS.has(error.kind), error.kind);
  assert.equal(grpcCode(error), status.INVALID_ARGUMENT);
  const message = describeError(error);
  assert.ok(message.length > 0 && message.length < 2000, 'a bounded, non-empty message');
}

test('property: every validator returns parsed arguments or an INVALID_ARGUMENT error, never throws', () => {
  fc.assert(
    fc.property(requestArb, (raw) => {
      const request = raw as never;
      const created = validateCreateVolume(request);
      if (created.ok) {
        assert.ok(created.value.name.length > 0);
        assert.ok(isDnsSubdomain(created.value.pvc.name) && isDnsLabel(created.value.pvc.namespace));
      } else checkError(created.error);
      const deleted = validateDeleteVolume(request);
      if (!deleted.ok) checkError(deleted.error);
      const validated = validateValidateVolumeCapabilities(request);
      if (!validated.ok) checkError(validated.error);
      const published = validateNodePublishVolume(request);
      if (published.ok) {
        assert.equal(targetPathProblem(published.value.targetPath), undefined);
        assert.ok(isDnsSubdomain(published.value.pod.name) && isDnsLabel(published.value.pod.namespace));
        const s = published.value.selector;
        assert.ok(isDnsSubdomain(s.kind === 'class' ? s.className : s.listenerName));
      } else checkError(published.error);
      const unpublished = validateNodeUnpublishVolume(request);
      if (unpublished.ok) assert.equal(targetPathProblem(unpublished.value.targetPath), undefined);
      else checkError(unpublished.error);
    }),
    { numRuns: 5000 },
  );
});

test('property: dropping any required field of a valid NodePublishVolume request is INVALID_ARGUMENT', () => {
  const required = ['volume_id', 'target_path', 'volume_capability'] as const;
  fc.assert(
    fc.property(fc.subarray([...required], { minLength: 1 }), fc.constantFrom(undefined, null, ''), (drop, replacement) => {
      const request: Record<string, unknown> = { ...publishRequest() };
      for (const field of drop) request[field] = replacement;
      const r = validateNodePublishVolume(request);
      assert.ok(!r.ok);
      assert.equal(grpcCode(r.error), status.INVALID_ARGUMENT);
    }),
    { numRuns: 1000 },
  );
});

test('NodePublishVolume: a volume_id that is not a PV name is refused before any request (".", "..", "a/b", uppercase)', () => {
  for (const id of ['.', '..', 'a/b', '../pvs', 'PVC-1', '-x']) {
    const e = errorOf(validateNodePublishVolume(publishRequest({ volume_id: id })));
    assert.equal(e.kind, 'InvalidField', id);
  }
  assert.equal(validateNodePublishVolume(publishRequest({ volume_id: 'pvc-5a1b.x' })).ok, true);
});
