// The StatefulSet controller.
export { StatefulSetController, newStatefulSetController } from './controller.js';
export type { StatefulSetControllerOptions } from './controller.js';
export { StatefulSetControl, STATEFULSETS } from './control.js';
export * from './utils.js';
