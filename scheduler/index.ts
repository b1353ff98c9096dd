// kite's scheduler: `startScheduler(transport)` is what `kite server` runs; the pure
// core (snapshot, framework, plugins, algorithm, preemption, queue) is exported for
// tests and benchmarks.
export { Scheduler, startScheduler, nodeChanges, runningSchedulers } from './scheduler.js';
export type { SchedulerOptions, SchedulerMetrics } from './scheduler.js';
export { Snapshot, NodeInfo } from './snapshot.js';
export { PodInfo } from './podinfo.js';
export { Framework, CycleState, Diagnosis, FitError, Status, Code, Action, MAX_NODE_SCORE } from './framework.js';
export { SchedulingAlgorithm, numFeasibleNodesToFind, NoNodesAvailableError, ERR_NO_NODES_AVAILABLE } from './schedule.js';
export { Evaluator, resolvePriority, budgetOf, filterPodsWithPDBViolation } from './preemption.js';
export { SchedulingQueue } from './queue.js';
export { defaultFramework, defaultPlugins, DEFAULT_WEIGHTS, DEFAULT_SCHEDULER_NAME } from './profile.js';
export { schedulingCycle } from './cycle.js';
export type { CycleResult } from './cycle.js';
