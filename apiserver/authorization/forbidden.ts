// The 403 an authorizer's refusal becomes, worded as upstream's responsewriters.Forbidden.
import { forbidden } from '../../machinery/status.js';
import type { StatusError } from '../../machinery/status.js';
import type { RequestAttributes } from './types.js';

export function forbiddenMessage(a: RequestAttributes): string {
  const user = a.user.name;
  if (!a.resourceRequest) return `User "${user}" cannot ${a.verb} path "${a.path}"`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (a.namespace) return `User "${user}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" in the namespace "${a.namespace}"`;
  return `User "${user}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" at the cluster scope`;
}

export function authorizationError(a: RequestAttributes, reason: string): StatusError {
  const why = forbiddenMessage(a) + (reason ? `: ${reason}` : '');
  return forbidden(a.resourceRequest ? a.apiGroup : '', a.resourceRequest ? a.resource : '', a.name, why);
}
