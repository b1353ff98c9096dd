import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch, applyMergePatch, decodePatchBody, patchTypeForContentType, validatePatchOptions, CUSTOM_RESOURCE_PATCH_TYPES } from '../../apiserver/patch/index.js';
import { StatusError } from '../../machinery/status.js';

function statusOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  assert.fail('expected a StatusError');
}

const UNPROCESSABLE = 'the server rejected our request due to an error in our request';

test('json patch: add, remove, replace, move, copy, test', () => {
  const doc = { metadata: { name: 'a', labels: { x: '1' } }, spec: { list: [1, 2, 3] } };
  const out = applyJsonPatch(doc, [
    { op: 'add', path: '/metadata/labels/y', value: '2' },
    { op: 'remove', path: '/metadata/labels/x' },
    { op: 'replace', path: '/spec/list/0', value: 10 },
    { op: 'add', path: '/spec/list/-', value: 4 },
    { op: 'add', path: '/spec/list/1', value: 15 },
    { op: 'move', from: '/metadata/labels/y', path: '/metadata/annotations' },
    { op: 'copy', from: '/spec/list', path: '/spec/copy' },
    { op: 'test', path: '/spec/copy', value: [10, 15, 2, 3, 4] },
  ]);
  assert.deepEqual(out, { metadata: { name: 'a', labels: {}, annotations: '2' }, spec: { list: [10, 15, 2, 3, 4], copy: [10, 15, 2, 3, 4] } });
  // The input is untouched, and copies do not alias.
  assert.deepEqual(doc, { metadata: { name: 'a', labels: { x: '1' } }, spec: { list: [1, 2, 3] } });
  (out.spec as unknown as { copy: number[] }).copy.push(9);
  assert.equal((out.spec as unknown as { list: number[] }).list.length, 5);
});

test('json patch: pointer escaping ~0 and ~1', () => {
  const doc = { metadata: { annotations: { 'example.com/a~b': 'x' } } };
  const out = applyJsonPatch(doc, [
    { op: 'test', path: '/metadata/annotations/example.com~1a~0b', value: 'x' },
    { op: 'replace', path: '/metadata/annotations/example.com~1a~0b', value: 'y' },
    { op: 'add', path: '/metadata/annotations/kubectl.kubernetes.io~1restartedAt', value: 'now' },
  ]);
  assert.deepEqual(out.metadata.annotations, { 'example.com/a~b': 'y', 'kubectl.kubernetes.io/restartedAt': 'now' });
});

test('json patch: failed test is 422 with the generic message', () => {
  const err = statusOf(() =>
    applyJsonPatch({ metadata: { resourceVersion: '5' } }, [
      { op: 'test', path: '/metadata/resourceVersion', value: '4' },
      { op: 'replace', path: '/metadata/managedFields', value: [] },
    ]),
  );
  assert.equal(err.code, 422);
  assert.equal(err.reason, 'Invalid');
  assert.equal(err.status.message, UNPROCESSABLE);
});

test('json patch: application failures are 422', () => {
  const doc = { a: { b: [1] } };
  for (const op of [
    { op: 'remove', path: '/a/c' },
    { op: 'add', path: '/x/y', value: 1 },
    { op: 'add', path: '/a/b/5', value: 1 },
    { op: 'replace', path: '/a/b/1', value: 1 },
    { op: 'move', from: '/a/zz', path: '/a/q' },
    { op: 'frobnicate', path: '/a' },
    { op: 'add', value: 1 },
  ]) {
    const err = statusOf(() => applyJsonPatch(doc, [op]));
    assert.equal(err.code, 422, JSON.stringify(op));
    assert.equal(err.status.message, UNPROCESSABLE);
  }
});

test('json patch: library quirks kept (replace adds, negative index, null test)', () => {
  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '/b', value: 2 }]), { a: 1, b: 2 });
  assert.deepEqual(applyJsonPatch({ l: [1, 2, 3] }, [{ op: 'remove', path: '/l/-1' }]), { l: [1, 2] });
  assert.deepEqual(applyJsonPatch({ l: [1, 2] }, [{ op: 'add', path: '/l/2', value: 3 }]), { l: [1, 2, 3] });
  assert.deepEqual(applyJsonPatch({ a: null }, [{ op: 'test', path: '/b', value: null }, { op: 'test', path: '/a', value: null }]), { a: null });
  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }]), { b: 2 });
});

test('json patch: a body that is not a patch is 400; too many operations is 413', () => {
  let err = statusOf(() => applyJsonPatch({}, { op: 'add' }));
  assert.equal(err.code, 400);
  assert.equal(err.status.message, 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  err = statusOf(() => applyJsonPatch({}, ['x']));
  assert.equal(err.status.message, 'json: cannot unmarshal string into Go value of type jsonpatch.Operation');
  const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/a', value: 1 }));
  err = statusOf(() => applyJsonPatch({ a: 1 }, ops));
  assert.equal(err.code, 413);
  assert.equal(err.status.message, 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001');
});

test('merge patch: RFC 7386 appendix cases', () => {
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    [{ a: 'foo' }, ['c'], ['c']],
  ];
  for (const [doc, patch, want] of cases) {
    const before = JSON.stringify(doc);
    assert.deepEqual(applyMergePatch(doc, patch), want, JSON.stringify(patch));
    assert.equal(JSON.stringify(doc), before);
  }
});

test('merge patch: kubectl scale/label shapes; null and scalar patches are 400', () => {
  const dep = { metadata: { labels: { app: 'web', tier: 'x' } }, spec: { replicas: 1, template: { spec: { containers: [{ name: 'a' }] } } } };
  assert.deepEqual(applyMergePatch(dep, { spec: { replicas: 5 } }).spec.replicas, 5);
  assert.deepEqual(applyMergePatch(dep, { metadata: { labels: { tier: null, env: 'prod' } } }).metadata.labels, { app: 'web', env: 'prod' });
  assert.equal(statusOf(() => applyMergePatch(dep, null)).status.message, 'Invalid JSON Patch');
  assert.equal(statusOf(() => applyMergePatch(dep, 3)).code, 400);
});

test('patch bodies: content types, decoding and options', () => {
  assert.equal(patchTypeForContentType('application/strategic-merge-patch+json; charset=utf-8'), 'strategic');
  assert.equal(patchTypeForContentType('application/apply-patch+yaml'), 'apply');
  const e415 = statusOf(() => patchTypeForContentType('application/strategic-merge-patch+json', CUSTOM_RESOURCE_PATCH_TYPES));
  assert.equal(e415.code, 415);
  assert.equal(
    e415.status.message,
    'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
  );
  assert.deepEqual(decodePatchBody('json', '[{"op":"add","path":"/a","value":1}]'), [{ op: 'add', path: '/a', value: 1 }]);
  assert.equal(statusOf(() => decodePatchBody('json', '{"op":"add"}')).status.message, 'error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp');
  assert.equal(statusOf(() => decodePatchBody('merge', '{')).code, 400);
  assert.deepEqual(decodePatchBody('apply', 'apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "1"\n'), { apiVersion: 'v1', kind: 'ConfigMap', data: { a: '1' } });
  const opt = statusOf(() => validatePatchOptions('apply', {}));
  assert.equal(opt.code, 422);
  assert.equal(opt.status.message, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
  assert.equal(statusOf(() => validatePatchOptions('merge', { force: true })).status.message, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
  validatePatchOptions('apply', { fieldManager: 'kubectl', force: true });
});
