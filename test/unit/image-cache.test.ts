import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedArchivePath, fileFingerprint, imageCacheDir } from '../../kubelet/images/cache.js';

test('the archive cache lives in /var/cache/kite/images unless KITE_IMAGE_CACHE says otherwise or "off"', () => {
  assert.equal(imageCacheDir({}), '/var/cache/kite/images');
  assert.equal(imageCacheDir({ KITE_IMAGE_CACHE: '/tmp/x' }), '/tmp/x');
  assert.equal(imageCacheDir({ KITE_IMAGE_CACHE: 'off' }), undefined);
  assert.equal(imageCacheDir({ KITE_IMAGE_CACHE: '' }), undefined);
});

test("a cached archive's name changes with its inputs, and only with them", () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-image-cache-'));
  try {
    const bin = join(dir, 'busybox');
    writeFileSync(bin, 'one');
    const path = () => cachedArchivePath('/cache', 'busybox', ['docker.io/library/busybox:latest', fileFingerprint(bin)]);
    const first = path();
    assert.match(first, /^\/cache\/busybox-[0-9a-f]{32}\.tar$/);
    assert.equal(path(), first, 'the same inputs, the same file');
    assert.notEqual(cachedArchivePath('/cache', 'busybox', ['kite.test/busybox:1', fileFingerprint(bin)]), first, 'another tag');
    assert.notEqual(cachedArchivePath('/cache', 'pause', ['docker.io/library/busybox:latest', fileFingerprint(bin)]), first, 'another image');
    // The binary replaced (an upgrade of busybox-static): a new size or modification time.
    writeFileSync(bin, 'two, longer');
    assert.notEqual(path(), first);
    const second = path();
    utimesSync(bin, new Date(2020, 0, 1), new Date(2020, 0, 1));
    assert.notEqual(path(), second);
    assert.equal(fileFingerprint(join(dir, 'missing')), `${join(dir, 'missing')}:absent`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
