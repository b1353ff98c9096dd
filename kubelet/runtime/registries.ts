// Registry mirrors and per-registry TLS/auth for a node's private containerd,
// from a k3s-style registries.yaml:
//
//   mirrors:
//     docker.io:
//       endpoint: ["http://127.0.0.1:35000"]
//   configs:
//     "127.0.0.1:35000":
//       tls: {insecure_skip_verify: true, ca_file: ..., cert_file: ..., key_file: ...}
//       auth: {username: ..., password: ...}
//
// Mirrors and TLS become containerd 1.6 `hosts.toml` files, one directory per
// registry host under the CRI plugin's `registry.config_path` (containerd reads
// them at every pull: no restart needed). containerd 1.6 has no credentials in
// hosts.toml; auth goes to the CRI plugin's `registry.configs."<host>".auth` in
// config.toml (allowed next to config_path), which needs a containerd restart.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface RegistryTLS {
  insecureSkipVerify?: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface RegistryAuth {
  username?: string;
  password?: string;
  /** base64 "user:password" */
  auth?: string;
  identityToken?: string;
}

export interface RegistryMirror {
  /** endpoint URLs, tried in order; a bare host:port means https:// */
  endpoints: string[];
  /** k3s rewrites (regexp → replacement); containerd 1.6 cannot apply them */
  rewrite: Record<string, string>;
}

export interface RegistriesConfig {
  /** keyed by registry host as it appears in image names ("docker.io", "127.0.0.1:5000", "*") */
  mirrors: Record<string, RegistryMirror>;
  /** keyed by registry or endpoint host */
  configs: Record<string, { tls?: RegistryTLS; auth?: RegistryAuth }>;
}

/** Default (upstream) endpoint of a registry host, as containerd uses it. */
export function defaultEndpoint(host: string): string {
  return host === 'docker.io' ? 'https://registry-1.docker.io' : `https://${host}`;
}

const HOST_RE = /^(\*|\[[0-9a-fA-F:.]+\](:\d+)?|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d+)?)$/;

function fail(file: string | undefined, msg: string): never {
  throw new Error(`${file ?? 'registries.yaml'}: ${msg}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, where: string, file?: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(file, `${where} must be a string`);
  return v;
}

/** Normalises one endpoint: adds https:// to a bare host, drops a trailing "/" and "/v2". */
export function normaliseEndpoint(raw: string, file?: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    fail(file, `invalid endpoint ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(file, `endpoint ${JSON.stringify(raw)}: scheme must be http or https`);
  if (u.username || u.password || u.search || u.hash) fail(file, `endpoint ${JSON.stringify(raw)}: only scheme, host, port and path are allowed`);
  // containerd appends /v2 to the path itself
  const path = u.pathname.replace(/\/+$/, '').replace(/\/v2$/, '');
  return `${u.protocol}//${u.host}${path}`;
}

/** Parses registries.yaml text (k3s format). Throws with the file name on malformed input. */
export function parseRegistries(text: string, file?: string): RegistriesConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err: any) {
    fail(file, `not YAML: ${err?.message ?? err}`);
  }
  const out: RegistriesConfig = { mirrors: {}, configs: {} };
  if (doc === null || doc === undefined) return out;
  if (!isObject(doc)) fail(file, 'top level must be a mapping with "mirrors" and "configs"');
  for (const key of Object.keys(doc)) {
    if (key !== 'mirrors' && key !== 'configs') fail(file, `unknown key ${JSON.stringify(key)} (expected mirrors, configs)`);
  }
  const mirrors = doc.mirrors ?? {};
  if (!isObject(mirrors)) fail(file, 'mirrors must be a mapping of registry host to {endpoint: [...]}');
  for (const [host, m] of Object.entries(mirrors)) {
    if (!HOST_RE.test(host)) fail(file, `mirrors: invalid registry host ${JSON.stringify(host)}`);
    const mm = m ?? {};
    if (!isObject(mm)) fail(file, `mirrors.${host} must be a mapping`);
    const ep = mm.endpoint ?? [];
    const list = typeof ep === 'string' ? [ep] : ep;
    if (!Array.isArray(list) || list.some((e) => typeof e !== 'string')) fail(file, `mirrors.${host}.endpoint must be a list of URLs`);
    const rewrite = mm.rewrite ?? {};
    if (!isObject(rewrite) || Object.values(rewrite).some((v) => typeof v !== 'string')) fail(file, `mirrors.${host}.rewrite must map regexps to strings`);
    for (const re of Object.keys(rewrite)) {
      try {
        new RegExp(re);
      } catch {
        fail(file, `mirrors.${host}.rewrite: invalid regexp ${JSON.stringify(re)}`);
      }
    }
    out.mirrors[host] = {
      endpoints: (list as string[]).map((e) => normaliseEndpoint(e, file)),
      rewrite: rewrite as Record<string, string>,
    };
  }
  const configs = doc.configs ?? {};
  if (!isObject(configs)) fail(file, 'configs must be a mapping of registry host to {tls, auth}');
  for (const [host, c] of Object.entries(configs)) {
    if (!HOST_RE.test(host)) fail(file, `configs: invalid registry host ${JSON.stringify(host)}`);
    const cc = c ?? {};
    if (!isObject(cc)) fail(file, `configs.${host} must be a mapping`);
    const entry: { tls?: RegistryTLS; auth?: RegistryAuth } = {};
    if (cc.tls !== undefined && cc.tls !== null) {
      if (!isObject(cc.tls)) fail(file, `configs.${host}.tls must be a mapping`);
      const t = cc.tls;
      const skip = t.insecure_skip_verify;
      if (skip !== undefined && typeof skip !== 'boolean') fail(file, `configs.${host}.tls.insecure_skip_verify must be true or false`);
      entry.tls = {
        insecureSkipVerify: skip === true ? true : undefined,
        caFile: str(t.ca_file, `configs.${host}.tls.ca_file`, file),
        certFile: str(t.cert_file, `configs.${host}.tls.cert_file`, file),
        keyFile: str(t.key_file, `configs.${host}.tls.key_file`, file),
      };
      if (!!entry.tls.certFile !== !!entry.tls.keyFile) fail(file, `configs.${host}.tls: cert_file and key_file go together`);
    }
    if (cc.auth !== undefined && cc.auth !== null) {
      if (!isObject(cc.auth)) fail(file, `configs.${host}.auth must be a mapping`);
      const a = cc.auth;
      entry.auth = {
        username: str(a.username, `configs.${host}.auth.username`, file),
        password: str(a.password, `configs.${host}.auth.password`, file),
        auth: str(a.auth, `configs.${host}.auth.auth`, file),
        identityToken: str(a.identity_token, `configs.${host}.auth.identity_token`, file),
      };
    }
    out.configs[host] = entry;
  }
  return out;
}

export function readRegistriesFile(path: string): RegistriesConfig {
  return parseRegistries(readFileSync(path, 'utf8'), path);
}

// ---------------------------------------------------------------- hosts.toml

const q = (s: string): string => JSON.stringify(s); // JSON strings are valid TOML basic strings here

/** Directory name under certs.d for a registry host ("*" → containerd's "_default"). */
export function hostDirName(host: string): string {
  return host === '*' ? '_default' : host;
}

function tlsLines(tls: RegistryTLS | undefined, indent: string): string[] {
  if (!tls) return [];
  const lines: string[] = [];
  if (tls.insecureSkipVerify) lines.push(`${indent}skip_verify = true`);
  if (tls.caFile) lines.push(`${indent}ca = ${q(tls.caFile)}`);
  if (tls.certFile && tls.keyFile) lines.push(`${indent}client = [[${q(tls.certFile)}, ${q(tls.keyFile)}]]`);
  return lines;
}

function hostOf(endpoint: string): string {
  return new URL(endpoint).host;
}

/**
 * The hosts.toml for one registry host: its mirrors as [host."…"] entries (pull and
 * resolve only, in order), then the registry itself as `server` (containerd's
 * fallback, as k3s's default endpoint). TLS settings come from configs keyed by
 * each endpoint's host.
 */
export function hostsToml(host: string, cfg: RegistriesConfig): string {
  const mirror = cfg.mirrors[host];
  const lines = ['# Generated by kite from registries.yaml. Do not edit: rewritten at every start.'];
  if (host !== '*') {
    const server = defaultEndpoint(host);
    lines.push(`server = ${q(server)}`);
    lines.push(...tlsLines(cfg.configs[host]?.tls, ''));
  }
  for (const ep of mirror?.endpoints ?? []) {
    lines.push('', `[host.${q(ep)}]`, '  capabilities = ["pull", "resolve"]');
    lines.push(...tlsLines(cfg.configs[hostOf(ep)]?.tls, '  '));
  }
  return lines.join('\n') + '\n';
}

export interface WrittenRegistries {
  /** registry hosts a hosts.toml was written for */
  hosts: string[];
  /** k3s features containerd 1.6 cannot apply (rewrites), for the log */
  warnings: string[];
}

const MARKER = '# Generated by kite from registries.yaml.';

/**
 * Writes <certsDir>/<host>/hosts.toml for every mirror and every configs entry with
 * TLS settings, and removes the ones kite wrote earlier that are no longer
 * configured. hosts.toml files written by someone else are left alone.
 */
export function writeRegistryHosts(cfg: RegistriesConfig, certsDir: string): WrittenRegistries {
  mkdirSync(certsDir, { recursive: true, mode: 0o711 });
  const warnings: string[] = [];
  const hosts = new Set(Object.keys(cfg.mirrors));
  for (const [h, c] of Object.entries(cfg.configs)) {
    if (c.tls && (c.tls.insecureSkipVerify || c.tls.caFile || c.tls.certFile)) hosts.add(h);
  }
  for (const [h, m] of Object.entries(cfg.mirrors)) {
    if (Object.keys(m.rewrite).length > 0) warnings.push(`mirrors.${h}.rewrite is ignored: containerd 1.6 hosts.toml cannot rewrite repository names`);
  }
  for (const h of hosts) {
    const dir = join(certsDir, hostDirName(h));
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    writeFileSync(join(dir, 'hosts.toml'), hostsToml(h, cfg), { mode: 0o644 });
  }
  const wanted = new Set([...hosts].map(hostDirName));
  for (const d of readdirSync(certsDir)) {
    if (wanted.has(d)) continue;
    const f = join(certsDir, d, 'hosts.toml');
    if (existsSync(f) && readFileSync(f, 'utf8').startsWith(MARKER)) rmSync(join(certsDir, d), { recursive: true, force: true });
  }
  return { hosts: [...hosts].sort(), warnings };
}

// ---------------------------------------------------------------- auth

/** Where the CRI registry auth for config.toml is kept in a containerd state dir. */
export function registryAuthPath(stateDir: string): string {
  return join(stateDir, 'registry-auth.json');
}

/** Auth entries (by host) that go to config.toml's registry.configs. */
export function registryAuths(cfg: RegistriesConfig): Record<string, RegistryAuth> {
  const out: Record<string, RegistryAuth> = {};
  for (const [h, c] of Object.entries(cfg.configs)) {
    if (c.auth && (c.auth.username || c.auth.password || c.auth.auth || c.auth.identityToken)) out[h] = c.auth;
  }
  return out;
}

/** Reads the auth file written by applyRegistries ({} when absent or unreadable). */
export function readRegistryAuths(stateDir: string): Record<string, RegistryAuth> {
  try {
    const v = JSON.parse(readFileSync(registryAuthPath(stateDir), 'utf8'));
    return isObject(v) ? (v as Record<string, RegistryAuth>) : {};
  } catch {
    return {};
  }
}

/** The config.toml tables for registry auth, under the CRI plugin table name `cri`. */
export function registryAuthToml(cri: string, auths: Record<string, RegistryAuth>): string {
  let s = '';
  for (const [host, a] of Object.entries(auths).sort(([x], [y]) => x.localeCompare(y))) {
    s += `\n    [${cri}.registry.configs.${q(host)}.auth]\n`;
    if (a.username !== undefined) s += `      username = ${q(a.username)}\n`;
    if (a.password !== undefined) s += `      password = ${q(a.password)}\n`;
    if (a.auth !== undefined) s += `      auth = ${q(a.auth)}\n`;
    if (a.identityToken !== undefined) s += `      identitytoken = ${q(a.identityToken)}\n`;
  }
  return s;
}

/**
 * Applies a registries file to a containerd state dir: hosts.toml files under
 * <stateDir>/certs.d and the auth for config.toml in <stateDir>/registry-auth.json
 * (read by startContainerd). A missing file clears what an earlier one set.
 */
export function applyRegistries(file: string | undefined, stateDir: string): WrittenRegistries {
  const cfg = file && existsSync(file) ? readRegistriesFile(file) : { mirrors: {}, configs: {} };
  mkdirSync(stateDir, { recursive: true, mode: 0o711 });
  const written = writeRegistryHosts(cfg, join(stateDir, 'certs.d'));
  const auths = registryAuths(cfg);
  if (Object.keys(auths).length > 0) writeFileSync(registryAuthPath(stateDir), JSON.stringify(auths, null, 2) + '\n', { mode: 0o600 });
  else rmSync(registryAuthPath(stateDir), { force: true });
  return written;
}
