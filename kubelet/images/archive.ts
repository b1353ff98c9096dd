// Writes docker-archive image tarballs (the `docker save` layout that
// `ctr images import` understands): one directory per layer holding layer.tar, an
// image config named by its sha256, and manifest.json tying them to repo tags.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeTar, type TarEntry } from './tar.js';

/** Fixed timestamp for image contents, so identical inputs give identical image IDs. */
export const IMAGE_EPOCH = Date.UTC(2024, 0, 1) / 1000;

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The OCI/Docker architecture name of this machine. */
export function imageArch(): string {
  switch (process.arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    default:
      return process.arch; // arm64, arm, ppc64, s390x, riscv64 match already
  }
}

/** Runtime defaults baked into the image config (docker "config" section). */
export interface ImageRunConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  StopSignal?: string;
  Labels?: Record<string, string>;
}

export interface DockerArchiveSpec {
  /** e.g. ['docker.io/library/busybox:latest'] */
  repoTags: string[];
  /** layers bottom-up, each an uncompressed tar */
  layers: Buffer[];
  config: ImageRunConfig;
  /** history comment for each layer */
  createdBy?: string[];
}

export interface DockerArchive {
  tar: Buffer;
  /** sha256:<config digest>, the image ID */
  imageId: string;
  /** sha256:<layer digest> per layer (rootfs.diff_ids) */
  diffIds: string[];
}

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Builds the archive in memory. */
export function buildDockerArchive(spec: DockerArchiveSpec): DockerArchive {
  if (spec.layers.length === 0) throw new Error('an image needs at least one layer');
  const created = new Date(IMAGE_EPOCH * 1000).toISOString();
  const diffIds = spec.layers.map((l) => `sha256:${sha256(l)}`);
  const config = {
    architecture: imageArch(),
    os: 'linux',
    created,
    config: spec.config,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: spec.layers.map((_, i) => ({ created, created_by: spec.createdBy?.[i] ?? 'kite image builder' })),
  };
  const configJson = Buffer.from(JSON.stringify(config));
  const configHex = sha256(configJson);
  const layerPaths = diffIds.map((d) => `${d.slice('sha256:'.length)}/layer.tar`);
  const manifest = [{ Config: `${configHex}.json`, RepoTags: spec.repoTags, Layers: layerPaths }];

  const entries: TarEntry[] = [];
  spec.layers.forEach((layer, i) => {
    const dir = layerPaths[i]!.slice(0, -'/layer.tar'.length);
    entries.push(
      { type: 'dir', name: dir, mtime: IMAGE_EPOCH },
      { type: 'file', name: `${dir}/VERSION`, data: Buffer.from('1.0'), mtime: IMAGE_EPOCH },
      { type: 'file', name: layerPaths[i]!, data: layer, mtime: IMAGE_EPOCH },
    );
  });
  entries.push(
    { type: 'file', name: `${configHex}.json`, data: configJson, mtime: IMAGE_EPOCH },
    { type: 'file', name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)), mtime: IMAGE_EPOCH },
  );
  return { tar: writeTar(entries), imageId: `sha256:${configHex}`, diffIds };
}

/** Writes a file atomically (temp file in the same directory, then rename). */
export function writeFileAtomic(path: string, data: Buffer | string): void {
  mkdirSync(dirname(path), { recursive: true });
  // Unique per writer: nodes in threads of one process may write the same cached archive.
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Standard top-level directories for a minimal root filesystem layer. */
export function baseRootfsEntries(): TarEntry[] {
  const m = IMAGE_EPOCH;
  const dirs: Array<[string, number]> = [
    ['bin', 0o755],
    ['dev', 0o755],
    ['etc', 0o755],
    ['home', 0o755],
    ['proc', 0o555],
    ['root', 0o700],
    ['sys', 0o555],
    ['tmp', 0o1777],
    ['usr', 0o755],
    ['usr/bin', 0o755],
    ['usr/sbin', 0o755],
    ['sbin', 0o755],
    ['var', 0o755],
    ['var/run', 0o755],
    ['var/www', 0o755],
  ];
  const entries: TarEntry[] = dirs.map(([name, mode]) => ({ type: 'dir', name, mode, mtime: m }));
  entries.push(
    { type: 'file', name: 'etc/passwd', mtime: m, data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n') },
    { type: 'file', name: 'etc/group', mtime: m, data: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
  );
  return entries;
}
