// jsonCopy: the result of a JSON round trip, made without the text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonCopy } from '../../machinery/object.js';

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
