// kite's pause (sandbox) image, built on the machine with no registry.
//
// The sandbox container only has to hold the pod's namespaces open: it sleeps
// until SIGTERM or SIGINT and, as PID 1 of the pod, reaps orphaned children.
// With a C compiler it is a few-kilobyte static program compiled here; without
// one it falls back to busybox-static's shell.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildDockerArchive, IMAGE_EPOCH, writeFileAtomic, DEFAULT_PATH_ENV } from './archive.js';
import { busyboxBuildInputs, findStaticBusybox } from './busybox.js';
import { fileFingerprint } from './cache.js';
import { isStaticElf } from './elf.js';
import { writeTar, type TarEntry } from './tar.js';

const run = promisify(execFile);

export const PAUSE_IMAGE = 'kite.local/pause:3.10';

export interface BuiltImage {
  /** the docker-archive tar written */
  path: string;
  /** the repo tag inside it */
  ref: string;
  /** sha256:<config digest> */
  imageId: string;
  /** how the pause binary was made (pause image only) */
  variant?: 'c' | 'busybox';
}

/** Source of the pause program (kite's own). */
export const PAUSE_C_SOURCE = `/* kite pause: hold the pod's namespaces, reap zombies, exit on TERM/INT. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
  sigset_t wanted;
  int sig;

  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    puts("kite-pause 3.10");
    return 0;
  }
  sigemptyset(&wanted);
  sigaddset(&wanted, SIGTERM);
  sigaddset(&wanted, SIGINT);
  sigaddset(&wanted, SIGCHLD);
  /* Blocked signals stay pending (even SIGCHLD, whose default is to ignore),
     so sigwait picks them up one at a time. */
  if (sigprocmask(SIG_BLOCK, &wanted, NULL) != 0) {
    perror("sigprocmask");
    return 1;
  }
  for (;;) {
    if (sigwait(&wanted, &sig) != 0) continue;
    if (sig == SIGCHLD) {
      while (waitpid(-1, NULL, WNOHANG) > 0) {
      }
      continue;
    }
    return 0;
  }
}
`;

/** Shell loop used when no C compiler is available. */
const FALLBACK_SCRIPT = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done";

function whichSync(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

/** What buildPauseImage reads besides its own source, for the archive cache's key: the compiler it would use, else busybox. */
export function pauseBuildInputs(): string[] {
  const compiler = whichSync('gcc') ?? whichSync('cc');
  return compiler ? [`cc=${fileFingerprint(compiler)}`] : busyboxBuildInputs();
}

/** Compiles the pause program statically; returns the binary or null when no working compiler. */
export async function compilePause(cc?: string): Promise<Buffer | null> {
  const compiler = cc ?? whichSync('gcc') ?? whichSync('cc');
  if (!compiler) return null;
  const dir = mkdtempSync(join(tmpdir(), 'kite-pause-'));
  try {
    writeFileSync(join(dir, 'pause.c'), PAUSE_C_SOURCE);
    await run(compiler, ['-static', '-Os', '-s', '-o', join(dir, 'pause'), join(dir, 'pause.c')], { timeout: 120_000 });
    const bin = readFileSync(join(dir, 'pause'));
    return isStaticElf(bin) ? bin : null;
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface BuildPauseOptions {
  /** where to write the tar (default: $TMPDIR/kite-images/pause-3.10.tar) */
  outPath?: string;
  /** C compiler to use; false to force the busybox fallback */
  cc?: string | false;
  ref?: string;
}

/** Builds kite.local/pause:3.10 as a docker-archive tar. */
export async function buildPauseImage(opts: BuildPauseOptions = {}): Promise<BuiltImage> {
  const ref = opts.ref ?? PAUSE_IMAGE;
  const outPath = opts.outPath ?? join(tmpdir(), 'kite-images', 'pause-3.10.tar');
  const m = IMAGE_EPOCH;
  const bin = opts.cc === false ? null : await compilePause(opts.cc);
  let layer: Buffer;
  let config;
  let variant: 'c' | 'busybox';
  if (bin) {
    variant = 'c';
    layer = writeTar([{ type: 'file', name: 'pause', data: bin, mode: 0o755, mtime: m }]);
    config = { Entrypoint: ['/pause'], Env: [DEFAULT_PATH_ENV] };
  } else {
    const busybox = findStaticBusybox();
    if (!busybox) throw new Error('cannot build the pause image: no C compiler (gcc) and no static busybox (apt-get install busybox-static)');
    variant = 'busybox';
    const entries: TarEntry[] = [
      { type: 'dir', name: 'bin', mtime: m },
      { type: 'file', name: 'bin/busybox', data: readFileSync(busybox), mode: 0o755, mtime: m },
      { type: 'symlink', name: 'bin/sh', target: 'busybox', mtime: m },
      { type: 'symlink', name: 'bin/sleep', target: 'busybox', mtime: m },
    ];
    layer = writeTar(entries);
    config = { Entrypoint: ['/bin/sh', '-c', FALLBACK_SCRIPT], Env: [DEFAULT_PATH_ENV] };
  }
  const archive = buildDockerArchive({ repoTags: [ref], layers: [layer], config, createdBy: [`kite pause (${variant})`] });
  writeFileAtomic(outPath, archive.tar);
  return { path: outPath, ref, imageId: archive.imageId, variant };
}
