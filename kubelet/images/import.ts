// Loading local image archives into containerd's k8s.io namespace (where the CRI
// plugin looks for images). CRI itself has no import call; for now this shells
// out to ctr. Callers only see importImage(), so it can later be replaced by a
// client of containerd's content and images services.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';

const run = promisify(execFile);

export const CRI_NAMESPACE = 'k8s.io';

export interface ImportOptions {
  /** containerd namespace (default k8s.io) */
  namespace?: string;
  /** ctr binary (default: ctr on PATH) */
  ctr?: string;
  timeoutMs?: number;
}

export interface ImportResult {
  /** image names containerd recorded, e.g. docker.io/library/busybox:latest */
  images: string[];
  output: string;
}

/** ctr's arguments for the containerd on `socket` and the namespace. */
function ctrConnection(socket: string, opts: ImportOptions): string[] {
  return ['--address', socket.replace(/^unix:\/\//, ''), '-n', opts.namespace ?? CRI_NAMESPACE];
}

/** Imports a docker-archive or OCI tar into the containerd listening on `socket`. */
export async function importImage(socket: string, tarPath: string, opts: ImportOptions = {}): Promise<ImportResult> {
  if (!existsSync(tarPath)) throw new Error(`image archive not found: ${tarPath}`);
  const args = [...ctrConnection(socket, opts), 'images', 'import', '--all-platforms', tarPath];
  try {
    const { stdout, stderr } = await run(opts.ctr ?? 'ctr', args, { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 });
    const output = stdout + stderr;
    // ctr prints "unpacking <name> (sha256:...)...done" per image
    const images = [...output.matchAll(/unpacking (\S+) \(sha256:[0-9a-f]+\)/g)].map((m) => m[1]!);
    return { images, output };
  } catch (err: any) {
    const detail = [err?.stderr, err?.stdout, err?.message].filter(Boolean).join(' ').trim();
    throw new Error(`ctr images import ${tarPath} failed: ${detail}`, { cause: err });
  }
}

/**
 * The names of the images in containerd's namespace (default k8s.io), e.g.
 * docker.io/library/busybox:latest: whether an import is needed, asked of ctr like the
 * import itself, so that a node's start does not load the gRPC client for it.
 */
export async function listImageNames(socket: string, opts: ImportOptions = {}): Promise<Set<string>> {
  try {
    const { stdout } = await run(opts.ctr ?? 'ctr', [...ctrConnection(socket, opts), 'images', 'list', '--quiet'], { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 });
    return new Set(stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  } catch (err: any) {
    const detail = [err?.stderr, err?.message].filter(Boolean).join(' ').trim();
    throw new Error(`ctr images list failed: ${detail}`, { cause: err });
  }
}
