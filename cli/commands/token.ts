// `kite token create|list|delete` (upstream: `kubeadm token`): bootstrap tokens for
// `kite join`, kept as kube-system/bootstrap-token-<id> Secrets written through the API
// as the cluster's admin.
import type { Command } from 'commander';
import type { ApiTransport } from '../../client/transport.js';
import {
  BOOTSTRAP_GROUP_PATTERN,
  BOOTSTRAP_TOKEN_NAMESPACE,
  BOOTSTRAP_TOKEN_SECRET_PREFIX,
  BOOTSTRAP_TOKEN_SECRET_TYPE,
  DEFAULT_BOOTSTRAP_GROUP,
  TOKEN_ID_PATTERN,
  TOKEN_PATTERN,
  bootstrapTokenSecret,
  generateBootstrapToken,
  secretValues,
  tokenExpiry,
} from '../../machinery/bootstrap-token.js';
import type { KubeObject } from '../../machinery/object.js';
import { openCluster, requireRunning, serverURL, type Cluster } from '../cluster.js';
import { CliError } from '../errors.js';
import { DEFAULT_CLUSTER_NAME } from '../paths.js';

const USAGES = ['authentication', 'signing'];

/** A Go duration as kubeadm's --ttl takes it (`24h`, `1h30m`, `90s`; `0` = never expires), in ms. */
export function parseTtl(v: string): number {
  if (v === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(v))) {
    total += Number(m[1]) * { h: 3600_000, m: 60_000, s: 1000, ms: 1 }[m[2] as 'h' | 'm' | 's' | 'ms'];
    end = re.lastIndex;
  }
  if (end !== v.length || v.length === 0) throw new Error(`invalid duration "${v}" (e.g. 24h, 30m, 0 for no expiry)`);
  return total;
}

const secrets = async () => (await import('../../machinery/resources.js')).resourceByPath('', 'v1', 'secrets')!;

async function adminClient(c: Cluster): Promise<{ client: ApiTransport; state: ReturnType<typeof requireRunning> }> {
  const state = requireRunning(c);
  const { loadOrCreateClusterPKI } = await import('../../machinery/pki.js');
  const { HttpTransport } = await import('../../client/http-transport.js');
  const pki = await loadOrCreateClusterPKI(c.paths.pki);
  const client = new HttpTransport({ server: serverURL(state.bindAddress, state.apiPort), caData: pki.ca.cert, certData: pki.admin.cert, keyData: pki.admin.key }, { component: 'kite-token' });
  return { client, state };
}

/** The `kite join` command for `token`: the API server's address other machines reach, and the CA's hash. */
export async function joinCommand(c: Cluster, token: string): Promise<string> {
  const state = requireRunning(c);
  const { caCertHash, primaryHostIPv4 } = await import('../../machinery/pki.js');
  const { readFileSync } = await import('node:fs');
  const { clusterPKIPaths } = await import('../../machinery/pki.js');
  const ca = readFileSync(clusterPKIPaths(c.paths.pki).caCert, 'utf8');
  const b = state.bindAddress;
  const host = b === '' || b === '0.0.0.0' || b === '::' || b.startsWith('127.') || b === 'localhost' || b === '::1' ? primaryHostIPv4() : b;
  return `kite join --server https://${host.includes(':') ? `[${host}]` : host}:${state.apiPort} --token ${token} --ca-cert-hash ${caCertHash(ca)}`;
}

export interface TokenCreateOptions {
  ttlMs?: number;
  description?: string;
  groups?: string[];
  usages?: string[];
  /** A given token (`[a-z0-9]{6}.[a-z0-9]{16}`) instead of a random one. */
  token?: string;
}

export async function createToken(c: Cluster, o: TokenCreateOptions = {}): Promise<string> {
  let id: string, secret: string, token: string;
  if (o.token !== undefined) {
    const m = TOKEN_PATTERN.exec(o.token);
    if (!m) throw new CliError(`the token "${o.token}" is not of the form "[a-z0-9]{6}.[a-z0-9]{16}"`);
    [token, id, secret] = [o.token, m[1], m[2]];
  } else {
    ({ id, secret, token } = generateBootstrapToken());
  }
  const groups = o.groups ?? [DEFAULT_BOOTSTRAP_GROUP];
  for (const g of groups) if (!BOOTSTRAP_GROUP_PATTERN.test(g)) throw new CliError(`--groups: "${g}" must match ${BOOTSTRAP_GROUP_PATTERN.source}`);
  const usages = o.usages ?? USAGES;
  for (const u of usages) if (!USAGES.includes(u)) throw new CliError(`--usages: unknown usage "${u}" (want ${USAGES.join(', ')})`);
  const ttl = o.ttlMs ?? 24 * 3600_000;
  const { client } = await adminClient(c);
  try {
    const secretObj = bootstrapTokenSecret({ id, secret, expires: ttl > 0 ? new Date(Date.now() + ttl) : undefined, description: o.description, usages, extraGroups: groups });
    await client.create(await secrets(), BOOTSTRAP_TOKEN_NAMESPACE, secretObj as unknown as KubeObject);
  } finally {
    client.close();
  }
  return token;
}

function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)}m`;
  if (s < 2 * 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/** kubeadm's `token list` table: TOKEN TTL EXPIRES USAGES DESCRIPTION EXTRA GROUPS. */
export async function listTokens(c: Cluster): Promise<string[][]> {
  const { client } = await adminClient(c);
  try {
    const list = await client.list<KubeObject & { type?: string; data?: Record<string, string> }>(await secrets(), BOOTSTRAP_TOKEN_NAMESPACE);
    const rows = [['TOKEN', 'TTL', 'EXPIRES', 'USAGES', 'DESCRIPTION', 'EXTRA GROUPS']];
    for (const s of list.items) {
      if (s.type !== BOOTSTRAP_TOKEN_SECRET_TYPE || !s.metadata?.name?.startsWith(BOOTSTRAP_TOKEN_SECRET_PREFIX)) continue;
      const v = secretValues(s);
      const exp = tokenExpiry(v);
      const ttl = exp === undefined ? '<forever>' : exp > Date.now() ? humanDuration(exp - Date.now()) : '<invalid>';
      const usages = Object.keys(v)
        .filter((k) => k.startsWith('usage-bootstrap-') && v[k] === 'true')
        .map((k) => k.slice('usage-bootstrap-'.length))
        .sort();
      rows.push([`${v['token-id']}.${v['token-secret']}`, ttl, exp === undefined ? '<never>' : v.expiration, usages.join(',') || '<none>', v.description || '<none>', v['auth-extra-groups'] || '<none>']);
    }
    return rows;
  } finally {
    client.close();
  }
}

export async function deleteToken(c: Cluster, idOrToken: string): Promise<string> {
  const id = TOKEN_PATTERN.exec(idOrToken)?.[1] ?? idOrToken;
  if (!TOKEN_ID_PATTERN.test(id)) throw new CliError(`given token didn't match pattern "[a-z0-9]{6}" or "[a-z0-9]{6}.[a-z0-9]{16}"`);
  const { client } = await adminClient(c);
  try {
    await client.delete(await secrets(), BOOTSTRAP_TOKEN_NAMESPACE, BOOTSTRAP_TOKEN_SECRET_PREFIX + id);
  } catch (err) {
    if ((err as { code?: number }).code === 404) throw new CliError(`bootstrap token "${id}" not found`);
    throw err;
  } finally {
    client.close();
  }
  return id;
}

function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) process.stdout.write(r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] + 3))).join('') + '\n');
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('Manage bootstrap tokens for `kite join` (as `kubeadm token`)');
  token
    .command('create')
    .description('Create a bootstrap token and print it')
    .argument('[token]', 'the token to create ([a-z0-9]{6}.[a-z0-9]{16}; default: a random one)')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .option('--ttl <duration>', 'how long the token lives (e.g. 24h, 30m; 0: forever)', '24h')
    .option('--description <text>', 'a human-readable description')
    .option('--groups <groups>', `extra groups the token authenticates as (default ${DEFAULT_BOOTSTRAP_GROUP})`, (v: string) => v.split(',').filter(Boolean))
    .option('--usages <usages>', 'authentication,signing', (v: string) => v.split(',').filter(Boolean))
    .option('--print-join-command', 'print the whole `kite join` command instead of the token', false)
    .action(async (given: string | undefined, o: { name: string; ttl: string; description?: string; groups?: string[]; usages?: string[]; printJoinCommand: boolean }) => {
      let ttlMs: number;
      try {
        ttlMs = parseTtl(o.ttl);
      } catch (err) {
        throw new CliError(`--ttl: ${(err as Error).message}`);
      }
      const c = openCluster(o.name);
      const t = await createToken(c, { ttlMs, description: o.description, groups: o.groups, usages: o.usages, token: given });
      process.stdout.write((o.printJoinCommand ? await joinCommand(c, t) : t) + '\n');
    });
  token
    .command('list')
    .description('List the bootstrap tokens')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .action(async (o: { name: string }) => printTable(await listTokens(openCluster(o.name))));
  token
    .command('delete')
    .description('Delete bootstrap tokens (a node can no longer join with them)')
    .argument('<token-id...>', 'token IDs or whole tokens')
    .option('--name <name>', 'cluster name', DEFAULT_CLUSTER_NAME)
    .action(async (ids: string[], o: { name: string }) => {
      const c = openCluster(o.name);
      for (const id of ids) process.stdout.write(`bootstrap token "${await deleteToken(c, id)}" deleted\n`);
    });
}
