// A machine-wide cache of the node images' archives (pause, busybox). Every new node
// otherwise builds them again: the pause program is compiled with gcc (a few hundred
// milliseconds of CPU, while the API server, containerd and the kubelet start on the
// same cores) and busybox's layer is written from busybox-static. The archives are
// deterministic, so one built from the same inputs by the same kite is the same file.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from './archive.js';

/** Where the archives are kept: on the disk, like a package manager's cache (KITE_IMAGE_CACHE overrides; "off" turns it off). */
export function imageCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.KITE_IMAGE_CACHE ?? '/var/cache/kite/images';
  return dir === '' || dir === 'off' ? undefined : dir;
}

/** A file's identity for the cache key: its path, size and modification time (missing files count too). */
export function fileFingerprint(path: string): string {
  try {
    const st = statSync(path);
    return `${path}:${st.size}:${st.mtimeMs}`;
  } catch {
    return `${path}:absent`;
  }
}

/**
 * The modules that write the archives: a kite built again (another tar writer, another
 * image config) makes new keys, so an upgrade never reuses an archive an older kite wrote.
 */
const BUILDER_MODULES = ['archive.js', 'tar.js', 'pause.js', 'busybox.js'].map((m) => fileURLToPath(new URL(`./${m}`, import.meta.url)));

/** The cache file for an archive of `name` built from `inputs` (fingerprints of everything the build reads). */
export function cachedArchivePath(dir: string, name: string, inputs: readonly string[]): string {
  const key = sha256(JSON.stringify([name, ...inputs, ...BUILDER_MODULES.map(fileFingerprint)])).slice(0, 32);
  return join(dir, `${name}-${key}.tar`);
}
