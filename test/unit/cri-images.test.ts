// Unit tests of kite's local image building: tar writer/reader, docker-archive
// layout and digests, static busybox and pause images.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTar, writeTar } from '../../kubelet/images/tar.js';
import { buildDockerArchive, sha256, imageArch } from '../../kubelet/images/archive.js';
import { isStaticElf, isStaticElfFile } from '../../kubelet/images/elf.js';
import { buildBusyboxImage, findStaticBusybox, BUSYBOX_IMAGE } from '../../kubelet/images/busybox.js';
import { buildPauseImage, PAUSE_IMAGE } from '../../kubelet/images/pause.js';

function hasTool(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('tar: round trip of files, dirs, symlinks and long names', () => {
  const longDir = 'a/'.repeat(70) + 'deep';
  const longName = 'x'.repeat(150);
  const tar = writeTar([
    { type: 'dir', name: 'bin', mode: 0o755 },
    { type: 'file', name: 'bin/hello', data: Buffer.from('hi\n'), mode: 0o755, mtime: 1700000000 },
    { type: 'symlink', name: 'bin/sh', target: 'busybox' },
    { type: 'file', name: `${longDir}/file.txt`, data: Buffer.from('prefix split') },
    { type: 'file', name: longName, data: Buffer.alloc(1000, 7) },
    { type: 'symlink', name: 'l', target: 't'.repeat(120) },
  ]);
  assert.equal(tar.length % 512, 0);
  const entries = readTar(tar);
  assert.deepEqual(
    entries.map((e) => [e.type, e.name]),
    [
      ['dir', 'bin/'],
      ['file', 'bin/hello'],
      ['symlink', 'bin/sh'],
      ['file', `${longDir}/file.txt`],
      ['file', longName],
      ['symlink', 'l'],
    ],
  );
  assert.equal(entries[1]!.data.toString(), 'hi\n');
  assert.equal(entries[1]!.mode, 0o755);
  assert.equal(entries[1]!.mtime, 1700000000);
  assert.equal(entries[2]!.linkname, 'busybox');
  assert.equal(entries[4]!.data.length, 1000);
  assert.equal(entries[5]!.linkname, 't'.repeat(120));
});

test('tar: GNU tar reads what we write', { skip: hasTool('tar') ? false : 'no tar binary' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-tar-'));
  try {
    const long = 'd/'.repeat(60) + 'f';
    const path = join(dir, 't.tar');
    const buf = writeTar([
      { type: 'file', name: 'a.txt', data: Buffer.from('A') },
      { type: 'symlink', name: 'b', target: 'a.txt' },
      { type: 'file', name: long, data: Buffer.from('L') },
    ]);
    writeFileSync(path, buf);
    const listing = execFileSync('tar', ['-tf', path], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(listing, ['a.txt', 'b', long]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tar: corrupted header is rejected', () => {
  const tar = writeTar([{ type: 'file', name: 'a', data: Buffer.from('x') }]);
  tar[0] = 'b'.charCodeAt(0);
  assert.throws(() => readTar(tar), /checksum/);
});

test('docker archive: manifest, config digests and diff_ids', () => {
  const layer = writeTar([{ type: 'file', name: 'hello', data: Buffer.from('world') }]);
  const a = buildDockerArchive({ repoTags: ['example.test/x:1'], layers: [layer], config: { Cmd: ['/hello'] } });
  const b = buildDockerArchive({ repoTags: ['example.test/x:1'], layers: [layer], config: { Cmd: ['/hello'] } });
  assert.equal(a.imageId, b.imageId, 'deterministic image id');
  assert.deepEqual(a.tar, b.tar, 'deterministic archive bytes');

  const files = new Map(readTar(a.tar).filter((e) => e.type === 'file').map((e) => [e.name, e.data]));
  const manifest = JSON.parse(files.get('manifest.json')!.toString());
  assert.equal(manifest.length, 1);
  assert.deepEqual(manifest[0].RepoTags, ['example.test/x:1']);
  const configBytes = files.get(manifest[0].Config)!;
  assert.equal(`sha256:${sha256(configBytes)}`, a.imageId);
  assert.equal(manifest[0].Config, `${a.imageId.slice(7)}.json`);
  const config = JSON.parse(configBytes.toString());
  assert.equal(config.os, 'linux');
  assert.equal(config.architecture, imageArch());
  assert.equal(config.rootfs.type, 'layers');
  assert.deepEqual(config.rootfs.diff_ids, [`sha256:${sha256(layer)}`]);
  assert.deepEqual(config.config.Cmd, ['/hello']);
  const layerBytes = files.get(manifest[0].Layers[0])!;
  assert.deepEqual(layerBytes, layer);
  assert.throws(() => buildDockerArchive({ repoTags: [], layers: [], config: {} }), /at least one layer/);
});

test('elf: static detection', () => {
  assert.equal(isStaticElf(Buffer.from('#!/bin/sh\n'.padEnd(128, ' '))), false);
  // node itself is dynamically linked on Debian
  assert.equal(isStaticElfFile(process.execPath), false);
  const bb = findStaticBusybox();
  if (bb) assert.equal(isStaticElfFile(bb), true);
});

test('busybox image: static binary and applet symlinks', { skip: findStaticBusybox() ? false : 'busybox-static not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-img-'));
  try {
    const img = await buildBusyboxImage(BUSYBOX_IMAGE, { outPath: join(dir, 'bb.tar') });
    assert.equal(img.ref, BUSYBOX_IMAGE);
    const files = new Map(readTar(readFileSync(img.path)).map((e) => [e.name, e]));
    const manifest = JSON.parse(files.get('manifest.json')!.data.toString());
    assert.deepEqual(manifest[0].RepoTags, [BUSYBOX_IMAGE]);
    const layer = new Map(readTar(files.get(manifest[0].Layers[0])!.data).map((e) => [e.name, e]));
    assert.ok(isStaticElf(layer.get('bin/busybox')!.data), 'bin/busybox is static');
    for (const applet of ['sh', 'ls', 'httpd', 'nc', 'wget', 'sleep', 'cat', 'echo']) {
      const e = layer.get(`bin/${applet}`);
      assert.ok(e, `bin/${applet} present`);
      assert.equal(e.type, 'symlink');
      assert.equal(e.linkname, 'busybox');
    }
    assert.equal(layer.get('tmp/')?.mode, 0o1777);
    assert.ok(layer.get('etc/passwd')?.data.toString().startsWith('root:x:0:0:'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pause image: compiled static binary, or busybox fallback', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-img-'));
  try {
    if (hasTool('gcc')) {
      const img = await buildPauseImage({ outPath: join(dir, 'pause.tar') });
      assert.equal(img.ref, PAUSE_IMAGE);
      // gcc without a static libc (libc6-dev) falls back to busybox
      if (img.variant !== 'c') {
        assert.equal(img.variant, 'busybox');
        return;
      }
      const files = new Map(readTar(readFileSync(img.path)).map((e) => [e.name, e]));
      const manifest = JSON.parse(files.get('manifest.json')!.data.toString());
      const config = JSON.parse(files.get(manifest[0].Config)!.data.toString());
      assert.deepEqual(config.config.Entrypoint, ['/pause']);
      const layer = readTar(files.get(manifest[0].Layers[0])!.data);
      assert.equal(layer.length, 1);
      assert.equal(layer[0]!.name, 'pause');
      assert.ok(isStaticElf(layer[0]!.data));
      // The binary runs, answers -v, and exits 0 on SIGTERM.
      const bin = join(dir, 'pause-bin');
      writeFileSync(bin, layer[0]!.data);
      chmodSync(bin, 0o755);
      assert.equal(execFileSync(bin, ['-v'], { encoding: 'utf8' }).trim(), 'kite-pause 3.10');
      const out = execFileSync('sh', ['-c', `"${bin}" & p=$!; sleep 0.2; kill -TERM $p; wait $p; echo rc=$?`], { encoding: 'utf8' });
      assert.equal(out.trim(), 'rc=0');
    }
    if (findStaticBusybox()) {
      const fb = await buildPauseImage({ outPath: join(dir, 'pause-fb.tar'), cc: false });
      assert.equal(fb.variant, 'busybox');
      assert.ok(existsSync(fb.path));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
