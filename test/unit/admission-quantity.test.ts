import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Quantity,
  QuantityError,
  QUANTITY_FORMAT_ERROR,
  QUANTITY_SUFFIX_ERROR,
  canonicalQuantity,
  compareQuantities,
  sumQuantities,
} from '../../apiserver/admission/quantity.js';

test('quantity: canonical strings match upstream', () => {
  const cases: [string | number, string][] = [
    ['0', '0'],
    ['250m', '250m'],
    ['0.25', '250m'],
    ['1.5', '1500m'],
    ['100m', '100m'],
    ['1', '1'],
    ['1.0', '1'],
    ['1000', '1k'],
    ['1500', '1500'],
    ['2000000', '2M'],
    ['1k', '1k'],
    ['512Mi', '512Mi'],
    ['1024Mi', '1Gi'],
    ['1.5Gi', '1536Mi'],
    ['0.5Gi', '512Mi'],
    ['0.5Ki', '512'],
    ['1.1Ki', '1126400m'],
    ['1Ki', '1Ki'],
    ['1e3', '1e3'],
    ['1E3', '1e3'],
    ['1e2', '100'],
    ['129e6', '129e6'],
    ['128974848', '128974848'],
    ['-1', '-1'],
    ['+5', '5'],
    ['0.000000001', '1n'],
    ['0.0000000001', '1n'],
    ['10u', '10u'],
    ['1.G', '1G'],
    [0.5, '500m'],
    [2, '2'],
  ];
  for (const [input, want] of cases) assert.equal(canonicalQuantity(input), want, `canonical(${input})`);
});

test('quantity: invalid strings fail with upstream messages', () => {
  for (const bad of ['', 'abc', '1.2.3', '1 Gi', '1..']) {
    assert.throws(() => Quantity.parse(bad), (e: unknown) => e instanceof QuantityError && e.message === QUANTITY_FORMAT_ERROR, bad);
  }
  for (const bad of ['1K', '1e', '1Ki2', '5Q', '--1']) {
    assert.throws(() => Quantity.parse(bad), (e: unknown) => e instanceof QuantityError && (e.message === QUANTITY_SUFFIX_ERROR || e.message === QUANTITY_FORMAT_ERROR), bad);
  }
  assert.throws(() => Quantity.parse('1K'), { message: QUANTITY_SUFFIX_ERROR });
  // like upstream, a bare suffix reads as zero
  assert.equal(canonicalQuantity('Gi'), '0');
  assert.equal(QUANTITY_FORMAT_ERROR, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
});

test('quantity: comparison, arithmetic and scaled values', () => {
  assert.equal(compareQuantities('1', '1000m'), 0);
  assert.equal(compareQuantities('1Gi', '1G'), 1);
  assert.equal(compareQuantities('500m', '0.6'), -1);
  assert.equal(compareQuantities('1e3', '1k'), 0);
  assert.equal(Quantity.parse('1.5').milliValue(), 1500);
  assert.equal(Quantity.parse('1500m').value(), 2);
  assert.equal(Quantity.parse('1Mi').value(), 1048576);
  assert.equal(sumQuantities(['100m', '0.2', undefined, '1']).toString(), '1300m');
  assert.equal(Quantity.parse('1Gi').add(Quantity.parse('512Mi')).toString(), '1536Mi');
  assert.equal(Quantity.parse('2').sub(Quantity.parse('500m')).toString(), '1500m');
  assert.equal(Quantity.parse('0.0001').roundUp(-3).toString(), '1m');
  assert.equal(Quantity.parse('1.2345').roundUp(-3).toString(), '1235m');
  assert.equal(Quantity.parse('-1').sign(), -1);
  assert.equal(JSON.stringify({ q: Quantity.parse('2048Ki') }), '{"q":"2Mi"}');
});
