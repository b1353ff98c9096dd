// `kite history KIND/NAME [-n NS]`: an object's recorded changes (also after it was
// deleted), read from the API server's `<object>/history` as the kubeconfig's user.
import { stringify } from 'yaml';
import { RESOURCES, compareVersions, type ResourceInfo } from '../../machinery/resources.js';
import { applyPatch, describePatch, type PatchOp } from '../../apiserver/history/diff.js';
import type { HistoryEntry, HistoryGap } from '../../apiserver/history/recorder.js';
import { Upstream } from '../../dashboard/upstream.js';
import { userClientConfig, type AccessOptions } from '../access.js';
import { CliError } from '../errors.js';

export interface HistoryOptions extends AccessOptions {
  namespace?: string;
  output?: 'text' | 'json' | 'yaml';
}

/** `deploy`, `deployments`, `Deployment`, `deployments.apps` → the resource (newest version of its group). */
export function resolveResource(word: string): ResourceInfo {
  const dot = word.indexOf('.');
  const name = (dot < 0 ? word : word.slice(0, dot)).toLowerCase();
  const group = dot < 0 ? undefined : word.slice(dot + 1);
  const matches = RESOURCES.filter(
    (r) => !r.virtual && (group === undefined || r.group === group) && (r.plural === name || r.singular === name || r.kind.toLowerCase() === name || (r.shortNames ?? []).includes(name)),
  );
  if (matches.length === 0) throw new CliError(`the server doesn't have a resource type "${word}"`);
  // Core before other groups (as kubectl prefers), then the newest version.
  matches.sort((a, b) => (a.group === '' ? -1 : 0) - (b.group === '' ? -1 : 0) || compareVersions(a.version, b.version));
  return matches[0];
}

export function historyPath(res: ResourceInfo, namespace: string | undefined, name: string): string {
  const base = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
  return `${base}${res.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? 'default')}` : ''}/${res.plural}/${encodeURIComponent(name)}/history`;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** The timeline as text: one header line per change, then its fields. */
export function formatHistory(entries: readonly HistoryEntry[]): string {
  const lines: string[] = [];
  let state: unknown;
  for (const e of entries) {
    const who = [e.user, e.manager && e.manager !== e.user ? `(${e.manager})` : ''].filter(Boolean).join(' ') || '-';
    lines.push(`${e.time}  rev ${e.revision}  ${e.type.padEnd(6)}  ${who}`);
    const patch = e.patch as PatchOp[];
    if (e.type === 'create') lines.push('    created');
    else if (e.type === 'delete') lines.push('    deleted');
    else if (patch.length === 0) lines.push('    (metadata only)');
    else {
      for (const c of describePatch(state, patch)) {
        if (c.kind === 'added') lines.push(`    + ${c.path}: ${short(c.value)}`);
        else if (c.kind === 'removed') lines.push(`    - ${c.path}${c.old !== undefined ? `: ${short(c.old)}` : ''}`);
        else lines.push(`    ~ ${c.path}: ${c.old !== undefined ? `${short(c.old)} → ` : ''}${short(c.value)}`);
      }
    }
    state = applyPatch(state, patch);
  }
  return lines.join('\n');
}

export async function history(target: string, o: HistoryOptions): Promise<void> {
  const slash = target.indexOf('/');
  if (slash <= 0 || slash === target.length - 1) throw new CliError(`expected KIND/NAME, got "${target}"`);
  const res = resolveResource(target.slice(0, slash));
  const name = target.slice(slash + 1);
  const config = userClientConfig(o);
  const namespace = res.namespaced ? (o.namespace ?? config.namespace ?? 'default') : undefined;
  const api = new Upstream(config);
  try {
    const { status, body } = await api.json('GET', historyPath(res, namespace, name));
    if (status !== 200) {
      const msg = (body as { message?: string })?.message ?? String(body);
      throw new CliError(`Error from server: ${msg}`);
    }
    if (o.output === 'json') return void console.log(JSON.stringify(body, null, 2));
    if (o.output === 'yaml') return void process.stdout.write(stringify(body));
    const entries = (body as { entries: HistoryEntry[] }).entries;
    const what = `${res.group ? `${res.plural}.${res.group}` : res.plural}/${name}${namespace ? ` in namespace ${namespace}` : ''}`;
    console.log(`${what}: ${entries.length} change${entries.length === 1 ? '' : 's'} recorded`);
    if (entries.length) console.log(formatHistory(entries));
    for (const g of (body as { gaps?: HistoryGap[] }).gaps ?? []) {
      console.log(`not recorded: revisions ${g.fromRevision}-${g.toRevision}${g.changes ? ` (${g.changes} changes)` : ''}, the recorder was behind or down; diffs after it are from versions not shown`);
    }
  } finally {
    api.close();
  }
}
