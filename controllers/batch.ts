// The batch controllers, in the order the controller manager starts them.
import type { ControllerConstructor } from './manager.js';

export const BATCH_CONTROLLERS: ControllerConstructor[] = [];
