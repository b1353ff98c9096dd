// The Deployment controller.
export { DeploymentController, newDeploymentController } from './controller.js';
