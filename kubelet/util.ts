// Small helpers shared by the kubelet modules.
import { createHash } from 'node:crypto';
import type { Pod } from 'kubernetes-types/core/v1.js';

/** Go's time.Duration.String() for whole milliseconds: 10s, 1m20s, 5m0s, 500ms. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const secs = Number.isInteger(s) ? String(s) : String(Number(s.toFixed(3)));
  if (h > 0) return `${h}h${m}m${secs}s`;
  if (m > 0) return `${m}m${secs}s`;
  return `${secs}s`;
}

/** upstream format.Pod: name_namespace(uid) */
export function formatPod(pod: Pod): string {
  return `${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})`;
}

/** JSON with sorted keys, for hashing. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function shortHash(v: unknown): string {
  return createHash('sha256').update(stableJson(v)).digest('hex').slice(0, 8);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** grpc status names the way Go prints them (rpc error: code = NotFound desc = ...). */
const GO_CODES: Record<string, string> = {
  CANCELLED: 'Canceled',
  UNKNOWN: 'Unknown',
  INVALID_ARGUMENT: 'InvalidArgument',
  DEADLINE_EXCEEDED: 'DeadlineExceeded',
  NOT_FOUND: 'NotFound',
  ALREADY_EXISTS: 'AlreadyExists',
  PERMISSION_DENIED: 'PermissionDenied',
  RESOURCE_EXHAUSTED: 'ResourceExhausted',
  FAILED_PRECONDITION: 'FailedPrecondition',
  ABORTED: 'Aborted',
  OUT_OF_RANGE: 'OutOfRange',
  UNIMPLEMENTED: 'Unimplemented',
  INTERNAL: 'Internal',
  UNAVAILABLE: 'Unavailable',
  DATA_LOSS: 'DataLoss',
  UNAUTHENTICATED: 'Unauthenticated',
};

/** A CRI error as the kubelet would print it. */
export function rpcErrorText(err: unknown): string {
  const e = err as { code?: number; details?: string; message?: string; method?: string };
  if (typeof e?.code === 'number' && e.details !== undefined) {
    const names = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
    const name = names[e.code] ?? String(e.code);
    return `rpc error: code = ${GO_CODES[name] ?? name} desc = ${e.details}`;
  }
  return e?.message ?? String(err);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why kite cannot run a node on this host, or undefined when it can (a light module: the server asks before it loads the node's code). */
export function localNodeUnsupported(): string | undefined {
  if (process.env.KITE_NODE === 'none' || process.env.KITE_NODE === 'off') return 'KITE_NODE=none';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root (containers need root)';
  if (process.platform !== 'linux') return `unsupported platform ${process.platform}`;
  return undefined;
}
