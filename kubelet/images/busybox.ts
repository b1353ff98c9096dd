// Test images built from the host's busybox-static: one static binary plus a
// symlink in /bin for every applet (sh, ls, httpd, nc, wget, sleep, cat, echo, ...),
// laid out like the busybox image on Docker Hub.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseRootfsEntries, buildDockerArchive, DEFAULT_PATH_ENV, IMAGE_EPOCH, writeFileAtomic } from './archive.js';
import { fileFingerprint } from './cache.js';
import { isStaticElfFile } from './elf.js';
import type { BuiltImage } from './pause.js';
import { writeTar, type TarEntry } from './tar.js';

export const BUSYBOX_IMAGE = 'docker.io/library/busybox:latest';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox', '/usr/lib/busybox/busybox-static'];

/** Path of a statically linked busybox on this machine (busybox-static), or null. */
export function findStaticBusybox(): string | null {
  for (const p of BUSYBOX_CANDIDATES) if (isStaticElfFile(p)) return p;
  return null;
}

/** What buildBusyboxImage reads, for the archive cache's key: the busybox binary. */
export function busyboxBuildInputs(): string[] {
  return [`busybox=${fileFingerprint(findStaticBusybox() ?? 'none')}`];
}

/** Applet names the binary provides (`busybox --list`). */
export function busyboxApplets(busybox: string): string[] {
  const out = execFileSync(busybox, ['--list'], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'busybox' && !s.includes('/'));
}

export interface BuildBusyboxOptions {
  /** where to write the tar (default: $TMPDIR/kite-images/<sanitised tag>.tar) */
  outPath?: string;
  /** busybox binary to use (must be static) */
  busybox?: string;
}

/** Builds a busybox image tagged `tag` as a docker-archive tar. */
export async function buildBusyboxImage(tag: string = BUSYBOX_IMAGE, opts: BuildBusyboxOptions = {}): Promise<BuiltImage> {
  const busybox = opts.busybox ?? findStaticBusybox();
  if (!busybox || !isStaticElfFile(busybox)) {
    throw new Error('no statically linked busybox found: apt-get install busybox-static');
  }
  const m = IMAGE_EPOCH;
  const entries: TarEntry[] = baseRootfsEntries();
  entries.push({ type: 'file', name: 'bin/busybox', data: readFileSync(busybox), mode: 0o755, mtime: m });
  for (const applet of busyboxApplets(busybox)) {
    entries.push({ type: 'symlink', name: `bin/${applet}`, target: 'busybox', mtime: m });
  }
  const layer = writeTar(entries);
  const archive = buildDockerArchive({
    repoTags: [tag],
    layers: [layer],
    config: { Cmd: ['sh'], Env: [DEFAULT_PATH_ENV] },
    createdBy: ['kite busybox from busybox-static'],
  });
  const outPath = opts.outPath ?? join(tmpdir(), 'kite-images', `${tag.replace(/[^A-Za-z0-9._-]+/g, '_')}.tar`);
  writeFileAtomic(outPath, archive.tar);
  return { path: outPath, ref: tag, imageId: archive.imageId };
}
