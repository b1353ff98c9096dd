// kite's store keys are `/registry/<group or core>/<plural>/[<namespace>/]<name>`; in
// etcd they are laid out as upstream's: built-in resources directly under
// `/registry/<plural>/...` (`/registry/pods/default/web-0`, `/registry/deployments/...`),
// anything else (custom resources) under `/registry/<group>/<plural>/...` as upstream
// stores CRs. Built-in plurals never collide with each other or with a group name
// (CRD groups contain a dot), so the mapping is reversible key by key.
import { RESOURCES } from '../machinery/resources.js';

const REGISTRY = '/registry/';

/** plural → kite group segment, for the built-in stored resources. */
const BUILTIN_GROUP_OF_PLURAL = new Map<string, string>();
/** `<group>/<plural>` segments (kite layout) of the built-in stored resources. */
const BUILTIN_SEGMENTS = new Set<string>();
for (const r of RESOURCES) {
  if (r.virtual) continue;
  // Resources stored as another group's kind (events.k8s.io Events) share that key space.
  const group = r.storedAs ? r.storedAs.group : r.group;
  if (BUILTIN_GROUP_OF_PLURAL.has(r.plural) && BUILTIN_GROUP_OF_PLURAL.get(r.plural) !== (group || 'core')) continue;
  BUILTIN_GROUP_OF_PLURAL.set(r.plural, group || 'core');
  BUILTIN_SEGMENTS.add(`${group || 'core'}/${r.plural}`);
}

/** etcd key for a kite key. */
export function toEtcdKey(key: string): string {
  if (!key.startsWith(REGISTRY)) return key;
  const rest = key.slice(REGISTRY.length);
  const groupEnd = rest.indexOf('/');
  if (groupEnd < 0) return key;
  const pluralEnd = rest.indexOf('/', groupEnd + 1);
  const segment = pluralEnd < 0 ? rest : rest.slice(0, pluralEnd);
  if (!BUILTIN_SEGMENTS.has(segment)) return key;
  return REGISTRY + rest.slice(groupEnd + 1);
}

/** kite key for an etcd key. */
export function fromEtcdKey(key: string): string {
  if (!key.startsWith(REGISTRY)) return key;
  const rest = key.slice(REGISTRY.length);
  const end = rest.indexOf('/');
  const first = end < 0 ? rest : rest.slice(0, end);
  const group = BUILTIN_GROUP_OF_PLURAL.get(first);
  return group === undefined ? key : `${REGISTRY}${group}/${rest}`;
}

/**
 * The etcd prefix to range or watch for a kite prefix, and whether results must be
 * filtered by the kite prefix afterwards: a prefix that does not name one resource
 * (`/registry/apps/`) spans several etcd prefixes, so the whole registry is read.
 */
export function etcdPrefixFor(prefix: string): { etcdPrefix: string; filter: boolean } {
  // Outside the registry, or all of it (`/`, `/registry/`): the same prefix in both layouts.
  if (!prefix.startsWith(REGISTRY) || prefix === REGISTRY) return { etcdPrefix: prefix, filter: false };
  const rest = prefix.slice(REGISTRY.length);
  const groupEnd = rest.indexOf('/');
  if (groupEnd < 0) {
    // `/registry/ap`: part of a group name.
    return { etcdPrefix: REGISTRY, filter: true };
  }
  const pluralEnd = rest.indexOf('/', groupEnd + 1);
  if (pluralEnd < 0) {
    // `/registry/apps/` or `/registry/apps/dep`: built-ins of that group live at the top.
    const group = rest.slice(0, groupEnd);
    const builtinGroup = [...BUILTIN_SEGMENTS].some((s) => s.startsWith(`${group}/`));
    return builtinGroup ? { etcdPrefix: REGISTRY, filter: true } : { etcdPrefix: prefix, filter: false };
  }
  return { etcdPrefix: toEtcdKey(prefix), filter: false };
}

/** The smallest key greater than every key with the prefix (etcd range_end). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff: everything from prefix on.
  return Buffer.from([0]);
}
