// A value encoded for a store that echoes written values decodes to the object it was
// encoded from, as it was then (a private copy), once; later decodes parse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStored, encodeForStore } from '../../apiserver/watchcache.js';
import type { KubeObject } from '../../machinery/object.js';

test('decodeStored of a value encoded with keepDecoded: the object as encoded, private, with the store revision', () => {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', resourceVersion: '3', labels: { a: 'b' } }, data: { k: 'v' } };
  const value = encodeForStore(obj, true);
  assert.equal(obj.metadata?.resourceVersion, '3', 'the encoded object keeps its resourceVersion');
  (obj.data as Record<string, string>).k = 'changed after the write';
  const first = decodeStored(value, 7);
  assert.deepEqual(first, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', resourceVersion: '7', labels: { a: 'b' } }, data: { k: 'v' } });
  assert.deepEqual(JSON.parse(value.toString('utf8')), { ...first, metadata: { name: 'c', labels: { a: 'b' } } }, 'the same as the stored JSON');
  const second = decodeStored(value, 7);
  assert.deepEqual(second, first);
  assert.notEqual(second, first, 'each decode is its own object');
});
