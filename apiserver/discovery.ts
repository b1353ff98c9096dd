// API discovery documents, legacy (/api, /apis, /api/v1, /apis/G/V) and aggregated
// (apidiscovery.k8s.io v2 and v2beta1), built once from machinery/resources.ts.
import type { ResourceInfo } from '../machinery/resources.js';
import { GROUP_ORDER, allResources, apiVersionOf, groupVersions } from '../machinery/resources.js';
import { createHash } from 'node:crypto';

function storageVersionHash(res: ResourceInfo): string {
  return createHash('sha256').update(`${res.group}/${res.version}/${res.kind}`).digest('base64').slice(0, 11);
}

function orderedGroups(): string[] {
  const groups = [...groupVersions().keys()].filter((g) => g !== '');
  return groups.sort((a, b) => {
    const ia = GROUP_ORDER.indexOf(a);
    const ib = GROUP_ORDER.indexOf(b);
    return (ia < 0 ? 999 : ia) - (ib < 0 ? 999 : ib) || a.localeCompare(b);
  });
}

function resourcesOf(group: string, version: string): ResourceInfo[] {
  return allResources().filter((r) => r.group === group && r.version === version).sort((a, b) => a.plural.localeCompare(b.plural));
}

export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(group: string): object {
  const versions = groupVersions().get(group) ?? [];
  const gvs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: gvs, preferredVersion: gvs[0] };
}

/** A group served through the aggregator (apiserver/aggregator.ts): versions preferred first, with the backend's APIResources. */
export interface ExtraGroup {
  name: string;
  versions: { version: string; resources?: Record<string, unknown>[] }[];
}

function extraApiGroup(g: ExtraGroup): object {
  const gvs = g.versions.map((v) => ({ groupVersion: `${g.name}/${v.version}`, version: v.version }));
  return { name: g.name, versions: gvs, preferredVersion: gvs[0] };
}

export function apiGroupList(extra: ExtraGroup[] = []): object {
  const local = orderedGroups();
  const more = extra.filter((g) => !local.includes(g.name)).map(extraApiGroup);
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...local.map(apiGroup), ...more] };
}

/** The APIGroup document of a group only the aggregator serves. */
export function extraApiGroupDoc(g: ExtraGroup): object {
  return { kind: 'APIGroup', apiVersion: 'v1', ...extraApiGroup(g) };
}

/** A backend's APIResourceList entries as aggregated discovery resources (subresources folded in). */
function aggregatedFromLegacy(group: string, version: string, entries: Record<string, unknown>[]): object[] {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const list = (v: unknown) => (Array.isArray(v) ? [...(v as unknown[])] : undefined);
  const out = new Map<string, Record<string, unknown>>();
  for (const e of entries) {
    const name = str(e.name);
    if (!name || name.includes('/')) continue;
    const r: Record<string, unknown> = {
      resource: name,
      responseKind: { group: str(e.group) || group, version: str(e.version) || version, kind: str(e.kind) },
      scope: e.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: str(e.singularName),
      verbs: list(e.verbs) ?? [],
    };
    if (list(e.shortNames)?.length) r.shortNames = list(e.shortNames);
    if (list(e.categories)?.length) r.categories = list(e.categories);
    out.set(name, r);
  }
  for (const e of entries) {
    const [parent, sub] = str(e.name).split('/');
    const r = sub ? out.get(parent) : undefined;
    if (!r) continue;
    const subs = (r.subresources ??= []) as object[];
    subs.push({ subresource: sub, responseKind: { group: str(e.group) || group, version: str(e.version) || version, kind: str(e.kind) }, verbs: list(e.verbs) ?? [] });
  }
  return [...out.values()];
}

export function apiGroupDoc(group: string): object | undefined {
  if (!groupVersions().has(group) || group === '') return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
}

export function apiResourceList(group: string, version: string): object | undefined {
  const list = resourcesOf(group, version);
  if (list.length === 0) return undefined;
  const resources: object[] = [];
  for (const r of list) {
    const entry: Record<string, unknown> = {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: [...r.verbs],
    };
    if (r.shortNames) entry.shortNames = [...r.shortNames];
    if (r.categories) entry.categories = [...r.categories];
    if (!r.virtual && !r.computed) entry.storageVersionHash = storageVersionHash(r);
    resources.push(entry);
    for (const s of r.subresources ?? []) {
      const sub: Record<string, unknown> = { name: `${r.plural}/${s.name}`, singularName: '', namespaced: r.namespaced, kind: s.kind, verbs: [...s.verbs] };
      if (s.group !== undefined) sub.group = s.group;
      if (s.version !== undefined) sub.version = s.version;
      resources.push(sub);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}

function aggregatedResource(r: ResourceInfo): object {
  const out: Record<string, unknown> = {
    resource: r.plural,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: [...r.verbs],
  };
  if (r.shortNames) out.shortNames = [...r.shortNames];
  if (r.categories) out.categories = [...r.categories];
  if (r.subresources) {
    out.subresources = r.subresources.map((s) => ({
      subresource: s.name,
      responseKind: { group: s.group ?? r.group, version: s.version ?? r.version, kind: s.kind },
      verbs: [...s.verbs],
    }));
  }
  return out;
}

function aggregatedGroup(group: string): object {
  const versions = (groupVersions().get(group) ?? []).map((v) => ({
    version: v,
    resources: resourcesOf(group, v).map(aggregatedResource),
    freshness: 'Current',
  }));
  return { metadata: { name: group, creationTimestamp: null }, versions };
}

/** Aggregated discovery for `/api` (legacy=true) or `/apis`, in the asked apiVersion. */
export function aggregatedDiscovery(legacy: boolean, discoveryVersion: 'v2' | 'v2beta1', extra: ExtraGroup[] = []): object {
  const local = orderedGroups();
  const items = legacy ? [aggregatedGroup('')] : local.map(aggregatedGroup);
  if (!legacy) {
    for (const g of extra) {
      if (local.includes(g.name)) continue;
      // A version whose backend has not answered yet is listed Stale, as upstream does.
      const versions = g.versions.map((v) => ({ version: v.version, resources: v.resources ? aggregatedFromLegacy(g.name, v.version, v.resources) : [], freshness: v.resources ? 'Current' : 'Stale' }));
      items.push({ metadata: { name: g.name, creationTimestamp: null }, versions });
    }
  }
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${discoveryVersion}`, metadata: {}, items };
}

/** Which aggregated discovery version (if any) an Accept header asks for first. */
export function aggregatedAccept(accept: string | undefined): { version: 'v2' | 'v2beta1'; contentType: string } | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const p = part.trim();
    if (!p.startsWith('application/json')) continue;
    const params = new Map(
      p
        .split(';')
        .slice(1)
        .map((kv) => kv.trim().split('=') as [string, string]),
    );
    if (params.get('g') === 'apidiscovery.k8s.io' && params.get('as') === 'APIGroupDiscoveryList') {
      const v = params.get('v');
      if (v === 'v2' || v === 'v2beta1') {
        return { version: v, contentType: `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList` };
      }
    }
  }
  return undefined;
}
