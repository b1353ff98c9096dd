// The DefaultStorageClass admission plugin (upstream:
// plugin/pkg/admission/storage/storageclass/setdefault): a claim created without a class
// (no spec.storageClassName and no beta class annotation — "" is a class: "none") gets
// the default class, the newest StorageClass annotated
// storageclass.kubernetes.io/is-default-class=true. The control plane puts it in the
// admission chain; claims created while no default existed get one later from the PV
// controller (retroactive default class assignment).
import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { KubeObject } from '../../machinery/object.js';
import type { AdmissionPlugin } from '../../apiserver/admission/chain.js';
import { claimHasClass, defaultStorageClass } from './util.js';

/** Set the default class on a new claim that names none. Returns the class given, if any. */
export function admitDefaultStorageClass(pvc: PersistentVolumeClaim, classes: readonly StorageClass[]): string | undefined {
  if (claimHasClass(pvc)) return undefined;
  const def = defaultStorageClass(classes);
  if (!def) return undefined;
  pvc.spec = { ...(pvc.spec ?? {}), storageClassName: def.metadata!.name! };
  return def.metadata!.name!;
}

/** The admission plugin over a lister of StorageClasses (stored objects, not modified). */
export function defaultStorageClassAdmission(storageClasses: () => readonly KubeObject[]): AdmissionPlugin {
  return {
    name: 'DefaultStorageClass',
    admit(req) {
      if (req.operation !== 'CREATE' || req.resource.group !== '' || req.resource.plural !== 'persistentvolumeclaims' || req.subresource || !req.object) return;
      admitDefaultStorageClass(req.object as unknown as PersistentVolumeClaim, storageClasses() as unknown as StorageClass[]);
    },
  };
}
