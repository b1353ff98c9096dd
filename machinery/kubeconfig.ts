// kubeconfig files: building one for a kite cluster (credentials embedded as base64
// data, so the file stands alone) and merging it into / removing it from the user's
// kubeconfig without disturbing anything else in there.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import YAML from 'yaml';

export interface KubeconfigCluster {
  name: string;
  cluster: { server: string; 'certificate-authority-data'?: string; [k: string]: unknown };
}
export interface KubeconfigUser {
  name: string;
  user: { 'client-certificate-data'?: string; 'client-key-data'?: string; token?: string; [k: string]: unknown };
}
export interface KubeconfigContext {
  name: string;
  context: { cluster: string; user: string; namespace?: string; [k: string]: unknown };
}
export interface Kubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: KubeconfigCluster[];
  users: KubeconfigUser[];
  contexts: KubeconfigContext[];
  'current-context': string;
  preferences: Record<string, unknown>;
  [k: string]: unknown;
}

export interface KubeconfigInput {
  /** The kite cluster name; kubeconfig entries are called `kite-<name>`. */
  clusterName: string;
  /** e.g. https://127.0.0.1:6443 */
  server: string;
  /** PEM */
  caCert: string;
  /** PEM */
  clientCert: string;
  /** PEM */
  clientKey: string;
}

/** The name of the cluster, user and context entries for a kite cluster. */
export function contextName(clusterName: string): string {
  return `kite-${clusterName}`;
}

const b64 = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');

/** A complete kubeconfig whose only cluster/user/context is `kite-<clusterName>`, current. */
export function buildKubeconfig(input: KubeconfigInput): Kubeconfig {
  const name = contextName(input.clusterName);
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: input.server, 'certificate-authority-data': b64(input.caCert) } }],
    users: [{ name, user: { 'client-certificate-data': b64(input.clientCert), 'client-key-data': b64(input.clientKey) } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    preferences: {},
  };
}

export function kubeconfigToYAML(cfg: object): string {
  return YAML.stringify(cfg, { lineWidth: 0 });
}

/** Parses kubeconfig YAML; an empty document is an empty config. */
export function parseKubeconfig(text: string, source = 'kubeconfig'): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new Error(`cannot parse ${source}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${source} is not a kubeconfig (not a mapping)`);
  return doc as Record<string, unknown>;
}

/**
 * The file kubectl would write a new entry to: with $KUBECONFIG set, the first file of the
 * list that exists, or the last one when none exists (kubectl's rule; for the usual
 * single-entry $KUBECONFIG that is simply that file); otherwise ~/.kube/config.
 */
export function defaultUserKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const list = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (list.length > 0) return list.find((p) => existsSync(p)) ?? list[list.length - 1]!;
  return join(env.HOME || homedir(), '.kube', 'config');
}

// ---------------------------------------------------------------------------------------
// Locking: the `<file>.lock` convention client-go uses, so concurrent `kite up`s (and
// kubectl) do not lose each other's updates.

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function withFileLock<T>(path: string, fn: () => T): T {
  const lock = `${path}.lock`;
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const deadline = Date.now() + 10_000;
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(lock, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock older than a minute is left over from a crashed writer.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 60_000) unlinkSync(lock);
      } catch {
        /* raced with its owner removing it */
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${lock}`, { cause: err });
      sleepSync(50);
    }
  }
  try {
    return fn();
  } finally {
    closeSync(fd);
    try {
      unlinkSync(lock);
    } catch {
      /* already gone */
    }
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  return parseKubeconfig(readFileSync(path, 'utf8'), path);
}

/** Writes in place (keeping the file's mode, owner and any symlink); new files get 0600. */
function writeConfigFile(path: string, doc: Record<string, unknown>): void {
  writeFileSync(path, kubeconfigToYAML(doc), { mode: 0o600 });
}

type Named = { name?: unknown };

function entries(doc: Record<string, unknown>, key: string): Named[] {
  const v = doc[key];
  return Array.isArray(v) ? (v.filter((e) => e && typeof e === 'object') as Named[]) : [];
}

function upsert(doc: Record<string, unknown>, key: string, add: Named[]): void {
  const names = new Set(add.map((e) => e.name));
  const kept = entries(doc, key).filter((e) => !names.has(e.name));
  doc[key] = [...kept, ...add];
}

/**
 * Merges the clusters, users and contexts of `cfg` into the kubeconfig at `path`
 * (default: defaultUserKubeconfigPath()), replacing entries with the same names and
 * keeping everything else; sets current-context to cfg's when `setCurrent`. Creates
 * the file (0600) and its directory when absent. Returns the path written.
 */
export function mergeIntoUserKubeconfig(path: string | undefined, cfg: Kubeconfig, setCurrent: boolean): string {
  const target = path ?? defaultUserKubeconfigPath();
  withFileLock(target, () => {
    const doc = readConfigFile(target);
    doc.apiVersion ??= 'v1';
    doc.kind ??= 'Config';
    upsert(doc, 'clusters', cfg.clusters);
    upsert(doc, 'users', cfg.users);
    upsert(doc, 'contexts', cfg.contexts);
    if (setCurrent) doc['current-context'] = cfg['current-context'];
    else doc['current-context'] ??= '';
    doc.preferences ??= {};
    writeConfigFile(target, doc);
  });
  return target;
}

/**
 * Removes the cluster, user and context entries called `entryName` (e.g. `kite-dev`,
 * see contextName) from the kubeconfig at `path` (default: defaultUserKubeconfigPath());
 * clears current-context when it pointed at that context. Returns whether anything was
 * removed; a missing file is left missing.
 */
export function removeFromUserKubeconfig(path: string | undefined, entryName: string): boolean {
  const target = path ?? defaultUserKubeconfigPath();
  if (!existsSync(target)) return false;
  return withFileLock(target, () => {
    const doc = readConfigFile(target);
    let removed = false;
    for (const key of ['clusters', 'users', 'contexts']) {
      if (!Array.isArray(doc[key])) continue;
      const before = entries(doc, key);
      const after = before.filter((e) => e.name !== entryName);
      if (after.length !== before.length) {
        removed = true;
        doc[key] = after;
      }
    }
    if (doc['current-context'] === entryName) {
      doc['current-context'] = '';
      removed = true;
    }
    if (removed) writeConfigFile(target, doc);
    return removed;
  });
}
