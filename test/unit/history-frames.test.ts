// The recorder's frames to its worker thread: what is written is what is read back,
// across batch buffers that grow, frames larger than any batch, and multi-byte strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameKind, FrameWriter, readFrames, type Batch, type Frame } from '../../apiserver/history/frames.js';

function strip(f: Frame): unknown {
  const { size: _size, ...rest } = f as Frame & { value?: Buffer; prev?: Buffer };
  const out = rest as Record<string, unknown>;
  for (const k of ['value', 'prev']) if (out[k]) out[k] = (out[k] as Buffer).toString();
  return out;
}

test('frames written across batches read back in order, with their sizes', () => {
  const w = new FrameWriter();
  const batches: Batch[] = [];
  const flush = (b: Batch) => batches.push(b);
  const expected: unknown[] = [];
  let sizes = 0;
  for (let i = 0; i < 300; i++) {
    // Values from a few bytes to 2 MiB (beyond the largest batch buffer).
    const value = Buffer.from(`{"n":${i},"pad":"${'x'.repeat(i === 150 ? 2 * 1024 * 1024 : (i * 97) % 5000)}"}`);
    const prev = i % 3 === 0 ? Buffer.from(`{"n":${i - 1}}`) : undefined;
    sizes += w.event(FrameKind.Put, i + 1, 1000 + i, `/registry/core/configmaps/ns/cm-${i}`, value, prev, flush);
    expected.push({ kind: FrameKind.Put, revision: i + 1, time: 1000 + i, key: `/registry/core/configmaps/ns/cm-${i}`, value: value.toString(), prev: prev?.toString() });
    sizes += w.attribution(i + 1, `usér-${i}-日本`, i % 2 ? 'kubectl-client-side-apply' : '', 'kubectl/v1.33.0 (linux/amd64)', flush);
    expected.push({ kind: FrameKind.Attribution, revision: i + 1, user: `usér-${i}-日本`, fieldManager: i % 2 ? 'kubectl-client-side-apply' : '', userAgent: 'kubectl/v1.33.0 (linux/amd64)' });
    if (i % 50 === 0) {
      sizes += w.gap(i, i + 5, 2000 + i, 3, flush);
      expected.push({ kind: FrameKind.Gap, from: i, to: i + 5, time: 2000 + i, count: 3 });
    }
    sizes += w.event(FrameKind.Delete, i + 1000, 3000, `/registry/core/configmaps/ns/gone-${i}`, undefined, undefined, flush);
    expected.push({ kind: FrameKind.Delete, revision: i + 1000, time: 3000, key: `/registry/core/configmaps/ns/gone-${i}`, value: undefined, prev: undefined });
  }
  const last = w.take();
  assert.ok(last);
  batches.push(last);
  assert.equal(w.take(), undefined, 'nothing left after take');
  assert.ok(batches.length > 3, `several batches (${batches.length})`);
  const frames = batches.flatMap((b) => readFrames(b));
  assert.deepEqual(frames.map(strip), expected);
  assert.equal(frames.reduce((n, f) => n + f.size, 0), sizes, 'sizes returned by the writer are the sizes read');
});

test('a batch handed over is not written to again', () => {
  const w = new FrameWriter();
  const flush = () => assert.fail('no flush expected');
  w.event(FrameKind.Put, 1, 1, '/registry/a', Buffer.from('{"a":1}'), undefined, flush);
  const first = w.take()!;
  const before = Buffer.from(first.buf, 0, first.length).toString('latin1');
  w.event(FrameKind.Put, 2, 2, '/registry/b', Buffer.from('{"b":2}'), undefined, flush);
  assert.equal(Buffer.from(first.buf, 0, first.length).toString('latin1'), before);
  assert.deepEqual(readFrames(w.take()!).map((f) => (f as { key: string }).key), ['/registry/b']);
});
