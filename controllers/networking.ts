// The service-networking controllers, in the order the controller manager starts them.
import type { ControllerDescriptor } from './manager.js';
import { controller } from './manager.js';
import { newEndpointSliceController } from './endpointslice/controller.js';
import { newEndpointsController } from './endpoints/controller.js';
import { newServiceLBController } from './servicelb/controller.js';
import { newEndpointSliceMirroringController } from './endpointslice/mirroring.js';

export const NETWORKING_CONTROLLERS: ControllerDescriptor[] = [
  controller('endpointslice-controller', newEndpointSliceController),
  controller('endpoint-controller', newEndpointsController),
  controller('endpointslicemirroring-controller', newEndpointSliceMirroringController),
  controller('service-controller', newServiceLBController),
];
