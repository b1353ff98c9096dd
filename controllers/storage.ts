// The storage controllers, in the order the controller manager starts them: the PV
// controller (binding, phases, reclaim), claim and volume in-use protection, generic
// ephemeral volumes, the late stand-in for the scheduler's volume binding, and the
// built-in local-path provisioner (rancher.io/local-path).
import type { ControllerDescriptor } from './manager.js';
import { controller } from './manager.js';
import { PersistentVolumeController } from './volume/binder.js';
import { PVCProtectionController, PVProtectionController } from './volume/protection.js';
import { EphemeralVolumeController } from './volume/ephemeral.js';
import { SelectedNodeController } from './volume/selected-node.js';
import { LocalPathProvisioner } from './volume/local-path.js';

export const STORAGE_CONTROLLERS: ControllerDescriptor[] = [
  controller('persistent-volume-binder', (ctx) => new PersistentVolumeController(ctx)),
  controller('pvc-protection-controller', (ctx) => new PVCProtectionController(ctx)),
  controller('pv-protection-controller', (ctx) => new PVProtectionController(ctx)),
  controller('ephemeral-volume-controller', (ctx) => new EphemeralVolumeController(ctx)),
  // The scheduler's volume PreBind, done by kite as a controller: the binder's permissions.
  controller('persistent-volume-binder', (ctx) => new SelectedNodeController(ctx)),
  controller('local-path-provisioner', (ctx) => new LocalPathProvisioner(ctx)),
];
