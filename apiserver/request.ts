// Turning a URL into what it asks for (upstream: apiserver/pkg/endpoints/request/
// requestinfo.go): the verb, the resource and where it lives.
import { StatusError, badRequest, notFound } from '../machinery/status.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { resourceByPath } from '../machinery/resources.js';
import { HISTORY_SUBRESOURCE } from './history/names.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection' | 'connect';

export interface ResourceRequest {
  verb: Verb;
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** Path segments after the subresource (proxy paths). */
  rest: string[];
}

/**
 * A boolean query parameter as upstream's parameter codec converts it
 * (apimachinery runtime.Convert_Slice_string_To_bool): absent → undefined, "0" or any
 * case of "false" → false, anything else (True, 1, t, yes, even empty) → true. This is
 * looser than strconv.ParseBool, so clients sending Python's `True` get what they mean.
 */
export function queryBool(query: URLSearchParams, name: string): boolean | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/** An integer query parameter as upstream converts it (strconv.ParseInt, base 10); absent or empty → undefined. */
export function queryInt(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  if (!/^[+-]?[0-9]+$/.test(v)) throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`);
  return n;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * Parse `/api/v1/...` or `/apis/G/V/...` (segments already split, without the prefix
 * `api`/`apis`). Returns undefined when the path is not a resource path.
 */
export function parseResourcePath(method: string, segments: string[], query: URLSearchParams): ResourceRequest | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api') {
    if (segments.length < 3) return undefined;
    group = '';
    version = segments[1];
    rest = segments.slice(2);
  } else if (segments[0] === 'apis') {
    if (segments.length < 4) return undefined;
    group = segments[1];
    version = segments[2];
    rest = segments.slice(3);
  } else {
    return undefined;
  }

  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }

  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 2) {
    // /namespaces/NAME and /namespaces/NAME/{status,finalize} address the Namespace itself.
    if (group === '' && (rest.length === 2 || (rest.length === 3 && NAMESPACE_SUBRESOURCES.has(rest[2])))) {
      namespace = undefined;
    } else {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  if (rest.length === 0) return undefined;
  const plural = rest[0];
  const resource = resourceByPath(group, version, plural);
  if (!resource) throw notFound(group, plural, rest[1] ?? '');
  const name = rest[1];
  const subresource = rest[2];
  const tail = rest.slice(3);
  if (name !== undefined && name === '') throw badRequest('resource name may not be empty');
  if (namespace !== undefined && !resource.namespaced) {
    throw notFound(group, plural, name ?? '');
  }
  if (subresource && !resource.subresources?.some((s) => s.name === subresource) && !(subresource === HISTORY_SUBRESOURCE && !resource.virtual)) {
    throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
  }

  const m = method.toUpperCase();
  let verb: Verb;
  const isWatch = watchPath || queryBool(query, 'watch') === true;
  if (subresource && ['exec', 'attach', 'portforward', 'proxy', 'log'].includes(subresource)) {
    verb = subresource === 'log' ? 'get' : 'connect';
  } else if (m === 'GET' || m === 'HEAD') {
    verb = name === undefined ? (isWatch ? 'watch' : 'list') : isWatch ? 'watch' : 'get';
  } else if (m === 'POST') {
    verb = 'create';
  } else if (m === 'PUT') {
    verb = 'update';
  } else if (m === 'PATCH') {
    verb = 'patch';
  } else if (m === 'DELETE') {
    verb = name === undefined ? 'deletecollection' : 'delete';
  } else {
    throw badRequest(`unsupported method ${method}`);
  }
  return { verb, resource, namespace, name, subresource, rest: tail };
}
