// batch/v1: Job and CronJob (pkg/apis/batch/validation, and the Job strategy's
// generated selector with batch.kubernetes.io/controller-uid / job-name labels).
import { child, goLabelSelector, goStringMap, goStruct, invalid, notSupported, required, FIELD_IMMUTABLE, type Cause } from './field.js';
import {
  labelSelectorError,
  labelSelectorMatches,
  validateLabelSelector,
  validateNonnegative,
  validateObjectMeta,
  validateObjectMetaUpdate,
  validateAnnotations,
  validateLabels,
} from './meta.js';
import { isDNS1123Label, nameIsDNSSubdomain } from './names.js';
import { validatePodTemplateSpec } from './pod.js';
import { CronError, knownTimeZone, parseCron } from './cron.js';
import { arr, isObj, isSet, num, obj, semanticEqual, str, strMap, type Obj } from './util.js';

export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

const MAX_PARALLELISM_INDEXED = 100000;
const MAX_COMPLETIONS_INDEXED = 100000;

/** The Job strategy's generateSelector: template labels and a controller-uid selector. */
export function generateJobSelector(job: Obj): void {
  const spec = (job.spec ??= {}) as Obj;
  if (spec.manualSelector === true) return;
  const meta = obj(job.metadata);
  const tpl = (spec.template ??= {}) as Obj;
  const tmeta = (tpl.metadata ??= {}) as Obj;
  const labels = (isObj(tmeta.labels) ? tmeta.labels : (tmeta.labels = {})) as Record<string, string>;
  for (const l of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) if (!(l in labels)) labels[l] = str(meta.name);
  for (const l of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL]) if (!(l in labels)) labels[l] = str(meta.uid);
  const sel = (isObj(spec.selector) ? spec.selector : (spec.selector = {})) as Obj;
  const ml = (isObj(sel.matchLabels) ? sel.matchLabels : (sel.matchLabels = {})) as Record<string, string>;
  if (!(CONTROLLER_UID_LABEL in ml)) ml[CONTROLLER_UID_LABEL] = str(meta.uid);
}

function validateHasLabel(tplMeta: Obj, path: string, k: string, expected: string): Cause[] {
  const labels = strMap(tplMeta.labels);
  const p = `${path}.labels[${k}]`;
  if (!(k in labels)) return [required(p, `must be '${expected}'`)];
  if (labels[k] !== expected) return [invalid(p, goStringMap(labels), `must be '${expected}'`)];
  return [];
}

function validateGeneratedSelector(job: Obj): Cause[] {
  const spec = obj(job.spec);
  if (spec.manualSelector === true || !isObj(spec.selector)) return [];
  const meta = obj(job.metadata);
  const errs: Cause[] = [];
  if (!str(meta.uid)) errs.push(required('metadata.uid'));
  const tmeta = obj(obj(spec.template).metadata);
  const tp = 'spec.template.metadata';
  errs.push(...validateHasLabel(tmeta, tp, LEGACY_CONTROLLER_UID_LABEL, str(meta.uid)));
  errs.push(...validateHasLabel(tmeta, tp, LEGACY_JOB_NAME_LABEL, str(meta.name)));
  errs.push(...validateHasLabel(tmeta, tp, CONTROLLER_UID_LABEL, str(meta.uid)));
  errs.push(...validateHasLabel(tmeta, tp, JOB_NAME_LABEL, str(meta.name)));
  const expected = {
    [LEGACY_CONTROLLER_UID_LABEL]: str(meta.uid),
    [LEGACY_JOB_NAME_LABEL]: str(meta.name),
    [CONTROLLER_UID_LABEL]: str(meta.uid),
    [JOB_NAME_LABEL]: str(meta.name),
  };
  if (!labelSelectorError(spec.selector) && !labelSelectorMatches(spec.selector, expected))
    errs.push(invalid('spec.selector', goLabelSelector(spec.selector), '`selector` not auto-generated'));
  return errs;
}

function validatePodFailurePolicy(spec: Obj, path: string): Cause[] {
  const pfp = spec.podFailurePolicy;
  if (!isObj(pfp)) return [];
  const errs: Cause[] = [];
  const rules = arr(pfp.rules).map(obj);
  const rp = child(path, 'rules');
  if (rules.length > 20) errs.push({ reason: 'FieldValueTooMany', field: rp, message: `Too many: ${rules.length}: must have at most 20 items` });
  const actions = ['Count', 'FailIndex', 'FailJob', 'Ignore'];
  rules.forEach((r, i) => {
    const p = `${rp}[${i}]`;
    const a = str(r.action);
    if (!actions.includes(a)) errs.push(notSupported(`${p}.action`, a, actions));
    const hasCodes = isObj(r.onExitCodes);
    const hasConds = arr(r.onPodConditions).length > 0;
    if (hasCodes && hasConds) errs.push(invalid(p, goStruct('batch.PodFailurePolicyRule', r), 'specifying both OnExitCodes and OnPodConditions is not supported'));
    else if (!hasCodes && !hasConds) errs.push(invalid(p, goStruct('batch.PodFailurePolicyRule', r), 'specifying one of OnExitCodes and OnPodConditions is required'));
    if (hasCodes) {
      const c = obj(r.onExitCodes);
      const op = str(c.operator);
      if (op !== 'In' && op !== 'NotIn') errs.push(notSupported(`${p}.onExitCodes.operator`, op, ['In', 'NotIn']));
      const values = arr<number>(c.values);
      if (values.length === 0) errs.push(required(`${p}.onExitCodes.values`, 'at least one value is required'));
      if (values.length > 255) errs.push({ reason: 'FieldValueTooMany', field: `${p}.onExitCodes.values`, message: `Too many: ${values.length}: must have at most 255 items` });
    }
  });
  return errs;
}

function validateJobSpecCommon(spec: Obj, path: string): Cause[] {
  const errs: Cause[] = [];
  if (isSet(spec.parallelism)) errs.push(...validateNonnegative(num(spec.parallelism), child(path, 'parallelism')));
  if (isSet(spec.completions)) errs.push(...validateNonnegative(num(spec.completions), child(path, 'completions')));
  if (isSet(spec.activeDeadlineSeconds)) errs.push(...validateNonnegative(num(spec.activeDeadlineSeconds), child(path, 'activeDeadlineSeconds')));
  if (isSet(spec.backoffLimit)) errs.push(...validateNonnegative(num(spec.backoffLimit), child(path, 'backoffLimit')));
  if (isSet(spec.ttlSecondsAfterFinished)) errs.push(...validateNonnegative(num(spec.ttlSecondsAfterFinished), child(path, 'ttlSecondsAfterFinished')));
  const mode = isSet(spec.completionMode) ? str(spec.completionMode) : undefined;
  if (mode !== undefined) {
    if (mode !== 'NonIndexed' && mode !== 'Indexed') errs.push(notSupported(child(path, 'completionMode'), mode, ['NonIndexed', 'Indexed']));
    if (mode === 'Indexed') {
      if (!isSet(spec.completions)) errs.push(required(child(path, 'completions'), 'when completion mode is Indexed'));
      if (num(spec.parallelism) > MAX_PARALLELISM_INDEXED)
        errs.push(invalid(child(path, 'parallelism'), num(spec.parallelism), `must be less than or equal to ${MAX_PARALLELISM_INDEXED} when completion mode is Indexed`));
      if (isSet(spec.completions) && num(spec.completions) > MAX_COMPLETIONS_INDEXED)
        errs.push(invalid(child(path, 'completions'), num(spec.completions), `must be less than or equal to ${MAX_COMPLETIONS_INDEXED} when completion mode is Indexed`));
    }
  }
  if (isSet(spec.backoffLimitPerIndex)) {
    errs.push(...validateNonnegative(num(spec.backoffLimitPerIndex), child(path, 'backoffLimitPerIndex')));
    if (mode !== 'Indexed') errs.push(invalid(child(path, 'backoffLimitPerIndex'), num(spec.backoffLimitPerIndex), 'requires indexed completion mode'));
  }
  if (isSet(spec.maxFailedIndexes) && !isSet(spec.backoffLimitPerIndex))
    errs.push(required(child(path, 'backoffLimitPerIndex'), 'when maxFailedIndexes is specified'));
  if (isSet(spec.podReplacementPolicy)) {
    const p = str(spec.podReplacementPolicy);
    const ok = ['TerminatingOrFailed', 'Failed'];
    if (!ok.includes(p)) errs.push(notSupported(child(path, 'podReplacementPolicy'), p, ok));
    else if (isObj(spec.podFailurePolicy) && p !== 'Failed')
      errs.push(notSupported(child(path, 'podReplacementPolicy'), p, ['Failed']));
  }
  errs.push(...validatePodFailurePolicy(spec, child(path, 'podFailurePolicy')));
  errs.push(...validatePodTemplateSpec(spec.template, child(path, 'template')));
  const rp = str(obj(obj(spec.template).spec).restartPolicy);
  if (rp !== 'OnFailure' && rp !== 'Never') errs.push(notSupported(child(path, 'template', 'spec', 'restartPolicy'), rp, ['OnFailure', 'Never']));
  else if (isObj(spec.podFailurePolicy) && rp !== 'Never')
    errs.push(invalid(child(path, 'template', 'spec', 'restartPolicy'), rp, 'only "Never" is supported when podFailurePolicy is specified'));
  return errs;
}

export function validateJobSpec(spec: Obj, path = 'spec'): Cause[] {
  const errs = validateJobSpecCommon(spec, path);
  if (!isObj(spec.selector)) errs.push(required(child(path, 'selector')));
  else errs.push(...validateLabelSelector(spec.selector, child(path, 'selector')));
  if (!isObj(spec.selector) || !labelSelectorError(spec.selector)) {
    const labels = obj(obj(spec.template).metadata).labels;
    if (!labelSelectorMatches(spec.selector, strMap(labels)))
      errs.push(invalid(child(path, 'template', 'metadata', 'labels'), goStringMap(isObj(labels) ? strMap(labels) : null), '`selector` does not match template `labels`'));
  }
  return errs;
}

export function validateJob(job: Obj): Cause[] {
  const meta = obj(job.metadata);
  const spec = obj(job.spec);
  const errs = validateObjectMeta(meta, true, nameIsDNSSubdomain, 'metadata');
  errs.push(...validateGeneratedSelector(job));
  errs.push(...validateJobSpec(spec));
  if (spec.completionMode === 'Indexed' && isSet(spec.completions) && num(spec.completions) > 0) {
    const host = `${str(meta.name)}-${num(spec.completions) - 1}`;
    if (isDNS1123Label(host).length) errs.push(invalid('metadata.name', str(meta.name), `will not able to create pod with invalid DNS label: ${host}`));
  }
  return errs;
}

export function validateJobUpdate(job: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(job.metadata, old.metadata, 'metadata');
  const s = obj(job.spec);
  const o = obj(old.spec);
  errs.push(...validateJobSpec(s));
  const indexed = s.completionMode === 'Indexed';
  const completionsChanged = !semanticEqual(s.completions, o.completions);
  if (completionsChanged) {
    // elastic Indexed Jobs may change completions together with parallelism
    if (!(indexed && isSet(s.completions) && num(s.completions) === num(s.parallelism) && isSet(o.completions) && num(o.completions) === num(o.parallelism)))
      errs.push(invalid('spec.completions', isSet(s.completions) ? num(s.completions) : null, FIELD_IMMUTABLE));
  }
  if (!semanticEqual(s.selector, o.selector)) errs.push(invalid('spec.selector', goLabelSelector(isObj(s.selector) ? s.selector : null), FIELD_IMMUTABLE));
  if (!semanticEqual(s.template, o.template)) {
    // a suspended Job that never started may change its scheduling directives
    const ts = obj(obj(s.template).spec);
    const to = obj(obj(o.template).spec);
    const wasSuspended = o.suspend === true && num(obj(old.status).active) === 0 && !isSet(obj(old.status).startTime);
    const strip = (t: unknown, spec: Obj) => ({ ...obj(t), metadata: { ...obj(obj(t).metadata), labels: undefined, annotations: undefined }, spec: { ...spec, nodeSelector: undefined, tolerations: undefined, affinity: undefined, schedulingGates: undefined } });
    if (!wasSuspended || !semanticEqual(strip(s.template, ts), strip(o.template, to)))
      errs.push(invalid('spec.template', goStruct('core.PodTemplateSpec', obj(s.template)), FIELD_IMMUTABLE));
  }
  if (!semanticEqual(s.completionMode, o.completionMode)) errs.push(invalid('spec.completionMode', isSet(s.completionMode) ? str(s.completionMode) : null, FIELD_IMMUTABLE));
  if (!semanticEqual(s.podFailurePolicy, o.podFailurePolicy)) errs.push(invalid('spec.podFailurePolicy', goStruct('&batch.PodFailurePolicy', obj(s.podFailurePolicy)), FIELD_IMMUTABLE));
  if (!semanticEqual(s.backoffLimitPerIndex, o.backoffLimitPerIndex))
    errs.push(invalid('spec.backoffLimitPerIndex', isSet(s.backoffLimitPerIndex) ? num(s.backoffLimitPerIndex) : null, FIELD_IMMUTABLE));
  return errs;
}

export function validateJobStatusUpdate(job: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(job.metadata, old.metadata, 'metadata');
  const st = obj(job.status);
  for (const f of ['active', 'succeeded', 'failed']) errs.push(...validateNonnegative(num(st[f]), `status.${f}`));
  if (isSet(st.ready)) errs.push(...validateNonnegative(num(st.ready), 'status.ready'));
  if (isSet(st.terminating)) errs.push(...validateNonnegative(num(st.terminating), 'status.terminating'));
  return errs;
}

// ---- CronJob ---------------------------------------------------------------------------------

const validTimeZoneChars = /^[A-Za-z.\-_0-9+]{1,14}$/;

function validateTimeZone(tz: unknown, path: string): Cause[] {
  if (!isSet(tz)) return [];
  const z = str(tz);
  if (!z) return [invalid(path, z, 'timeZone must be nil or non-empty string')];
  for (const part of z.split('/'))
    if (part === '.' || part === '..' || part.startsWith('-') || !validTimeZoneChars.test(part)) return [invalid(path, z, `unknown time zone ${z}`)];
  const errs: Cause[] = [];
  if (z.toLowerCase() === 'local') errs.push(invalid(path, z, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'));
  else if (!knownTimeZone(z)) errs.push(invalid(path, z, `unknown time zone ${z}`));
  return errs;
}

function validateScheduleFormat(schedule: string, allowTZInSchedule: boolean, timeZone: unknown, path: string): Cause[] {
  const errs: Cause[] = [];
  try {
    parseCron(schedule);
  } catch (e) {
    if (!(e instanceof CronError)) throw e;
    errs.push(invalid(path, schedule, e.message));
  }
  if (allowTZInSchedule && schedule.includes('TZ') && isSet(timeZone))
    errs.push(invalid(path, schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
  else if (!allowTZInSchedule && schedule.includes('TZ'))
    errs.push(invalid(path, schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  return errs;
}

function validateJobTemplateSpec(jt: Obj, path: string): Cause[] {
  const spec = obj(jt.spec);
  const jm = obj(jt.metadata);
  const errs = validateLabels(jm.labels, child(path, 'metadata', 'labels'));
  errs.push(...validateAnnotations(jm.annotations, child(path, 'metadata', 'annotations')));
  errs.push(...validateJobSpecCommon(spec, child(path, 'spec')));
  if (isSet(spec.selector)) errs.push(invalid(child(path, 'spec', 'selector'), goLabelSelector(obj(spec.selector)), '`selector` will be auto-generated'));
  if (spec.manualSelector === true) errs.push(notSupported(child(path, 'spec', 'manualSelector'), true, ['nil', 'false']));
  return errs;
}

function validateCronJobSpec(spec: Obj, allowTZInSchedule: boolean): Cause[] {
  const errs: Cause[] = [];
  const schedule = str(spec.schedule);
  if (!schedule) errs.push(required('spec.schedule'));
  else errs.push(...validateScheduleFormat(schedule, allowTZInSchedule, spec.timeZone, 'spec.schedule'));
  if (isSet(spec.startingDeadlineSeconds)) errs.push(...validateNonnegative(num(spec.startingDeadlineSeconds), 'spec.startingDeadlineSeconds'));
  const cp = str(spec.concurrencyPolicy);
  const ok = ['Allow', 'Forbid', 'Replace'];
  if (!cp) errs.push(required('spec.concurrencyPolicy'));
  else if (!ok.includes(cp)) errs.push(notSupported('spec.concurrencyPolicy', cp, ok));
  errs.push(...validateJobTemplateSpec(obj(spec.jobTemplate), 'spec.jobTemplate'));
  if (isSet(spec.successfulJobsHistoryLimit)) errs.push(...validateNonnegative(num(spec.successfulJobsHistoryLimit), 'spec.successfulJobsHistoryLimit'));
  if (isSet(spec.failedJobsHistoryLimit)) errs.push(...validateNonnegative(num(spec.failedJobsHistoryLimit), 'spec.failedJobsHistoryLimit'));
  errs.push(...validateTimeZone(spec.timeZone, 'spec.timeZone'));
  return errs;
}

export function validateCronJob(cj: Obj): Cause[] {
  const meta = obj(cj.metadata);
  const errs = validateObjectMeta(meta, true, nameIsDNSSubdomain, 'metadata');
  if (str(meta.name).length > 52) errs.push(invalid('metadata.name', str(meta.name), 'must be no more than 52 characters'));
  return errs.concat(validateCronJobSpec(obj(cj.spec), false));
}

export function validateCronJobUpdate(cj: Obj, old: Obj): Cause[] {
  const errs = validateObjectMetaUpdate(cj.metadata, old.metadata, 'metadata');
  const allowTZ = str(obj(old.spec).schedule).includes('TZ');
  errs.push(...validateCronJobSpec(obj(cj.spec), allowTZ));
  // the job template's pod template is validated by validateJobSpecCommon above
  return errs;
}

export function validateCronJobStatusUpdate(cj: Obj, old: Obj): Cause[] {
  return validateObjectMetaUpdate(cj.metadata, old.metadata, 'metadata');
}

