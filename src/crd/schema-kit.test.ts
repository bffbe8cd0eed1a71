import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from 'typebox';
import { freeForm, int32, nullable, stringEnum, stringMap, toStructuralSchema } from './schema-kit.ts';

const d = (description: string) => ({ description });

test('nullable becomes nullable: true on the inner type, keeping description and default', () => {
  const schema = Type.Object({ a: nullable(Type.Boolean(), { description: 'A.', default: true }) });
  assert.deepEqual(toStructuralSchema(schema).properties, {
    a: { default: true, description: 'A.', nullable: true, type: 'boolean' },
  });
});

test('string maps become additionalProperties', () => {
  const schema = Type.Object({ m: stringMap(int32(d('V.')), d('M.')) });
  assert.deepEqual(toStructuralSchema(schema).properties, {
    m: {
      additionalProperties: { description: 'V.', format: 'int32', type: 'integer' },
      description: 'M.',
      type: 'object',
    },
  });
});

test('int32 bounds are left to the API server, other bounds are kept', () => {
  const schema = Type.Object({ a: int32(d('A.')), b: Type.Integer({ ...d('B.'), minimum: 1, maximum: 65535 }) });
  assert.deepEqual(toStructuralSchema(schema).properties, {
    a: { description: 'A.', format: 'int32', type: 'integer' },
    b: { description: 'B.', maximum: 65535, minimum: 1, type: 'integer' },
  });
});

test('enums are typed strings and free-form objects keep unknown fields', () => {
  const schema = Type.Object({ e: stringEnum(['A', 'B'], d('E.')), f: freeForm(d('F.')) });
  assert.deepEqual(toStructuralSchema(schema).properties, {
    e: { description: 'E.', enum: ['A', 'B'], type: 'string' },
    f: { description: 'F.', type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  });
});

test('required lists are kept, empty ones dropped', () => {
  const schema = Type.Object({ a: Type.String(d('A.')), b: Type.Optional(Type.String(d('B.'))) });
  assert.deepEqual(toStructuralSchema(schema).required, ['a']);
  assert.equal('required' in toStructuralSchema(Type.Object({ b: Type.Optional(Type.String(d('B.'))) })), false);
});

const rejected: [string, unknown, RegExp][] = [
  ['a union of literals', Type.Object({ a: Type.Union([Type.Literal('x'), Type.Literal('y')], d('A.')) }), /T or null/],
  ['a const', Type.Object({ a: Type.Literal('x', d('A.')) }), /"const"/],
  ['a record with a key pattern', Type.Object({ a: Type.Record(Type.Integer(), Type.String(), d('A.')) }), /string-keyed/],
  ['an untyped node', { type: 'object', properties: { a: { description: 'A.' } } }, /needs a type/],
  ['a field without description', Type.Object({ a: Type.String() }), /description/],
  ['properties with additionalProperties', { type: 'object', properties: {}, additionalProperties: { type: 'string' } }, /not allowed|mutually exclusive/],
  ['a tuple of items', { type: 'array', items: [{ type: 'string' }] }, /single schema/],
];

for (const [what, schema, message] of rejected) {
  test(`rejects ${what}`, () => {
    assert.throws(() => toStructuralSchema(schema), message);
  });
}
