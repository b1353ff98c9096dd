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

export function apiGroupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: orderedGroups().map(apiGroup) };
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
export function aggregatedDiscovery(legacy: boolean, discoveryVersion: 'v2' | 'v2beta1'): object {
  const items = legacy ? [aggregatedGroup('')] : orderedGroups().map(aggregatedGroup);
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
