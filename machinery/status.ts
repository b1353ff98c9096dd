// Kubernetes `Status` errors. Every failure that reaches a client is one of these,
// worded as upstream words it (k8s.io/apimachinery/pkg/api/errors), because kubectl
// prints `message` verbatim and branches on `reason` and `code`.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class StatusError extends Error {
  readonly status: Status;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    if (details) details = orderedDetails(details);
    // Keys in the order of upstream's Go struct (metav1.Status), which its encoder follows.
    this.status = details
      ? { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code }
      : { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): string {
    return this.status.reason ?? '';
  }
}

/** StatusDetails and its causes with keys in upstream's struct order (name, group, kind, uid, causes, retryAfterSeconds). */
function orderedDetails(d: StatusDetails): StatusDetails {
  const out: StatusDetails = {};
  if (d.name !== undefined) out.name = d.name;
  if (d.group !== undefined) out.group = d.group;
  if (d.kind !== undefined) out.kind = d.kind;
  if (d.uid !== undefined) out.uid = d.uid;
  if (d.causes !== undefined) {
    out.causes = d.causes.map((c) => {
      const o: StatusCause = {};
      if (c.reason !== undefined) o.reason = c.reason;
      if (c.message !== undefined) o.message = c.message;
      if (c.field !== undefined) o.field = c.field;
      return o;
    });
  }
  if (d.retryAfterSeconds !== undefined) out.retryAfterSeconds = d.retryAfterSeconds;
  return out;
}

/** A group-qualified resource name as upstream prints it: `deployments.apps`, or `pods` for core. */
export function qualifiedResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

export function notFound(group: string, resource: string, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualifiedResource(group, resource)} "${name}" not found`, { name, group: group || undefined, kind: resource });
}

export function alreadyExists(group: string, resource: string, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualifiedResource(group, resource)} "${name}" already exists`, { name, group: group || undefined, kind: resource });
}

/** An optimistic-concurrency failure (stale resourceVersion or precondition). */
export function conflict(group: string, resource: string, name: string, why: string): StatusError {
  return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${why}`, { name, group: group || undefined, kind: resource });
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

/** 422 with field causes: `Kind.group "name" is invalid: [field: Reason: detail, ...]`. */
export function invalid(group: string, kind: string, name: string, causes: StatusCause[]): StatusError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message ?? ''));
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return new StatusError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${joined}`, { name, group: group || undefined, kind, causes });
}

/** The 410 a watch or list gets for a compacted resourceVersion. */
export function expired(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

export function gone(message: string): StatusError {
  return new StatusError(410, 'Gone', message);
}

export function unauthorized(): StatusError {
  return new StatusError(401, 'Unauthorized', 'Unauthorized');
}

/**
 * 403 for a request on `group/resource` (named or not), as upstream's NewForbidden words it:
 * `pods "p" is forbidden: <why>`, `pods is forbidden: <why>`, or `forbidden: <why>` without a resource.
 */
export function forbidden(group: string, resource: string, name: string, why: string): StatusError {
  let msg: string;
  if (!resource) msg = `forbidden: ${why}`;
  else if (name) msg = `${qualifiedResource(group, resource)} "${name}" is forbidden: ${why}`;
  else msg = `${qualifiedResource(group, resource)} is forbidden: ${why}`;
  const details: StatusDetails = { group: group || undefined, kind: resource || undefined };
  if (name) details.name = name;
  return new StatusError(403, 'Forbidden', msg, details);
}

/** apierrors.NewForbidden: an admission plugin's refusal of one object (`pods "x" is forbidden: why`). */
export function forbiddenObject(group: string, resource: string, name: string, why: string): StatusError {
  const subject = name ? `${qualifiedResource(group, resource)} "${name}"` : qualifiedResource(group, resource);
  return new StatusError(403, 'Forbidden', `${subject} is forbidden: ${why}`, { name: name || undefined, group: group || undefined, kind: resource });
}

export function methodNotAllowed(message = 'the server does not allow this method on the requested resource'): StatusError {
  return new StatusError(405, 'MethodNotAllowed', message);
}

export function unsupportedMediaType(contentType: string): StatusError {
  return new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${contentType})`);
}

export function notAcceptable(message: string): StatusError {
  return new StatusError(406, 'NotAcceptable', message);
}

export function requestEntityTooLarge(limit: number): StatusError {
  return new StatusError(413, 'RequestEntityTooLarge', `the request body is too large: limit is ${limit} bytes`);
}

export function notImplemented(message: string): StatusError {
  return new StatusError(501, 'NotImplemented', message);
}

export function internalError(message: string): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);
}

export function serviceUnavailable(message: string): StatusError {
  return new StatusError(503, 'ServiceUnavailable', message);
}

export function tooManyRequests(message: string, retryAfterSeconds = 1): StatusError {
  return new StatusError(429, 'TooManyRequests', message, { retryAfterSeconds });
}

export function successStatus(details?: StatusDetails): Status {
  return details ? { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: orderedDetails(details), code: 200 } : { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
}

/** Convert anything thrown into a Status for the wire. */
export function toStatus(err: unknown): Status {
  if (err instanceof StatusError) return err.status;
  const message = err instanceof Error ? err.message : String(err);
  return internalError(message).status;
}
