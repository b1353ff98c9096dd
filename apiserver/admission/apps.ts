// apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision
// (pkg/apis/apps/validation and the immutable-selector rule from the registry strategies).
import {
  child,
  forbidden,
  goIntOrString,
  goLabelSelector,
  goStringMap,
  goStruct,
  invalid,
  notSupported,
  required,
  FIELD_IMMUTABLE,
  type Cause,
} from './field.js';
import {
  labelSelectorError,
  labelSelectorIsEmpty,
  labelSelectorMatches,
  validateAnnotations,
  validateLabelSelector,
  validateLabels,
  validateNonnegative,
  validateObjectMeta,
  validateObjectMetaUpdate,
  IS_NEGATIVE,
} from './meta.js';
import { isValidPercent, nameIsDNSLabel, nameIsDNSSubdomain } from './names.js';
import { validatePodTemplateSpec } from './pod.js';
import { validateReplicaCountsStatus } from './core.js';
import { isObj, isSet, num, obj, semanticEqual, str, strMap, type Obj } from './util.js';

// ---- int-or-percent helpers ----------------------------------------------------------------

export function validatePositiveIntOrPercent(v: unknown, path: string): Cause[] {
  if (typeof v === 'string') return isValidPercent(v).map((m) => invalid(path, goIntOrString(v), m));
  if (typeof v === 'number') return v < 0 ? [invalid(path, v, IS_NEGATIVE)] : [];
  return [invalid(path, goIntOrString(v), "must be an integer or percentage (e.g '5%%')")];
}

function percentValue(v: unknown): number | undefined {
  if (typeof v !== 'string' || isValidPercent(v).length) return undefined;
  return Number(v.slice(0, -1));
}

/** The int or percent value of an IntOrString (a bad string reads as 0, as IntValue does). */
export function intOrPercentValue(v: unknown): number {
  const p = percentValue(v);
  if (p !== undefined) return p;
  if (typeof v === 'number') return v;
  const n = Number(v);
  return Number.isInteger(n) ? n : 0;
}

export function isNotMoreThan100Percent(v: unknown, path: string): Cause[] {
  const p = percentValue(v);
  if (p === undefined || p <= 100) return [];
  return [invalid(path, goIntOrString(v), 'must not be greater than 100%')];
}

// ---- templates -------------------------------------------------------------------------------

function templateLabels(tpl: unknown): Record<string, string> | null {
  const l = obj(obj(tpl).metadata).labels;
  return isObj(l) ? strMap(l) : null;
}

/** ValidatePodTemplateSpecForReplicaSet (Deployments and ReplicaSets). */
function validateTemplateForReplicaSet(tpl: unknown, selector: unknown, path: string, kind: string): Cause[] {
  const errs: Cause[] = [];
  if (!isObj(tpl)) return [required(path)];
  // a nil selector converts to labels.Nothing(), which matches no template either
  if (!labelSelectorIsEmpty(selector) && !labelSelectorMatches(selector, templateLabels(tpl) ?? {}))
    errs.push(invalid(child(path, 'metadata', 'labels'), goStringMap(templateLabels(tpl)), '`selector` does not match template `labels`'));
  errs.push(...validatePodTemplateSpec(tpl, path));
  const spec = obj(tpl.spec);
  const rp = str(spec.restartPolicy);
  if (rp !== 'Always') errs.push(notSupported(child(path, 'spec', 'restartPolicy'), rp, ['Always']));
  if (isSet(spec.activeDeadlineSeconds)) errs.push(forbidden(child(path, 'spec', 'activeDeadlineSeconds'), `activeDeadlineSeconds in ${kind} is not Supported`));
  return errs;
}

function validateSelectorRequired(sel: unknown, path: string, kind: string): Cause[] {
  if (!isObj(sel)) return [required(path)];
  const errs = validateLabelSelector(sel, path);
  if (labelSelectorIsEmpty(sel)) errs.push(invalid(path, goLabelSelector(sel), `empty selector is invalid for ${kind}`));
  return errs;
}

// ---- Deployment --------------------------------------------------------------------------------

function validateDeploymentStrategy(s: Obj, path: string): Cause[] {
  const t = str(s.type);
  if (t === 'Recreate') {
    return isSet(s.rollingUpdate) ? [forbidden(child(path, 'rollingUpdate'), "may not be specified when strategy `type` is 'Recreate'")] : [];
  }
  if (t === 'RollingUpdate') {
    if (!isObj(s.rollingUpdate)) return [required(child(path, 'rollingUpdate'), 'this should be defaulted and never be nil')];
    const ru = s.rollingUpdate;
    const p = child(path, 'rollingUpdate');
    const errs = validatePositiveIntOrPercent(ru.maxUnavailable, child(p, 'maxUnavailable'));
    errs.push(...validatePositiveIntOrPercent(ru.maxSurge, child(p, 'maxSurge')));
    if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0)
      errs.push(invalid(child(p, 'maxUnavailable'), goIntOrString(ru.maxUnavailable), 'may not be 0 when `maxSurge` is 0'));
    errs.push(...isNotMoreThan100Percent(ru.maxUnavailable, child(p, 'maxUnavailable')));
    return errs;
  }
  return [notSupported(path, goStruct('apps.DeploymentStrategy', s), ['Recreate', 'RollingUpdate'])];
}

export function validateDeploymentSpec(spec: Obj, path = 'spec'): Cause[] {
  const errs = validateNonnegative(num(spec.replicas), child(path, 'replicas'));
  errs.push(...validateSelectorRequired(spec.selector, child(path, 'selector'), 'deployment'));
  const selErr = isObj(spec.selector) ? labelSelectorError(spec.selector) : undefined;
  if (selErr) errs.push(invalid(child(path, 'selector'), goLabelSelector(obj(spec.selector)), 'invalid label selector'));
  else errs.push(...validateTemplateForReplicaSet(spec.template, spec.selector, child(path, 'template'), 'Deployment'));
  errs.push(...validateDeploymentStrategy(obj(spec.strategy), child(path, 'strategy')));
  errs.push(...validateNonnegative(num(spec.minReadySeconds), child(path, 'minReadySeconds')));
  if (isSet(spec.revisionHistoryLimit)) errs.push(...validateNonnegative(num(spec.revisionHistoryLimit), child(path, 'revisionHistoryLimit')));
  if (isObj(spec.rollbackTo)) errs.push(...validateNonnegative(num(spec.rollbackTo.revision), child(path, 'rollback', 'version')));
  if (isSet(spec.progressDeadlineSeconds)) {
    const pds = num(spec.progressDeadlineSeconds);
    errs.push(...validateNonnegative(pds, child(path, 'progressDeadlineSeconds')));
    if (pds <= num(spec.minReadySeconds)) errs.push(invalid(child(path, 'progressDeadlineSeconds'), pds, 'must be greater than minReadySeconds'));
  }
  return errs;
}

export function validateDeployment(d: Obj): Cause[] {
  const errs = validateObjectMeta(d.metadata, true, nameIsDNSSubdomain, 'metadata');
  return errs.concat(validateDeploymentSpec(obj(d.spec)));
}

function immutableSelector(n: Obj, o: Obj): Cause[] {
  const ns = obj(n.spec).selector;
  const os = obj(o.spec).selector;
  return semanticEqual(ns, os) ? [] : [invalid('spec.selector', goLabelSelector(isObj(ns) ? ns : null), FIELD_IMMUTABLE)];
}

export function validateDeploymentUpdate(d: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(d.metadata, old.metadata, 'metadata');
  errs.push(...validateDeploymentSpec(obj(d.spec)));
  return errs.concat(immutableSelector(d, old));
}

const DEPLOYMENT_STATUS = ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'collisionCount'];

function collisionDecrement(n: Obj, o: Obj): Cause[] {
  const nc = obj(n.status).collisionCount;
  const oc = obj(o.status).collisionCount;
  if ((isSet(oc) && !isSet(nc)) || (isSet(oc) && isSet(nc) && num(nc) < num(oc)))
    return [invalid('status.collisionCount', isSet(nc) ? num(nc) : 0, 'cannot be decremented')];
  return [];
}

export function validateDeploymentStatusUpdate(d: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(d.metadata, old.metadata, 'metadata');
  errs.push(...validateReplicaCountsStatus(obj(d.status), 'status', DEPLOYMENT_STATUS));
  return errs.concat(collisionDecrement(d, old));
}

// ---- ReplicaSet ----------------------------------------------------------------------------------

export function validateReplicaSetSpec(spec: Obj, path = 'spec'): Cause[] {
  const errs = validateNonnegative(num(spec.replicas), child(path, 'replicas'));
  errs.push(...validateNonnegative(num(spec.minReadySeconds), child(path, 'minReadySeconds')));
  errs.push(...validateSelectorRequired(spec.selector, child(path, 'selector'), 'deployment'));
  const selErr = isObj(spec.selector) ? labelSelectorError(spec.selector) : undefined;
  if (selErr) errs.push(invalid(child(path, 'selector'), goLabelSelector(obj(spec.selector)), 'invalid label selector'));
  else errs.push(...validateTemplateForReplicaSet(spec.template, spec.selector, child(path, 'template'), 'ReplicaSet'));
  return errs;
}

export function validateReplicaSet(rs: Obj): Cause[] {
  const errs = validateObjectMeta(rs.metadata, true, nameIsDNSSubdomain, 'metadata');
  return errs.concat(validateReplicaSetSpec(obj(rs.spec)));
}

export function validateReplicaSetUpdate(rs: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(rs.metadata, old.metadata, 'metadata');
  errs.push(...validateReplicaSetSpec(obj(rs.spec)));
  return errs.concat(immutableSelector(rs, old));
}

export function validateReplicaSetStatusUpdate(rs: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(rs.metadata, old.metadata, 'metadata');
  return errs.concat(validateReplicaCountsStatus(obj(rs.status), 'status', ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration']));
}

// ---- StatefulSet ----------------------------------------------------------------------------------

export function validateStatefulSetSpec(spec: Obj, path = 'spec'): Cause[] {
  const errs: Cause[] = [];
  const pmp = str(spec.podManagementPolicy);
  if (!pmp) errs.push(required(child(path, 'podManagementPolicy')));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel') errs.push(invalid(child(path, 'podManagementPolicy'), pmp, "must be 'OrderedReady' or 'Parallel'"));
  const us = obj(spec.updateStrategy);
  const ut = str(us.type);
  const usp = child(path, 'updateStrategy');
  if (!ut) errs.push(required(usp));
  else if (ut === 'OnDelete') {
    if (isSet(us.rollingUpdate)) errs.push(invalid(child(usp, 'rollingUpdate'), goStruct('&apps.RollingUpdateStatefulSetStrategy', obj(us.rollingUpdate)), "only allowed for updateStrategy 'RollingUpdate'"));
  } else if (ut === 'RollingUpdate') {
    if (isObj(us.rollingUpdate)) {
      const ru = us.rollingUpdate;
      const rp = child(usp, 'rollingUpdate');
      errs.push(...validateNonnegative(num(ru.partition), child(rp, 'partition')));
      if (isSet(ru.maxUnavailable)) {
        const mp = child(rp, 'maxUnavailable');
        errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, mp));
        if (intOrPercentValue(ru.maxUnavailable) === 0) errs.push(invalid(mp, goIntOrString(ru.maxUnavailable), 'cannot be 0'));
        errs.push(...isNotMoreThan100Percent(ru.maxUnavailable, mp));
      }
    }
  } else errs.push(invalid(usp, goStruct('apps.StatefulSetUpdateStrategy', us), "must be 'RollingUpdate' or 'OnDelete'"));
  const pvcrp = spec.persistentVolumeClaimRetentionPolicy;
  if (isObj(pvcrp))
    for (const f of ['whenDeleted', 'whenScaled']) {
      const v = str(pvcrp[f]);
      if (v !== 'Retain' && v !== 'Delete') errs.push(notSupported(child(path, 'persistentVolumeClaimRetentionPolicy', f), v, ['Retain', 'Delete']));
    }
  errs.push(...validateNonnegative(num(spec.replicas), child(path, 'replicas')));
  errs.push(...validateNonnegative(num(spec.minReadySeconds), child(path, 'minReadySeconds')));
  if (isObj(spec.ordinals)) errs.push(...validateNonnegative(num(spec.ordinals.start), child(path, 'ordinals.start')));
  errs.push(...validateSelectorRequired(spec.selector, child(path, 'selector'), 'statefulset'));
  const selErr = isObj(spec.selector) ? labelSelectorError(spec.selector) : undefined;
  const tp = child(path, 'template');
  if (selErr) errs.push(invalid(child(path, 'selector'), goLabelSelector(obj(spec.selector)), ''));
  else {
    const tpl = obj(spec.template);
    if (!labelSelectorIsEmpty(spec.selector) && !labelSelectorMatches(spec.selector, templateLabels(tpl) ?? {}))
      errs.push(invalid(child(tp, 'metadata', 'labels'), goStringMap(templateLabels(tpl)), '`selector` does not match template `labels`'));
    // upstream checks only the template's labels and annotations here (its PodSpec is
    // not validated for StatefulSets)
    const tm = obj(tpl.metadata);
    errs.push(...validateLabels(tm.labels, child(tp, 'labels')));
    errs.push(...validateAnnotations(tm.annotations, child(tp, 'annotations')));
  }
  const tspec = obj(obj(spec.template).spec);
  if (str(tspec.restartPolicy) !== 'Always') errs.push(notSupported(child(tp, 'spec', 'restartPolicy'), str(tspec.restartPolicy), ['Always']));
  if (isSet(tspec.activeDeadlineSeconds)) errs.push(forbidden(child(tp, 'spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in StatefulSet is not Supported'));
  return errs;
}

export function validateStatefulSet(s: Obj): Cause[] {
  const errs = validateObjectMeta(s.metadata, true, nameIsDNSLabel, 'metadata');
  return errs.concat(validateStatefulSetSpec(obj(s.spec)));
}

export function validateStatefulSetUpdate(s: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(s.metadata, old.metadata, 'metadata');
  errs.push(...validateStatefulSetSpec(obj(s.spec)));
  const ns = { ...obj(s.spec) };
  const os = obj(old.spec);
  for (const f of ['replicas', 'template', 'updateStrategy', 'minReadySeconds', 'ordinals', 'persistentVolumeClaimRetentionPolicy']) ns[f] = os[f];
  if (!semanticEqual(ns, os))
    errs.push(
      forbidden(
        'spec',
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      ),
    );
  return errs;
}

export function validateStatefulSetStatusUpdate(s: Obj, old: Obj): Cause[] {
  const status = obj(s.status);
  const errs = validateReplicaCountsStatus(status, 'status', ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas']);
  if (isSet(status.observedGeneration)) errs.push(...validateNonnegative(num(status.observedGeneration), 'status.observedGeneration'));
  if (isSet(status.collisionCount)) errs.push(...validateNonnegative(num(status.collisionCount), 'status.collisionCount'));
  errs.push(...validateObjectMetaUpdate(s.metadata, old.metadata, 'metadata'));
  return errs.concat(collisionDecrement(s, old));
}

// ---- DaemonSet ----------------------------------------------------------------------------------------

export const DS_TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

export function validateDaemonSetSpec(spec: Obj, path = 'spec'): Cause[] {
  const errs = validateLabelSelector(spec.selector, child(path, 'selector'));
  const tpl = obj(spec.template);
  const selErr = isObj(spec.selector) ? labelSelectorError(spec.selector) : 'nil';
  if (!selErr && !labelSelectorMatches(spec.selector, templateLabels(tpl) ?? {}) && !labelSelectorIsEmpty(spec.selector))
    errs.push(invalid(child(path, 'template', 'metadata', 'labels'), goStringMap(templateLabels(tpl)), '`selector` does not match template `labels`'));
  if (!isObj(spec.selector)) errs.push(invalid(child(path, 'template', 'metadata', 'labels'), goStringMap(templateLabels(tpl)), '`selector` does not match template `labels`'));
  if (isObj(spec.selector) && labelSelectorIsEmpty(spec.selector)) errs.push(invalid(child(path, 'selector'), goLabelSelector(spec.selector), 'empty selector is invalid for daemonset'));
  errs.push(...validatePodTemplateSpec(tpl, child(path, 'template')));
  const tspec = obj(tpl.spec);
  if (str(tspec.restartPolicy) !== 'Always') errs.push(notSupported(child(path, 'template', 'spec', 'restartPolicy'), str(tspec.restartPolicy), ['Always']));
  if (isSet(tspec.activeDeadlineSeconds)) errs.push(forbidden(child(path, 'template', 'spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in DaemonSet is not Supported'));
  errs.push(...validateNonnegative(num(spec.minReadySeconds), child(path, 'minReadySeconds')));
  const us = obj(spec.updateStrategy);
  const usp = child(path, 'updateStrategy');
  const t = str(us.type);
  if (t === 'RollingUpdate') {
    if (!isObj(us.rollingUpdate)) errs.push(required(child(usp, 'rollingUpdate')));
    else {
      const ru = us.rollingUpdate;
      const rp = child(usp, 'rollingUpdate');
      errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable ?? 0, child(rp, 'maxUnavailable')));
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge ?? 0, child(rp, 'maxSurge')));
      errs.push(...isNotMoreThan100Percent(ru.maxUnavailable, child(rp, 'maxUnavailable')));
      errs.push(...isNotMoreThan100Percent(ru.maxSurge, child(rp, 'maxSurge')));
      const hasU = intOrPercentValue(ru.maxUnavailable ?? 0) !== 0;
      const hasS = intOrPercentValue(ru.maxSurge ?? 0) !== 0;
      if (hasU && hasS) errs.push(invalid(child(rp, 'maxSurge'), goIntOrString(ru.maxSurge), 'may not be set when maxUnavailable is non-zero'));
      else if (!hasU && !hasS) errs.push(required(child(rp, 'maxUnavailable'), 'cannot be 0 when maxSurge is 0'));
    }
  } else if (t !== 'OnDelete') errs.push(notSupported(usp, goStruct('&apps.DaemonSetUpdateStrategy', us), ['RollingUpdate', 'OnDelete']));
  if (isSet(spec.revisionHistoryLimit)) errs.push(...validateNonnegative(num(spec.revisionHistoryLimit), child(path, 'revisionHistoryLimit')));
  return errs;
}

export function validateDaemonSet(ds: Obj): Cause[] {
  const errs = validateObjectMeta(ds.metadata, true, nameIsDNSSubdomain, 'metadata');
  return errs.concat(validateDaemonSetSpec(obj(ds.spec)));
}

export function validateDaemonSetUpdate(ds: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(ds.metadata, old.metadata, 'metadata');
  errs.push(...validateDaemonSetSpec(obj(ds.spec)));
  return errs.concat(immutableSelector(ds, old));
}

export function validateDaemonSetStatusUpdate(ds: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(ds.metadata, old.metadata, 'metadata');
  const st = obj(ds.status);
  for (const f of [
    'currentNumberScheduled',
    'numberMisscheduled',
    'desiredNumberScheduled',
    'numberReady',
    'observedGeneration',
    'updatedNumberScheduled',
    'numberAvailable',
    'numberUnavailable',
  ])
    errs.push(...validateNonnegative(num(st[f]), `status.${f}`));
  if (isSet(st.collisionCount)) errs.push(...validateNonnegative(num(st.collisionCount), 'status.collisionCount'));
  return errs.concat(collisionDecrement(ds, old));
}

// ---- ControllerRevision ------------------------------------------------------------------------------

export function validateControllerRevision(cr: Obj): Cause[] {
  const errs = validateObjectMeta(cr.metadata, true, nameIsDNSSubdomain, 'metadata');
  if (!isSet(cr.data)) errs.push(required('data', 'data is mandatory'));
  return errs.concat(validateNonnegative(num(cr.revision), 'revision'));
}

export function validateControllerRevisionUpdate(cr: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(cr.metadata, old.metadata, 'metadata');
  errs.push(...validateControllerRevision(cr));
  if (!semanticEqual(cr.data, old.data)) errs.push(invalid('data', goStruct('runtime.RawExtension', { raw: JSON.stringify(cr.data ?? null) }), FIELD_IMMUTABLE));
  return errs;
}

