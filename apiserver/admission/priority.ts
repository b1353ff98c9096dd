// The Priority admission plugin (upstream: plugin/pkg/admission/priority): a new pod's
// spec.priority and spec.preemptionPolicy come from its PriorityClass (or the
// globalDefault class), never from the client; an unknown class is refused; at most
// one PriorityClass may be the global default.
import type { KubeObject } from '../../machinery/object.js';
import { StatusError } from '../../machinery/status.js';
import type { AdmissionPlugin, AdmissionRequest } from './chain.js';
import { SYSTEM_PRIORITY_CLASSES } from './misc.js';
import { admissionName, ensureObj, isSet, obj, str } from './util.js';

export interface PriorityLookups {
  priorityClass(name: string): KubeObject | undefined;
  priorityClasses(): Iterable<KubeObject>;
}

function forbidden(req: AdmissionRequest, message: string): StatusError {
  const name = admissionName(req);
  const kind = req.resource.plural;
  const group = req.resource.group;
  const qualified = group ? `${kind}.${group}` : kind;
  return new StatusError(403, 'Forbidden', `${qualified} "${name}" is forbidden: ${message}`, { name, group: group || undefined, kind });
}

/** When several classes claim to be the default (a race), the lowest value wins, as upstream. */
function defaultClass(lookups: PriorityLookups): KubeObject | undefined {
  let best: KubeObject | undefined;
  for (const pc of lookups.priorityClasses()) {
    if (pc.globalDefault !== true) continue;
    if (!best || Number(best.value ?? 0) > Number(pc.value ?? 0)) best = pc;
  }
  return best;
}

export function priorityAdmission(lookups: PriorityLookups): AdmissionPlugin {
  return {
    name: 'Priority',
    admit(req) {
      if (req.resource.group !== '' || req.resource.plural !== 'pods' || req.subresource !== '' || !req.object) return;
      const spec = ensureObj(req.object as Record<string, unknown>, 'spec');
      if (req.operation === 'UPDATE') {
        // Set on create; an update keeps what create computed.
        const old = obj(req.oldObject?.spec);
        if (isSet(old.priority)) spec.priority = old.priority;
        if (isSet(old.preemptionPolicy)) spec.preemptionPolicy = old.preemptionPolicy;
        return;
      }
      if (req.operation !== 'CREATE') return;
      const className = str(spec.priorityClassName);
      let value: number;
      let policy: string;
      if (!className) {
        const def = defaultClass(lookups);
        value = def ? Number(def.value ?? 0) : 0;
        policy = (def && str(def.preemptionPolicy)) || 'PreemptLowerPriority';
        if (def) spec.priorityClassName = def.metadata?.name;
      } else {
        const sys = SYSTEM_PRIORITY_CLASSES[className];
        const pc = lookups.priorityClass(className);
        if (pc) {
          value = Number(pc.value ?? 0);
          policy = str(pc.preemptionPolicy) || 'PreemptLowerPriority';
        } else if (sys) {
          value = sys.value;
          policy = 'PreemptLowerPriority';
        } else {
          throw forbidden(req, `no PriorityClass with name ${className} was found`);
        }
      }
      if (isSet(spec.priority) && spec.priority !== value) {
        throw forbidden(req, `the integer value of priority (${String(spec.priority)}) must not be provided in pod spec; priority admission controller computed ${value} from the given PriorityClass name`);
      }
      spec.priority = value;
      if (isSet(spec.preemptionPolicy) && spec.preemptionPolicy !== policy) {
        throw forbidden(req, `the string value of PreemptionPolicy (${String(spec.preemptionPolicy)}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`);
      }
      spec.preemptionPolicy = policy;
    },
    validate(req) {
      if (req.resource.group !== 'scheduling.k8s.io' || req.resource.plural !== 'priorityclasses' || !req.object) return;
      if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return;
      if (req.object.globalDefault !== true) return;
      for (const pc of lookups.priorityClasses()) {
        if (pc.globalDefault === true && pc.metadata?.name !== req.name) {
          throw forbidden(req, `PriorityClass ${pc.metadata?.name} is already marked as default. Only one default can exist`);
        }
      }
    },
  };
}
