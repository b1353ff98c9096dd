// Pod volumes (upstream: pkg/volume/{emptydir,hostpath,configmap,secret,
// downwardapi,projected}, util/atomic_writer.go). Each pod gets
// <root>/pods/<uid>/volumes/<plugin>/<name>; containers bind-mount those.
//
// configMap, secret, downwardAPI and projected volumes are written with the
// atomic writer scheme: the files live in a timestamped directory
// `..<timestamp>`, `..data` is a symlink to it, and every top-level name is a
// symlink through `..data`, so an update (a new directory, then one rename of
// `..data`) is seen by readers all at once. Sync refreshes them periodically,
// which propagates ConfigMap/Secret changes into running containers and
// renews projected service account tokens (the kubelet's token cache decides
// when a token needs renewing: 80 % of its lifetime or 24 h).
//
// PersistentVolumeClaims are a seam for later (`volumeSource` returns an error).
import { execFile } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { ConfigMap, Container, DownwardAPIVolumeFile, KeyToPath, Pod, Secret, Volume } from 'kubernetes-types/core/v1.js';
import { podFieldValue, resourceFieldValue, type NodeAllocatable, type PodRuntimeFacts } from './env.js';
import { bytesOf } from './resources.js';
import { mountsUnder } from './runtime/index.js';
import { applyFsGroup, resolveClaimVolume } from './volumes-pvc.js';
import type { ClaimSources } from './volumes-pvc.js';

const run = promisify(execFile);

export class VolumeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'VolumeError';
  }
}

export interface VolumeSources {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /**
   * A service account token for a projected volume (upstream's token manager:
   * cached until it needs renewing). Throws when none can be had: the volume
   * then fails to set up, as upstream.
   */
  serviceAccountToken?(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string>;
  allocatable: NodeAllocatable;
  /** Claims and volumes, for persistentVolumeClaim and ephemeral volumes (kubelet/volumes-pvc.ts). */
  claims?: ClaimSources;
}

export interface MountedVolume {
  name: string;
  hostPath: string;
  /** the volume type forces read-only mounts (configMap, secret, downwardAPI, projected) */
  readOnly: boolean;
  kind: string;
}

export interface FilePayload {
  data: Buffer;
  mode: number;
  /** group owner (the pod's fsGroup) */
  gid?: number;
}

const PLUGIN_DIRS: Record<string, string> = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
};

function volumeKind(v: Volume): string {
  for (const k of ['emptyDir', 'hostPath', 'configMap', 'secret', 'downwardAPI', 'projected', 'persistentVolumeClaim', 'ephemeral', 'image']) {
    if ((v as unknown as Record<string, unknown>)[k] !== undefined) return k;
  }
  const keys = Object.keys(v).filter((k) => k !== 'name');
  return keys[0] ?? 'emptyDir';
}

// ---------------------------------------------------------------- atomic writer

const DATA_DIR = '..data';
const DATA_DIR_TMP = '..data_tmp';

function timestampDirName(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const nanos = (process.hrtime.bigint() % 1_000_000_000n).toString().padStart(9, '0');
  return `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}.${nanos}`;
}

function validatePayloadPath(path: string): string {
  if (path === '' || path.startsWith('/') || path.split('/').some((s) => s === '..') || path.startsWith('..')) {
    throw new VolumeError(`invalid path ${JSON.stringify(path)} in volume payload`);
  }
  return normalize(path);
}

function readCurrentPayload(dir: string): Map<string, FilePayload> | undefined {
  const data = join(dir, DATA_DIR);
  let target: string;
  try {
    target = readlinkSync(data);
  } catch {
    return undefined;
  }
  const base = join(dir, target);
  const out = new Map<string, FilePayload>();
  const walk = (rel: string) => {
    for (const e of readdirSync(join(base, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else {
        const full = join(base, r);
        const st = statSync(full);
        out.set(r, { data: readFileSync(full), mode: st.mode & 0o7777, gid: st.gid });
      }
    }
  };
  try {
    walk('');
  } catch {
    return undefined;
  }
  return out;
}

function samePayload(current: Map<string, FilePayload>, wanted: Map<string, FilePayload>): boolean {
  if (current.size !== wanted.size) return false;
  for (const [k, w] of wanted) {
    const c = current.get(k);
    if (!c || c.mode !== w.mode || !c.data.equals(w.data) || (w.gid !== undefined && c.gid !== w.gid)) return false;
  }
  return true;
}

/**
 * Makes `dir` hold exactly `payload` (relative path → contents), switching
 * atomically. Returns whether anything changed.
 */
export function writeAtomically(dir: string, payload: Map<string, FilePayload>): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const k of payload.keys()) validatePayloadPath(k);
  const current = readCurrentPayload(dir);
  if (current && samePayload(current, payload)) return false;

  const tsName = timestampDirName();
  const tsDir = join(dir, tsName);
  mkdirSync(tsDir, { mode: 0o755 });
  for (const [rel, f] of payload) {
    const full = join(tsDir, rel);
    mkdirSync(dirname(full), { recursive: true, mode: 0o755 });
    writeFileSync(full, f.data, { mode: f.mode });
    if (f.gid !== undefined) chownSync(full, process.getuid?.() ?? 0, f.gid);
    chmodSync(full, f.mode);
  }
  chmodSync(tsDir, 0o755);
  let oldTarget: string | undefined;
  try {
    oldTarget = readlinkSync(join(dir, DATA_DIR));
  } catch {
    oldTarget = undefined;
  }
  rmSync(join(dir, DATA_DIR_TMP), { force: true });
  symlinkSync(tsName, join(dir, DATA_DIR_TMP));
  renameSync(join(dir, DATA_DIR_TMP), join(dir, DATA_DIR));

  // Top-level names point through ..data.
  const topLevel = new Set([...payload.keys()].map((k) => k.split('/')[0]!));
  for (const name of topLevel) {
    const link = join(dir, name);
    let ok: boolean;
    try {
      ok = lstatSync(link).isSymbolicLink() && readlinkSync(link) === join(DATA_DIR, name);
    } catch {
      ok = false;
    }
    if (!ok) {
      rmSync(link, { force: true, recursive: true });
      symlinkSync(join(DATA_DIR, name), link);
    }
  }
  for (const e of readdirSync(dir)) {
    if (e.startsWith('..') || topLevel.has(e)) continue;
    rmSync(join(dir, e), { force: true, recursive: true });
  }
  if (oldTarget && oldTarget !== tsName) rmSync(join(dir, oldTarget), { recursive: true, force: true });
  // Stray timestamped dirs from interrupted writes.
  for (const e of readdirSync(dir)) {
    if (e.startsWith('..') && e !== DATA_DIR && e !== tsName && /^\.\.\d{4}_/.test(e)) rmSync(join(dir, e), { recursive: true, force: true });
  }
  return true;
}

// ---------------------------------------------------------------- payloads

function keyPayload(
  data: Record<string, Buffer>,
  items: KeyToPath[] | undefined,
  defaultMode: number,
  optional: boolean,
  what: string,
  out: Map<string, FilePayload>,
): void {
  if (!items || items.length === 0) {
    for (const [k, v] of Object.entries(data)) out.set(k, { data: v, mode: defaultMode });
    return;
  }
  for (const it of items) {
    const v = data[it.key];
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeError(`configmap references non-existent config key: ${it.key}`.replace('configmap', what));
    }
    out.set(validatePayloadPath(it.path), { data: v, mode: it.mode ?? defaultMode });
  }
}

function configMapData(cm: ConfigMap): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) out[k] = Buffer.from(v, 'utf8');
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out[k] = Buffer.from(v, 'base64');
  return out;
}

function secretData(s: Secret): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(s.stringData ?? {})) if (!(k in out)) out[k] = Buffer.from(v, 'utf8');
  return out;
}

function downwardPayload(pod: Pod, items: DownwardAPIVolumeFile[], defaultMode: number, facts: PodRuntimeFacts, alloc: NodeAllocatable, out: Map<string, FilePayload>): void {
  for (const it of items) {
    let value: string;
    if (it.fieldRef) value = podFieldValue(pod, it.fieldRef.fieldPath, facts);
    else if (it.resourceFieldRef) {
      const cname = it.resourceFieldRef.containerName;
      const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === cname);
      if (!c) throw new VolumeError(`container ${cname} not found`);
      value = resourceFieldValue(c, it.resourceFieldRef.resource, it.resourceFieldRef.divisor as string | undefined, alloc);
    } else continue;
    out.set(validatePayloadPath(it.path), { data: Buffer.from(value, 'utf8'), mode: it.mode ?? defaultMode });
  }
}

/**
 * With an fsGroup the files belong to that group and are group-readable
 * (upstream SetVolumeOwnership on the volume after the atomic write).
 */
function applyFsGroupToPayload(payload: Map<string, FilePayload>, fsGroup: number | undefined): Map<string, FilePayload> {
  if (fsGroup === undefined) return payload;
  for (const f of payload.values()) {
    f.gid = fsGroup;
    f.mode |= 0o040;
  }
  return payload;
}

/** Several failures read as upstream's aggregate error: one message, or `[a, b]`. */
function aggregate(errors: string[]): string {
  return errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`;
}

// ---------------------------------------------------------------- the manager

export interface VolumeManagerOptions {
  /** <root>/pods */
  podsDir: string;
  log?: (msg: string) => void;
}

export class VolumeManager {
  private readonly tmpfsMounted = new Set<string>();

  constructor(private readonly opts: VolumeManagerOptions) {}

  podDir(uid: string): string {
    return join(this.opts.podsDir, uid);
  }

  volumeDir(uid: string, v: Volume): string {
    const kind = volumeKind(v);
    const plugin = PLUGIN_DIRS[kind] ?? `kubernetes.io~${kind}`;
    return join(this.podDir(uid), 'volumes', plugin, v.name);
  }

  /**
   * Sets up (or refreshes) every volume of the pod; returns name → host path.
   * Throws VolumeError for a volume that cannot be provided (the pod then
   * waits in ContainerCreating, as upstream).
   */
  /** `previous`: what the pod had mounted before, so a running pod keeps a claim being deleted. */
  async setUp(pod: Pod, facts: PodRuntimeFacts, src: VolumeSources, previous?: Map<string, MountedVolume>): Promise<Map<string, MountedVolume>> {
    const uid = pod.metadata!.uid!;
    mkdirSync(join(this.podDir(uid), 'volumes'), { recursive: true, mode: 0o750 });
    const out = new Map<string, MountedVolume>();
    for (const v of pod.spec?.volumes ?? []) {
      try {
        await this.setUpVolume(pod, v, facts, src, previous, out);
      } catch (err) {
        throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : ${(err as Error).message}`, { cause: err });
      }
    }
    return out;
  }

  private async setUpVolume(pod: Pod, v: Volume, facts: PodRuntimeFacts, src: VolumeSources, previous: Map<string, MountedVolume> | undefined, out: Map<string, MountedVolume>): Promise<void> {
    const uid = pod.metadata!.uid!;
    const ns = pod.metadata?.namespace ?? 'default';
    const fsGroup = pod.spec?.securityContext?.fsGroup;
    {
      const kind = volumeKind(v);
      const dir = this.volumeDir(uid, v);
      switch (kind) {
        case 'emptyDir': {
          mkdirSync(dir, { recursive: true, mode: 0o777 });
          chmodSync(dir, 0o777);
          if (v.emptyDir?.medium === 'Memory') await this.mountTmpfs(dir, v.emptyDir.sizeLimit as string | undefined, src.allocatable.memoryBytes);
          out.set(v.name, { name: v.name, hostPath: dir, readOnly: false, kind });
          break;
        }
        case 'hostPath': {
          const path = v.hostPath!.path;
          this.checkHostPath(path, v.hostPath!.type ?? '');
          out.set(v.name, { name: v.name, hostPath: path, readOnly: false, kind });
          break;
        }
        case 'configMap': {
          const ref = v.configMap!;
          const cm = await src.configMap(ns, ref.name ?? '');
          const payload = new Map<string, FilePayload>();
          if (!cm) {
            if (!ref.optional) throw new VolumeError(`configmap "${ref.name}" not found`);
          } else {
            keyPayload(configMapData(cm), ref.items, ref.defaultMode ?? 0o644, !!ref.optional, 'configmap', payload);
          }
          writeAtomically(dir, applyFsGroupToPayload(payload, fsGroup));
          out.set(v.name, { name: v.name, hostPath: dir, readOnly: true, kind });
          break;
        }
        case 'secret': {
          const ref = v.secret!;
          const s = await src.secret(ns, ref.secretName ?? '');
          const payload = new Map<string, FilePayload>();
          if (!s) {
            if (!ref.optional) throw new VolumeError(`secret "${ref.secretName}" not found`);
          } else {
            keyPayload(secretData(s), ref.items, ref.defaultMode ?? 0o644, !!ref.optional, 'secret', payload);
          }
          writeAtomically(dir, applyFsGroupToPayload(payload, fsGroup));
          out.set(v.name, { name: v.name, hostPath: dir, readOnly: true, kind });
          break;
        }
        case 'downwardAPI': {
          const payload = new Map<string, FilePayload>();
          downwardPayload(pod, v.downwardAPI!.items ?? [], v.downwardAPI!.defaultMode ?? 0o644, facts, src.allocatable, payload);
          writeAtomically(dir, applyFsGroupToPayload(payload, fsGroup));
          out.set(v.name, { name: v.name, hostPath: dir, readOnly: true, kind });
          break;
        }
        case 'projected': {
          const payload = await this.projectedPayload(pod, v, facts, src);
          writeAtomically(dir, applyFsGroupToPayload(payload, fsGroup));
          out.set(v.name, { name: v.name, hostPath: dir, readOnly: true, kind });
          break;
        }
        case 'persistentVolumeClaim':
        case 'ephemeral': {
          if (!src.claims) throw new VolumeError(`volume "${v.name}": no claim source configured`);
          const m = await resolveClaimVolume(pod, v, src.claims, previous?.get(v.name));
          if (m.fsGroupManaged && fsGroup !== undefined && !previous?.has(v.name)) {
            applyFsGroup(m.hostPath, fsGroup, pod.spec?.securityContext?.fsGroupChangePolicy, m.readOnly);
          }
          out.set(v.name, m);
          break;
        }
        default:
          throw new VolumeError(`volume "${v.name}": ${kind} volumes are not supported by kite`);
      }
    }
  }

  /** Every source into one payload; failures are collected and reported together (upstream collectData). */
  private async projectedPayload(pod: Pod, v: Volume, facts: PodRuntimeFacts, src: VolumeSources): Promise<Map<string, FilePayload>> {
    const ns = pod.metadata?.namespace ?? 'default';
    const defaultMode = v.projected!.defaultMode ?? 0o644;
    const payload = new Map<string, FilePayload>();
    const errors: string[] = [];
    for (const s of v.projected!.sources ?? []) {
      try {
        if (s.configMap) {
          const cm = await src.configMap(ns, s.configMap.name ?? '');
          if (!cm) {
            if (!s.configMap.optional) throw new VolumeError(`configmap "${s.configMap.name}" not found`);
            continue;
          }
          keyPayload(configMapData(cm), s.configMap.items, defaultMode, !!s.configMap.optional, 'configmap', payload);
        } else if (s.secret) {
          const sec = await src.secret(ns, s.secret.name ?? '');
          if (!sec) {
            if (!s.secret.optional) throw new VolumeError(`secret "${s.secret.name}" not found`);
            continue;
          }
          keyPayload(secretData(sec), s.secret.items, defaultMode, !!s.secret.optional, 'secret', payload);
        } else if (s.downwardAPI) {
          downwardPayload(pod, s.downwardAPI.items ?? [], defaultMode, facts, src.allocatable, payload);
        } else if (s.serviceAccountToken) {
          const t = s.serviceAccountToken;
          if (!src.serviceAccountToken) throw new VolumeError('cannot setup projected volume because kubeClient is not configured');
          const token = await src.serviceAccountToken(pod, t.audience || undefined, t.expirationSeconds ?? 3600);
          // defaultMode, but only the owner when an fsGroup will open it to the group (upstream).
          const mode = pod.spec?.securityContext?.fsGroup !== undefined ? 0o600 : defaultMode;
          payload.set(validatePayloadPath(t.path), { data: Buffer.from(token), mode });
        }
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
    if (errors.length) throw new VolumeError(aggregate(errors));
    return payload;
  }

  private checkHostPath(path: string, type: string): void {
    if (!path.startsWith('/')) throw new VolumeError(`hostPath ${path} must be absolute`);
    const st = (() => {
      try {
        return statSync(path);
      } catch {
        return undefined;
      }
    })();
    const fail = (what: string) => {
      throw new VolumeError(`hostPath type check failed: ${path} is not a ${what}`);
    };
    switch (type) {
      case '':
        return;
      case 'DirectoryOrCreate':
        if (!st) {
          mkdirSync(path, { recursive: true, mode: 0o755 });
          return;
        }
        if (!st.isDirectory()) fail('directory');
        return;
      case 'Directory':
        if (!st || !st.isDirectory()) fail('directory');
        return;
      case 'FileOrCreate':
        if (!st) {
          mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
          writeFileSync(path, '', { mode: 0o644, flag: 'a' });
          return;
        }
        if (!st.isFile()) fail('file');
        return;
      case 'File':
        if (!st || !st.isFile()) fail('file');
        return;
      case 'Socket':
        if (!st || !st.isSocket()) fail('socket');
        return;
      case 'CharDevice':
        if (!st || !st.isCharacterDevice()) fail('character device');
        return;
      case 'BlockDevice':
        if (!st || !st.isBlockDevice()) fail('block device');
        return;
      default:
        throw new VolumeError(`hostPath type ${type} is not supported`);
    }
  }

  private async mountTmpfs(dir: string, sizeLimit: string | undefined, defaultBytes: number): Promise<void> {
    if (this.tmpfsMounted.has(dir) || isMountPoint(dir)) {
      this.tmpfsMounted.add(dir);
      return;
    }
    const size = bytesOf(sizeLimit) ?? defaultBytes;
    const opts = `mode=0777${size > 0 ? `,size=${size}` : ''}`;
    try {
      await run('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir]);
      this.tmpfsMounted.add(dir);
    } catch (err: any) {
      throw new VolumeError(`mount tmpfs on ${dir}: ${String(err?.stderr || err?.message).trim()}`);
    }
  }

  /** Unmounts and removes everything the pod had on disk (never follows into hostPaths). */
  async tearDown(uid: string): Promise<void> {
    const dir = this.podDir(uid);
    if (!existsSync(dir)) return;
    for (const m of mountsUnder(dir)) {
      try {
        await run('umount', [m]);
      } catch {
        try {
          await run('umount', ['-l', m]);
        } catch (err: any) {
          this.opts.log?.(`umount ${m}: ${String(err?.stderr || err?.message).trim()}`);
        }
      }
      this.tmpfsMounted.delete(m);
    }
    if (mountsUnder(dir).length > 0) throw new VolumeError(`pod directory ${dir} still has mounts`);
    rmSync(dir, { recursive: true, force: true });
  }

  /** UIDs with a directory under the pods dir (for orphan cleanup). */
  podsOnDisk(): string[] {
    try {
      return readdirSync(this.opts.podsDir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch {
      return [];
    }
  }
}


export function isMountPoint(dir: string): boolean {
  return mountsUnder(dir).includes(resolve(dir));
}

/** Host path for a container's volumeMount (with subPath), creating the subPath directory if missing. */
export function resolveMountSource(vol: MountedVolume, subPath: string | undefined): string {
  if (!subPath) return vol.hostPath;
  if (subPath.startsWith('/') || subPath.split('/').includes('..')) throw new VolumeError(`invalid subPath ${JSON.stringify(subPath)}`);
  const p = join(vol.hostPath, subPath);
  if (!existsSync(p)) mkdirSync(p, { recursive: true, mode: 0o755 });
  return p;
}

export type { Container };
