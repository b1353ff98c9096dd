// jsonCopy: the result of a JSON round trip, made without the text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isJsonClean, jsonCopy } from '../../machinery/object.js';

const roundTrip = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

test('jsonCopy gives what a JSON round trip gives', () => {
  const values: unknown[] = [
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: 'b' }, '2': 'numeric key first' }, spec: { containers: [{ name: 'c', args: ['x', ''] }], priority: 0 } },
    { skipped: undefined, fn: () => 1, sym: Symbol('s'), kept: null, nested: { deep: [1, [2, [3]]] } },
    [undefined, () => 1, Symbol('s'), null, 1],
    { nan: NaN, inf: -Infinity, negZero: -0, big: 1e308 },
    { when: new Date(0), buf: Buffer.from('hi'), map: new Map([['a', 1]]), withToJSON: { toJSON: () => 'custom' } },
    Object.assign(Object.create(null) as object, { bare: true }),
    'text',
    42,
    null,
  ];
  for (const v of values) {
    const c = jsonCopy(v);
    assert.deepEqual(c, roundTrip(v));
    assert.equal(JSON.stringify(c), JSON.stringify(roundTrip(v)), 'same members in the same order');
  }
});

test('jsonCopy shares nothing with its source', () => {
  const src = { metadata: { labels: { a: 'b' } }, items: [{ x: 1 }] };
  const c = jsonCopy(src);
  c.metadata.labels.a = 'changed';
  c.items[0].x = 2;
  assert.equal(src.metadata.labels.a, 'b');
  assert.equal(src.items[0].x, 1);
});

test('jsonCopy of undefined is undefined (absent fields copy as absent)', () => {
  assert.equal(jsonCopy(undefined), undefined);
});

test('jsonCopy refuses a bigint, as JSON does', () => {
  assert.throws(() => jsonCopy({ n: 1n }), TypeError);
});

test('isJsonClean: true exactly when the JSON round trip gives the object back member for member', () => {
  assert.equal(isJsonClean({ a: 'x', b: [1, true, null, { c: 2.5 }], d: {} }), true);
  for (const [what, v] of [
    ['an undefined member (dropped)', { a: undefined }],
    ['-0 (becomes 0)', { a: -0 }],
    ['NaN (becomes null)', { a: [Number.NaN] }],
    ['a hole in an array (becomes null)', { a: new Array<number>(3) }],
    ['a Date (becomes a string)', { a: new Date(0) }],
    ['a class instance', { a: new (class X {})() }],
    ['a function (dropped)', { a: () => 1 }],
  ] as const) {
    assert.equal(isJsonClean(v as object), false, what);
    assert.notDeepStrictEqual(roundTrip(v), v, `${what}: the round trip really differs`);
  }
});
