// The stored encoding of an object is JSON.stringify's text without resourceVersion, and a
// create's answer made from that text is the created object with its resourceVersion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerFromStored, encodeStored, sharedEncoding, sharedTexts, storedAnswer } from '../../apiserver/watchcache.js';

/** The registered answer's text without its final newline, after checking that it ends with one. */
function storedAnswerJson(obj: unknown): string | undefined {
  const a = storedAnswer(obj)?.toString('utf8');
  if (a !== undefined) assert.ok(a.endsWith('}\n'), a);
  return a?.slice(0, -1);
}
import type { KubeObject } from '../../machinery/object.js';

test('encodeStored writes what JSON.stringify writes, without resourceVersion, and leaves the fields of the object as they were', () => {
  const obj = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    skipped: undefined,
    metadata: { name: 'a', resourceVersion: '7', labels: { 'x"y': 'metadata":{' }, gone: undefined },
    data: { when: new Date(0), text: '"metadata":{}' },
  } as unknown as KubeObject;
  const before: unknown = JSON.parse(JSON.stringify(obj));
  const enc = encodeStored(obj);
  const { resourceVersion, ...meta } = obj.metadata!;
  assert.equal(resourceVersion, '7');
  assert.equal(enc.json, JSON.stringify({ ...obj, metadata: meta }));
  assert.equal(enc.value.toString(), enc.json);
  assert.equal(enc.json.slice(enc.metadataAt, enc.metadataAt + 9), '{"name":"');
  assert.deepEqual(JSON.parse(JSON.stringify(obj)), before);
});

test('an answer from the stored text is the object with its resourceVersion; objects without one registered have none', () => {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', uid: 'u' }, data: { k: 'v' } };
  const enc = encodeStored(obj);
  obj.metadata!.resourceVersion = '42';
  assert.equal(storedAnswerJson(obj), undefined);
  answerFromStored(obj, enc, 42);
  assert.deepEqual(JSON.parse(storedAnswerJson(obj)!), obj);

  const bare: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: {} };
  answerFromStored(bare, encodeStored(bare), 3);
  assert.deepEqual(JSON.parse(storedAnswerJson(bare)!), { apiVersion: 'v1', kind: 'Namespace', metadata: { resourceVersion: '3' } });

  // Wherever metadata is among the members, after members of any kind.
  const first = { metadata: { name: 'f' }, apiVersion: 'v1', kind: 'ConfigMap' } as KubeObject;
  answerFromStored(first, encodeStored(first), 4);
  assert.equal(storedAnswerJson(first), '{"metadata":{"resourceVersion":"4","name":"f"},"apiVersion":"v1","kind":"ConfigMap"}');
  const late = { when: new Date(0), skipped: undefined, 'k"ey': ['{', 1, 'ü€😀'], metadata: { name: 'l' } } as unknown as KubeObject;
  answerFromStored(late, encodeStored(late), 6);
  assert.deepEqual(JSON.parse(storedAnswerJson(late)!), { when: '1970-01-01T00:00:00.000Z', 'k"ey': ['{', 1, 'ü€😀'], metadata: { resourceVersion: '6', name: 'l' } });

  // Non-ASCII text after metadata (the answer made from the text, not from byte offsets).
  const wide = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'w' }, data: { k: 'ü€😀' } } as KubeObject;
  answerFromStored(wide, encodeStored(wide), 7);
  assert.deepEqual(JSON.parse(storedAnswerJson(wide)!), { ...wide, metadata: { resourceVersion: '7', name: 'w' } });

  const nullMetadata = { apiVersion: 'v1', kind: 'Status', metadata: null } as unknown as KubeObject;
  answerFromStored(nullMetadata, encodeStored(nullMetadata), 5);
  assert.equal(storedAnswerJson(nullMetadata), undefined);
  const noMetadata = { apiVersion: 'v1', kind: 'Status' } as KubeObject;
  answerFromStored(noMetadata, encodeStored(noMetadata), 5);
  assert.equal(storedAnswerJson(noMetadata), undefined);
  assert.equal(storedAnswerJson('text'), undefined);
});

test('a shared (cached) object keeps its JSON text after its first read; a frozen one is encoded each time', () => {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', resourceVersion: '9' }, data: { k: 'ü' } };
  const first = sharedEncoding(obj);
  assert.equal(first.json, JSON.stringify(obj));
  assert.equal(sharedEncoding(obj), first, 'kept with the object');
  // Not seen by copies, encodings or comparisons of the object.
  assert.deepEqual(Object.keys(obj), ['apiVersion', 'kind', 'metadata', 'data']);
  assert.equal(JSON.stringify({ ...obj }), JSON.stringify(obj));
  assert.notEqual(sharedEncoding({ ...obj, data: { k: 'v' } }).json, first.json);

  const frozen = Object.freeze({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'f' } }) as KubeObject;
  const a = sharedEncoding(frozen);
  assert.equal(a.json, JSON.stringify(frozen));
  assert.notEqual(sharedEncoding(frozen), a, 'encoded again');
});

test('the text kept with cached objects is bounded in all: the first kept is dropped first and encoded again on its next read', () => {
  const limit = sharedTexts.limit;
  const objects = Array.from({ length: 6 }, (_, i): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { k: 'x'.repeat(100) } }));
  const size = JSON.stringify(objects[0]).length;
  // Drop what earlier reads in this process kept (all but the text kept last), then room for three texts.
  sharedTexts.limit = 1;
  sharedEncoding({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-x' }, data: { k: 'z'.repeat(100) } });
  sharedTexts.limit = 3 * size;
  try {
    const records = objects.map((o) => sharedEncoding(o));
    assert.ok(sharedTexts.total <= sharedTexts.limit, `${sharedTexts.total} kept, limit ${sharedTexts.limit}`);
    assert.deepEqual(
      records.map((r) => r.json !== ''),
      [false, false, false, true, true, true],
      'the three read last keep their text',
    );
    // Read again: the same record, its text encoded again and kept (another one dropped).
    const again = sharedEncoding(objects[0]);
    assert.equal(again, records[0]);
    assert.equal(again.json, JSON.stringify(objects[0]));
    assert.equal(records[3].json, '', 'the oldest kept text made room');
    assert.ok(sharedTexts.total <= sharedTexts.limit);
    // One text alone over the limit is still answered (and kept until the next).
    sharedTexts.limit = 1;
    const big: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { k: 'y'.repeat(1000) } };
    assert.equal(sharedEncoding(big).json, JSON.stringify(big));
    assert.ok(records.every((r) => r.json === ''));
    // A frozen object keeps nothing.
    const total = sharedTexts.total;
    sharedEncoding(Object.freeze({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'f2' } }) as KubeObject);
    assert.equal(sharedTexts.total, total);
  } finally {
    sharedTexts.limit = limit;
  }
});
