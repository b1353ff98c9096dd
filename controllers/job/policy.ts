// Pod failure policy, success policy and pod-failure back-off (upstream:
// pkg/controller/job/pod_failure_policy.go, success_policy.go, backoff_utils.go).
import type { Job, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement, SuccessPolicy } from 'kubernetes-types/batch/v1.js';
import type { ContainerStatus, Pod } from 'kubernetes-types/core/v1.js';
import type { Clock } from './clock.js';
import type { Intervals } from './indexes.js';
import { parseIntervals, totalOf } from './indexes.js';
import { finishedTime } from './pods.js';

export type FailurePolicyAction = 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';

export interface FailurePolicyMatch {
  /** Set when a FailJob rule matched: the reason the Job fails. */
  failJobMessage?: string;
  /** False when an Ignore rule matched: the failure does not count against backoffLimit. */
  countFailed: boolean;
  action?: FailurePolicyAction;
}

function exitCodeMatches(code: number, req: PodFailurePolicyOnExitCodesRequirement): boolean {
  if (req.operator === 'In') return req.values.includes(code);
  if (req.operator === 'NotIn') return !req.values.includes(code);
  return false;
}

function matchingContainer(statuses: ContainerStatus[] | undefined, req: PodFailurePolicyOnExitCodesRequirement): ContainerStatus | undefined {
  for (const cs of statuses ?? []) {
    const t = cs.state?.terminated;
    if (!t) continue; // still terminating: no exit code yet
    if (req.containerName && req.containerName !== cs.name) continue;
    if (t.exitCode !== 0 && exitCodeMatches(t.exitCode, req)) return cs;
  }
  return undefined;
}

/** Match a failed pod against the rules, first match wins. */
export function matchPodFailurePolicy(policy: PodFailurePolicy | undefined, pod: Pod): FailurePolicyMatch {
  if (!policy) return { countFailed: true };
  const ns = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  for (const [index, rule] of (policy.rules ?? []).entries()) {
    const action = rule.action as FailurePolicyAction;
    if (rule.onExitCodes) {
      const cs = matchingContainer(pod.status?.containerStatuses, rule.onExitCodes) ?? matchingContainer(pod.status?.initContainerStatuses, rule.onExitCodes);
      if (!cs) continue;
      switch (action) {
        case 'Ignore':
          return { countFailed: false, action };
        case 'FailIndex':
        case 'Count':
          return { countFailed: true, action };
        case 'FailJob':
          return {
            failJobMessage: `Container ${cs.name} for pod ${ns}/${name} failed with exit code ${cs.state!.terminated!.exitCode} matching ${action} rule at index ${index}`,
            countFailed: true,
            action,
          };
      }
    } else if (rule.onPodConditions) {
      let matched: string | undefined;
      for (const c of pod.status?.conditions ?? []) {
        if (rule.onPodConditions.some((p) => p.type === c.type && (p.status ?? 'True') === c.status)) {
          matched = c.type;
          break;
        }
      }
      if (matched === undefined) continue;
      switch (action) {
        case 'Ignore':
          return { countFailed: false, action };
        case 'FailIndex':
        case 'Count':
          return { countFailed: true, action };
        case 'FailJob':
          return { failJobMessage: `Pod ${ns}/${name} has condition ${matched} matching ${action} rule at index ${index}`, countFailed: true, action };
      }
    }
  }
  return { countFailed: true };
}

// ---- success policy ----------------------------------------------------------------------

function indexesRuleMatches(rule: Intervals, succeeded: Intervals, succeededCount: number | undefined): boolean {
  let contains = 0;
  let s = 0;
  let r = 0;
  while (r < rule.length && s < succeeded.length) {
    const overlap = Math.min(rule[r].last, succeeded[s].last) - Math.max(rule[r].first, succeeded[s].first) + 1;
    if (overlap > 0) contains += overlap;
    if (succeeded[s].last < rule[r].last) s++;
    else if (succeeded[s].last > rule[r].last) r++;
    else {
      s++;
      r++;
    }
  }
  return contains === totalOf(rule) || (succeededCount !== undefined && contains >= succeededCount);
}

/** The SuccessCriteriaMet message when a success-policy rule is met. */
export function matchSuccessPolicy(policy: SuccessPolicy | undefined, completions: number, succeeded: Intervals): string | undefined {
  if (!policy || succeeded.length === 0) return undefined;
  for (const [index, rule] of (policy.rules ?? []).entries()) {
    if (rule.succeededIndexes !== undefined) {
      const required = parseIntervals(rule.succeededIndexes, completions);
      if (required.length === 0) continue;
      if (indexesRuleMatches(required, succeeded, rule.succeededCount)) return `Matched rules at index ${index}`;
    } else if (rule.succeededCount !== undefined && totalOf(succeeded) >= rule.succeededCount) {
      return `Matched rules at index ${index}`;
    }
  }
  return undefined;
}

// ---- pod-failure back-off ----------------------------------------------------------------------

export interface BackoffRecord {
  key: string;
  failuresAfterLastSuccess: number;
  lastFailureTime?: number;
}

export interface BackoffSettings {
  /** First delay after a failure (upstream DefaultJobPodFailureBackOff: 10 s). */
  baseMs: number;
  /** Ceiling (upstream MaxJobPodFailureBackOff: 10 min). */
  maxMs: number;
}

/** Per Job: consecutive pod failures since the last success, and when the last one was. */
export class BackoffStore {
  private readonly records = new Map<string, BackoffRecord>();

  get(key: string): BackoffRecord | undefined {
    return this.records.get(key);
  }

  update(record: BackoffRecord): void {
    this.records.set(record.key, { ...record });
  }

  remove(key: string): void {
    this.records.delete(key);
  }

  /** The record after counting newly finished pods (not stored until update()). */
  next(key: string, newSucceeded: readonly Pod[], newFailed: readonly Pod[]): BackoffRecord {
    const old = this.records.get(key);
    const rec: BackoffRecord = old ? { ...old } : { key, failuresAfterLastSuccess: 0 };
    const failedTimes = newFailed.map(finishedTime).sort((a, b) => a - b);
    if (newSucceeded.length === 0) {
      if (failedTimes.length === 0) return rec;
      rec.failuresAfterLastSuccess += failedTimes.length;
      rec.lastFailureTime = failedTimes[failedTimes.length - 1];
      return rec;
    }
    rec.failuresAfterLastSuccess = 0;
    rec.lastFailureTime = undefined;
    const lastSuccess = Math.max(...newSucceeded.map(finishedTime));
    for (let i = failedTimes.length - 1; i >= 0; i--) {
      if (failedTimes[i] <= lastSuccess) break;
      rec.lastFailureTime ??= failedTimes[i];
      rec.failuresAfterLastSuccess++;
    }
    return rec;
  }
}

/** How long until a replacement may be created after `failures` consecutive failures. */
export function remainingBackoff(clock: Clock, settings: BackoffSettings, failures: number, lastFailureTime: number | undefined): number {
  if (failures === 0 || lastFailureTime === undefined) return 0;
  let delay = settings.baseMs;
  for (let i = 1; i < failures; i++) {
    delay *= 2;
    if (delay >= settings.maxMs) {
      delay = settings.maxMs;
      break;
    }
  }
  const elapsed = clock.now() - lastFailureTime;
  return delay < elapsed ? 0 : delay - elapsed;
}

export function isIndexedJob(job: Job): boolean {
  return job.spec?.completionMode === 'Indexed';
}

export function hasBackoffLimitPerIndex(job: Job): boolean {
  return job.spec?.backoffLimitPerIndex !== undefined && job.spec?.backoffLimitPerIndex !== null;
}

/** Only Failed pods are replaced (podReplacementPolicy Failed, or a pod failure policy). */
export function onlyReplaceFailedPods(job: Job): boolean {
  return job.spec?.podReplacementPolicy === 'Failed' || !!job.spec?.podFailurePolicy;
}
