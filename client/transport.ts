// The one interface every API client in kite talks through. Two implementations:
// HttpTransport (over HTTPS to an API server, for the kubelet, proxy, DNS, ingress and
// anything out of process) and LocalTransport (straight on the Registry, for the
// controllers and scheduler that run inside the control-plane process). Both have the
// same semantics: objects handed out are private copies the caller may mutate (except
// for a `readOnly` list or watch, below), watch events arrive asynchronously and in order,
// and every failure is a StatusError carrying the server's Status.
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { KubeObject } from '../machinery/object.js';
import type { ResourceInfo } from '../machinery/resources.js';
import { StatusError } from '../machinery/status.js';

/**
 * The least an API object has. Deliberately without an index signature, so that the
 * `kubernetes-types` interfaces (`Pod`, `Deployment`, ...) satisfy it.
 */
export interface ApiObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  /**
   * The caller drops metadata.managedFields from what it gets (as upstream's scheduler and
   * controller manager informers do): the transport may leave them out of the copies.
   */
  withoutManagedFields?: boolean;
  /**
   * The caller never mutates what it gets (an informer's store): the in-process transport
   * then hands out the API server's own objects, shared with its watch cache and every
   * other such caller, instead of a copy for each.
   */
  readOnly?: boolean;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface WatchOptions {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowWatchBookmarks?: boolean;
  /** The server ends the watch (normally) after this long. */
  timeoutSeconds?: number;
  sendInitialEvents?: boolean;
  /**
   * The caller drops metadata.managedFields from what it gets (as upstream's scheduler and
   * controller manager informers do): the transport may leave them out of the copies.
   */
  withoutManagedFields?: boolean;
  /**
   * The caller never mutates what it gets (an informer's store): the in-process transport
   * then hands out the API server's own objects, shared with its watch cache and every
   * other such caller, instead of a copy for each.
   */
  readOnly?: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

/** An ERROR event never reaches the callback: it ends the watch (see WatchEnd). */
export interface WatchEvent<T> {
  type: WatchEventType;
  /** For BOOKMARK only `apiVersion`, `kind` and `metadata.resourceVersion` are meaningful. */
  object: T;
}

export interface WatchEnd {
  /**
   * `stopped`: the caller called stop(). `closed`: the server ended the stream normally
   * (timeoutSeconds, server shutdown) — resume from the last resourceVersion seen.
   * `error`: an ERROR event (410 Expired when the resourceVersion is too old), a
   * non-200 answer, or a broken connection — `error` says which.
   */
  reason: 'stopped' | 'closed' | 'error';
  error?: StatusError;
}

export interface Watch {
  stop(): void;
  /** Settles (never rejects) when the watch is over, for whatever reason. */
  readonly done: Promise<WatchEnd>;
}

export interface WriteOptions {
  /** Defaults to the transport's own manager (its component name). */
  fieldManager?: string;
  dryRun?: boolean;
  fieldValidation?: 'Ignore' | 'Warn' | 'Strict';
  /**
   * The caller never mutates the object the write answers with (most ignore it): the
   * in-process transport then hands out the API server's own object instead of a copy.
   */
  readOnly?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  /** PUT to a subresource of the object (`finalize`, `ephemeralcontainers`, ...). */
  subresource?: string;
}

export interface PatchOptions extends WriteOptions {
  /** Server-side apply only: take ownership of conflicting fields. */
  force?: boolean;
  /** e.g. `status`. */
  subresource?: string;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
  orphanDependents?: boolean;
  dryRun?: boolean;
  /** As WriteOptions.readOnly (not part of the DeleteOptions sent). */
  readOnly?: boolean;
}

export interface ApiTransport {
  /** Who is asking (`kite-<component>` over HTTP; the default field manager). */
  readonly component: string;
  /**
   * Page size the informer should use for its lists (0: one request). Over the wire
   * large lists are paged; in process they are not.
   */
  readonly preferredPageSize: number;

  get<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, name: string): Promise<T>;
  list<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, opts?: ListOptions): Promise<ListResult<T>>;
  watch<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, opts: WatchOptions, onEvent: (ev: WatchEvent<T>) => void): Watch;
  create<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, obj: T, opts?: WriteOptions): Promise<T>;
  /** PUT; the name comes from `obj.metadata.name`. */
  update<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, obj: T, opts?: UpdateOptions): Promise<T>;
  /** PUT to the status subresource. */
  updateStatus<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, obj: T, opts?: WriteOptions): Promise<T>;
  /**
   * `body`: JSON-patch operations (json), a partial object (merge, strategic), or the
   * applied configuration (apply; an object, or YAML/JSON text). Strings and Buffers
   * are sent as they are.
   */
  patch<T extends ApiObject = KubeObject>(res: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts?: PatchOptions): Promise<T>;
  /** Resolves to what the server answers: the object (graceful deletion) or a Status. */
  delete(res: ResourceInfo, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<KubeObject>;
  /** GET of a subresource (`deployments/scale`). */
  getSubresource<R = KubeObject>(res: ResourceInfo, namespace: string | undefined, name: string, subresource: string): Promise<R>;
  /** POST to a subresource: `pods/binding`, `pods/eviction`, `serviceaccounts/token`; `readOnly` as for writes. */
  createSubresource<R = KubeObject>(res: ResourceInfo, namespace: string | undefined, name: string, subresource: string, body: object, opts?: { readOnly?: boolean }): Promise<R>;
  /** Release connections. */
  close(): void;
}

// ---- error predicates ------------------------------------------------------

function statusOf(err: unknown): { code: number; reason: string } | undefined {
  return err instanceof StatusError ? { code: err.code, reason: err.reason } : undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusOf(err)?.code === 404;
}

export function isAlreadyExists(err: unknown): boolean {
  const s = statusOf(err);
  return s?.code === 409 && s.reason === 'AlreadyExists';
}

export function isConflict(err: unknown): boolean {
  const s = statusOf(err);
  return s?.code === 409 && s.reason !== 'AlreadyExists';
}

/** 410: the resourceVersion asked for is older than the server keeps. */
export function isExpired(err: unknown): boolean {
  const s = statusOf(err);
  return s?.code === 410 || s?.reason === 'Expired' || s?.reason === 'Gone';
}

export function isTooManyRequests(err: unknown): boolean {
  return statusOf(err)?.code === 429;
}

/**
 * A failure to reach the server at all (refused, reset, DNS, TLS), as opposed to an
 * answer from it. Carries the system error code (`ECONNREFUSED`, ...).
 */
export class ConnectionError extends StatusError {
  constructor(
    message: string,
    readonly errno: string | undefined,
    cause?: unknown,
  ) {
    super(503, 'ServiceUnavailable', message);
    this.name = 'ConnectionError';
    if (cause !== undefined) this.cause = cause;
  }
}

export function isConnectionRefused(err: unknown): boolean {
  return err instanceof ConnectionError && err.errno === 'ECONNREFUSED';
}

/** Turn anything thrown into a StatusError (non-Status errors become 500 InternalError). */
export function asStatusError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const out = new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);
  out.cause = err;
  return out;
}
