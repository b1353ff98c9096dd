// Completion indexes of Indexed Jobs (upstream: pkg/controller/job/indexed_job_utils.go).
// Sets of indexes are kept as ordered, non-overlapping, non-adjacent intervals and
// written the way `.status.completedIndexes` / `.status.failedIndexes` spell them:
// "1,3-5,7" (two adjacent numbers are written "3,4", not "3-4").
import type { Pod } from 'kubernetes-types/core/v1.js';

export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
export const INDEX_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-failure-count';
export const INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-ignored-failure-count';
export const COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';
export const UNKNOWN_INDEX = -1;

export interface Interval {
  first: number;
  last: number;
}

export type Intervals = readonly Interval[];

/** Merge two ordered interval lists into one (adjacent intervals join). */
export function mergeIntervals(a: Intervals, b: Intervals): Interval[] {
  const out: Interval[] = [];
  const push = (iv: Interval) => {
    const last = out[out.length - 1];
    if (!last || iv.first > last.last + 1) out.push({ first: iv.first, last: iv.last });
    else if (last.last < iv.last) last.last = iv.last;
  };
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i].first < b[j].first) push(a[i++]);
    else push(b[j++]);
  }
  while (i < a.length) push(a[i++]);
  while (j < b.length) push(b[j++]);
  return out;
}

/** `oi` plus the indexes given (in increasing order). */
export function withIndexes(oi: Intervals, indexes: readonly number[]): Interval[] {
  return mergeIntervals(
    oi,
    indexes.map((i) => ({ first: i, last: i })),
  );
}

export function totalOf(oi: Intervals | undefined): number {
  let n = 0;
  for (const iv of oi ?? []) n += iv.last - iv.first + 1;
  return n;
}

export function hasIndex(oi: Intervals | undefined, ix: number): boolean {
  if (!oi) return false;
  let lo = 0;
  let hi = oi.length;
  while (hi > lo) {
    const mid = lo + ((hi - lo) >> 1);
    if (oi[mid].last >= ix) hi = mid;
    else lo = mid + 1;
  }
  return hi < oi.length && oi[hi].first <= ix;
}

export function formatIntervals(oi: Intervals): string {
  const parts: string[] = [];
  for (const iv of oi) {
    if (iv.last === iv.first) parts.push(String(iv.first));
    else if (iv.last === iv.first + 1) parts.push(`${iv.first},${iv.last}`);
    else parts.push(`${iv.first}-${iv.last}`);
  }
  return parts.join(',');
}

function atoi(s: string): number | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parse "1,3-5" (indexes ≥ completions are dropped, corrupt pieces skipped). */
export function parseIntervals(s: string | undefined, completions: number): Interval[] {
  if (!s) return [];
  const out: Interval[] = [];
  for (const piece of s.split(',')) {
    const limits = piece.split('-');
    const first = atoi(limits[0]);
    if (first === undefined) continue;
    if (first >= completions) break;
    let last = first;
    if (limits.length > 1) {
      const l = atoi(limits[1]);
      if (l === undefined) continue;
      last = Math.min(l, completions - 1);
    }
    const prev = out[out.length - 1];
    if (prev && prev.last === first - 1) prev.last = last;
    else out.push({ first, last });
  }
  return out;
}

/** The pod's completion index, or UNKNOWN_INDEX. */
export function completionIndexOf(pod: Pod): number {
  const v = pod.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION];
  if (v === undefined) return UNKNOWN_INDEX;
  const n = atoi(v);
  return n === undefined || n < 0 ? UNKNOWN_INDEX : n;
}

export function indexesOf(pods: readonly Pod[]): Set<number> {
  const out = new Set<number>();
  for (const p of pods) {
    const ix = completionIndexOf(p);
    if (ix !== UNKNOWN_INDEX) out.add(ix);
  }
  return out;
}

export function sortedIndexes(set: Set<number>): number[] {
  return [...set].sort((a, b) => a - b);
}

function annotationInt(pod: Pod, key: string): number {
  const v = pod.metadata?.annotations?.[key];
  if (v === undefined) return 0;
  const n = atoi(v);
  if (n === undefined || n < 0 || n > 2147483647) return 0;
  return n;
}

export function indexFailureCount(pod: Pod): number {
  return annotationInt(pod, INDEX_FAILURE_COUNT_ANNOTATION);
}

export function indexIgnoredFailureCount(pod: Pod): number {
  return annotationInt(pod, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION);
}

export function indexAbsoluteFailureCount(pod: Pod): number {
  return indexFailureCount(pod) + indexIgnoredFailureCount(pod);
}

/** generateName for an index's pods: `<job>-<index>-`, the job name cut to fit. */
export function podGenerateNameWithIndex(jobName: string, index: number): string {
  const suffix = `-${index}-`;
  const MAX_GENERATED_NAME_LENGTH = 63 - 5;
  const prefix = jobName + suffix;
  return prefix.length > MAX_GENERATED_NAME_LENGTH ? prefix.slice(0, MAX_GENERATED_NAME_LENGTH - suffix.length) + suffix : prefix;
}
