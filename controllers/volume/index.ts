// The storage controllers (upstream: pkg/controller/volume/*), one folder.
export { PersistentVolumeController, PV_CONTROLLER_NAME } from './binder.js';
export type { PersistentVolumeControllerOptions } from './binder.js';
export { PVCProtectionController, PVProtectionController, podUsesPVC } from './protection.js';
export { EphemeralVolumeController } from './ephemeral.js';
export { LocalPathProvisioner, DEFAULT_LOCAL_PATH_DIR, localPathFolder, provisionedVolumeName } from './local-path.js';
export type { LocalPathOptions } from './local-path.js';
export { SelectedNodeController } from './selected-node.js';
export { admitDefaultStorageClass, defaultStorageClassAdmission } from './default-class.js';
export { defaultLocalPathStorageClass } from './storage-class.js';
export * from './scheduling.js';
export * as volumeUtil from './util.js';
