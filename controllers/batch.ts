// The batch controllers, in the order the controller manager starts them: Jobs
// (controllers/job) and CronJobs (controllers/cronjob).
import type { ControllerConstructor } from './manager.js';
import { JobController } from './job/controller.js';
import { CronJobController } from './cronjob/controller.js';

export const BATCH_CONTROLLERS: ControllerConstructor[] = [(ctx) => new JobController(ctx), (ctx) => new CronJobController(ctx)];
