// Object keys as informers, work queues and controllers use them: `namespace/name`
// for namespaced objects, `name` for cluster-scoped ones (upstream's
// MetaNamespaceKeyFunc / SplitMetaNamespaceKey).
import type { ApiObject } from './transport.js';

export function objectKey(obj: ApiObject): string {
  const m = obj.metadata;
  const name = m?.name ?? '';
  return m?.namespace ? `${m.namespace}/${name}` : name;
}

export function namespacedKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
