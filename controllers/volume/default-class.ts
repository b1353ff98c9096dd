// The DefaultStorageClass admission plugin (upstream:
// plugin/pkg/admission/storage/storageclass/setdefault): a claim created without a class
// (no spec.storageClassName and no beta class annotation — "" is a class: "none") gets
// the default class, the newest StorageClass annotated
// storageclass.kubernetes.io/is-default-class=true. Installed on the registry as a
// create hook for PersistentVolumeClaims; claims created while no default existed get
// one later from the PV controller (retroactive default class assignment).
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { KubeObject } from '../../machinery/object.js';
import type { Registry } from '../../apiserver/registry.js';
import { claimHasClass, defaultStorageClass } from './util.js';

/** Set the default class on a new claim that names none. Returns the class given, if any. */
export function admitDefaultStorageClass(pvc: PersistentVolumeClaim, classes: readonly StorageClass[]): string | undefined {
  if (claimHasClass(pvc)) return undefined;
  const def = defaultStorageClass(classes);
  if (!def) return undefined;
  pvc.spec = { ...(pvc.spec ?? {}), storageClassName: def.metadata!.name! };
  return def.metadata!.name!;
}

/** Install the plugin on a registry (the control plane does this; tests may too). */
export function installDefaultStorageClassAdmission(registry: Registry): void {
  const classes = registry.resourceOf('storage.k8s.io', 'v1', 'storageclasses');
  registry.onBeforeCreate('PersistentVolumeClaim', (obj: KubeObject) => {
    const items = registry.list(classes, undefined, {}).items as unknown as StorageClass[];
    admitDefaultStorageClass(obj as unknown as PersistentVolumeClaim, items);
  });
}
