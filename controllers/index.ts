// Every controller kite runs, grouped by area (each area's file lists its own).
import type { ControllerDescriptor } from './manager.js';
import { controller } from './manager.js';
import { WORKLOADS_CONTROLLERS } from './workloads.js';
import { HOUSEKEEPING_CONTROLLERS } from './housekeeping.js';
import { BATCH_CONTROLLERS } from './batch.js';
import { NETWORKING_CONTROLLERS } from './networking.js';
import { STORAGE_CONTROLLERS } from './storage.js';
import { newClusterRoleAggregationController } from './clusterroleaggregation/controller.js';
import { newCsrSigningController } from './certificates/signer.js';
import { newCsrApprovingController } from './certificates/approver.js';
import { newBootstrapSigner, newTokenCleaner } from './bootstrap/controllers.js';

export const ALL_CONTROLLERS: readonly ControllerDescriptor[] = [
  ...HOUSEKEEPING_CONTROLLERS,
  ...WORKLOADS_CONTROLLERS,
  ...BATCH_CONTROLLERS,
  ...NETWORKING_CONTROLLERS,
  ...STORAGE_CONTROLLERS,
  controller('clusterrole-aggregation-controller', (ctx) => newClusterRoleAggregationController(ctx)),
  controller('certificate-controller', (ctx) => newCsrSigningController(ctx)),
  controller('certificate-controller', (ctx) => newCsrApprovingController(ctx)),
  controller('token-cleaner', (ctx) => newTokenCleaner(ctx)),
  controller('bootstrap-signer', (ctx) => newBootstrapSigner(ctx)),
];
export { startControllerManager } from './manager.js';
export type { ControllerContext, ControllerConstructor, ControllerDescriptor, ControllerManager, ControllerManagerOptions } from './manager.js';
