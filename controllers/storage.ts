// The storage controllers, in the order the controller manager starts them: the PV
// controller (binding, phases, reclaim), claim and volume in-use protection, generic
// ephemeral volumes, the late stand-in for the scheduler's volume binding, and the
// built-in local-path provisioner (rancher.io/local-path).
import type { ControllerConstructor } from './manager.js';
import { PersistentVolumeController } from './volume/binder.js';
import { PVCProtectionController, PVProtectionController } from './volume/protection.js';
import { EphemeralVolumeController } from './volume/ephemeral.js';
import { SelectedNodeController } from './volume/selected-node.js';
import { LocalPathProvisioner } from './volume/local-path.js';

export const STORAGE_CONTROLLERS: ControllerConstructor[] = [
  (ctx) => new PersistentVolumeController(ctx),
  (ctx) => new PVCProtectionController(ctx),
  (ctx) => new PVProtectionController(ctx),
  (ctx) => new EphemeralVolumeController(ctx),
  (ctx) => new SelectedNodeController(ctx),
  (ctx) => new LocalPathProvisioner(ctx),
];
