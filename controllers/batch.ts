// The batch controllers, in the order the controller manager starts them: Jobs
// (controllers/job) and CronJobs (controllers/cronjob).
import type { ControllerDescriptor } from './manager.js';
import { controller } from './manager.js';
import { JobController } from './job/controller.js';
import { CronJobController } from './cronjob/controller.js';

export const BATCH_CONTROLLERS: ControllerDescriptor[] = [controller('job-controller', (ctx) => new JobController(ctx)), controller('cronjob-controller', (ctx) => new CronJobController(ctx))];
