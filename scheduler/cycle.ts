// The decision half of a scheduling cycle (upstream: schedulingCycle up to Assume):
// run the algorithm; if the pod fits nowhere, run PostFilter (preemption) and build the
// message the pod's condition and event carry. Pure: the caller does the API calls.
import type { Nominator } from './framework.js';
import { CycleState, FitError } from './framework.js';
import type { PodInfo } from './podinfo.js';
import type { Budget, Evaluator, PreemptionOutcome } from './preemption.js';
import type { ScheduleResult, SchedulingAlgorithm } from './schedule.js';
import { ERR_NO_NODES_AVAILABLE, NoNodesAvailableError } from './schedule.js';

export type CycleResult =
  | { kind: 'scheduled'; node: string; result: ScheduleResult }
  | {
      kind: 'unschedulable';
      /** The PodScheduled condition's and the FailedScheduling event's message. */
      message: string;
      /** Plugins that rejected the pod (the queue retries it on their events). */
      rejectedBy: ReadonlySet<string>;
      /** Preemption made room on this node: nominate it. */
      nominate?: string;
      /** Drop the pod's nominated node. */
      clearNomination: boolean;
      preemption?: Extract<PreemptionOutcome, { ok: true }>;
      fitError?: FitError;
    };

export function schedulingCycle(alg: SchedulingAlgorithm, evaluator: Evaluator | undefined, pod: PodInfo, budgets: readonly Budget[], nominator?: Nominator & { nominatedPodsForNode(n: string): readonly PodInfo[] }): CycleResult {
  const state = new CycleState();
  let r: ScheduleResult | FitError;
  try {
    r = alg.schedulePod(state, pod, nominator);
  } catch (err) {
    if (err instanceof NoNodesAvailableError) return { kind: 'unschedulable', message: ERR_NO_NODES_AVAILABLE, rejectedBy: new Set(), clearNomination: true };
    throw err;
  }
  if (!(r instanceof FitError)) return { kind: 'scheduled', node: r.node, result: r };
  if (!evaluator) return { kind: 'unschedulable', message: r.message(), rejectedBy: r.diagnosis.unschedulablePlugins, clearNomination: false, fitError: r };
  const outcome = evaluator.preempt(state, pod, r.diagnosis, budgets, nominator);
  if (outcome.ok) {
    return { kind: 'unschedulable', message: r.message(), rejectedBy: r.diagnosis.unschedulablePlugins, nominate: outcome.candidate.node, clearNomination: false, preemption: outcome, fitError: r };
  }
  r.diagnosis.postFilterMsg = outcome.message;
  return { kind: 'unschedulable', message: r.message(), rejectedBy: r.diagnosis.unschedulablePlugins, clearNomination: outcome.clearNomination, fitError: r };
}
