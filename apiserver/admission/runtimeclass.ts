// The RuntimeClass admission plugin (upstream: plugin/pkg/admission/runtimeclass): a new
// pod naming a RuntimeClass gets the class's pod overhead and scheduling constraints
// (node selector, tolerations); a class that does not exist rejects the pod.
import type { KubeObject } from '../../machinery/object.js';
import { StatusError } from '../../machinery/status.js';
import type { AdmissionPlugin, AdmissionRequest } from './chain.js';
import { arr, ensureObj, isObj, obj, semanticEqual, str, strMap } from './util.js';

function rejected(req: AdmissionRequest, why: string): StatusError {
  return new StatusError(403, 'Forbidden', `pods "${req.name}" is forbidden: pod rejected: ${why}`, { name: req.name, kind: 'pods' });
}

export function runtimeClassAdmission(runtimeClass: (name: string) => KubeObject | undefined): AdmissionPlugin {
  return {
    name: 'RuntimeClass',
    admit(req) {
      if (req.operation !== 'CREATE' || req.resource.group !== '' || req.resource.plural !== 'pods' || req.subresource || !req.object) return;
      const spec = ensureObj(req.object as Record<string, unknown>, 'spec');
      const name = str(spec.runtimeClassName);
      if (!name) return;
      const rc = runtimeClass(name);
      if (!rc) throw rejected(req, `RuntimeClass "${name}" not found`);
      const fixed = obj(rc.overhead).podFixed;
      if (isObj(fixed) && Object.keys(fixed).length) {
        if (isObj(spec.overhead) && !semanticEqual(spec.overhead, fixed)) throw rejected(req, "Pod's Overhead doesn't match RuntimeClass's defined Overhead");
        spec.overhead = structuredClone(fixed);
      }
      const scheduling = obj(rc.scheduling);
      const selector = strMap(scheduling.nodeSelector);
      if (Object.keys(selector).length) {
        const mine = strMap(spec.nodeSelector);
        for (const [k, v] of Object.entries(selector)) {
          if (k in mine && mine[k] !== v) throw rejected(req, 'conflict between RuntimeClass and Pod nodeSelector');
        }
        spec.nodeSelector = { ...mine, ...selector };
      }
      const tolerations = arr(scheduling.tolerations);
      if (tolerations.length) {
        const mine = arr(spec.tolerations);
        const add = tolerations.filter((t) => !mine.some((m) => semanticEqual(m, t)));
        spec.tolerations = [...mine, ...add];
      }
    },
    validate(req) {
      if (req.operation !== 'CREATE' || req.resource.group !== '' || req.resource.plural !== 'pods' || req.subresource || !req.object) return;
      const spec = obj(req.object.spec);
      const name = str(spec.runtimeClassName);
      if (name && !runtimeClass(name)) throw rejected(req, `RuntimeClass "${name}" not found`);
    },
  };
}
