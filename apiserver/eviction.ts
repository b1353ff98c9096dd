// The pods/eviction subresource (upstream: pkg/registry/core/pod/storage/eviction.go).
// An Eviction is a delete that respects PodDisruptionBudgets:
// - a pod that is already terminal, still Pending or being deleted is deleted straight
//   away (it is no disruption), with a resourceVersion precondition unless terminal or
//   being deleted;
// - more than one PDB selecting the pod: 500, unsupported;
// - one PDB: its status must be current (observedGeneration) and allow a disruption —
//   else 429 TooManyRequests with a DisruptionBudget cause; the API server decrements
//   disruptionsAllowed and records the pod in status.disruptedPods (so the disruption
//   controller does not count it while it goes), then deletes the pod. An unready pod
//   is deleted without using up the budget when the budget is met anyway (or when the
//   PDB's unhealthyPodEvictionPolicy is AlwaysAllow), with a resourceVersion
//   precondition so it cannot have become ready meanwhile.
import type { LabelSelectorLike } from '../machinery/labels.js';
import type { KubeObject } from '../machinery/object.js';
import { jsonCopy } from '../machinery/object.js';
import { resourceByPath } from '../machinery/resources.js';
import type { Status } from '../machinery/status.js';
import { StatusError, badRequest } from '../machinery/status.js';
import type { RequestContext } from './context.js';
import type { DeleteOptions, Registry } from './registry.js';
import { labelSelectorMatches } from './selectors.js';

const PODS = resourceByPath('', 'v1', 'pods')!;
const PDBS = resourceByPath('policy', 'v1', 'poddisruptionbudgets')!;

/** Upstream MaxDisruptedPodSize: past this many unconfirmed evictions, refuse more. */
export const MAX_DISRUPTED_POD_SIZE = 2000;
/** Upstream EvictionsRetry: 20 attempts, 500 ms apart. */
const RETRY_STEPS = 20;
const RETRY_DELAY_MS = 500;

type Obj = Record<string, unknown>;

interface PdbStatus {
  currentHealthy?: number;
  desiredHealthy?: number;
  disruptionsAllowed?: number;
  expectedPods?: number;
  observedGeneration?: number;
  disruptedPods?: Record<string, string>;
  conditions?: { type: string; status: string; reason?: string; message?: string; observedGeneration?: number; lastTransitionTime?: string }[];
}

interface Pdb extends KubeObject {
  spec?: { selector?: LabelSelectorLike; unhealthyPodEvictionPolicy?: string };
  status?: PdbStatus;
}

interface EvictionDeleteOptions extends DeleteOptions {
  dryRun?: string[];
}

function rfc3339(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function tooManyRequests(message: string, causeMessage: string, retryAfterSeconds = 0): StatusError {
  const details: { causes: { reason: string; message: string }[]; retryAfterSeconds?: number } = { causes: [{ reason: 'DisruptionBudget', message: causeMessage }] };
  if (retryAfterSeconds > 0) details.retryAfterSeconds = retryAfterSeconds;
  return new StatusError(429, 'TooManyRequests', message, details);
}

const VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget.";

function stillProcessing(name: string): StatusError {
  return tooManyRequests(VIOLATION, `The disruption budget ${name} is still being processed by the server.`, 10);
}

function forbiddenPdb(name: string, why: string): StatusError {
  return new StatusError(403, 'Forbidden', `poddisruptionbudgets.policy "${name}" is forbidden: ${why}`, { name, group: 'policy', kind: 'poddisruptionbudgets' });
}

function phaseOf(pod: KubeObject): string | undefined {
  return (pod.status as { phase?: string } | undefined)?.phase;
}

function isPodReady(pod: KubeObject): boolean {
  const conds = (pod.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Terminal, Pending or already going: evicting it disrupts nothing. */
function canIgnorePDB(pod: KubeObject): boolean {
  const phase = phaseOf(pod);
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata?.deletionTimestamp;
}

function shouldEnforceResourceVersion(pod: KubeObject): boolean {
  const phase = phaseOf(pod);
  return !(phase === 'Succeeded' || phase === 'Failed' || pod.metadata?.deletionTimestamp);
}

function resourceVersionUnset(opts: DeleteOptions): boolean {
  return !opts.preconditions?.resourceVersion;
}

function withResourceVersion(opts: EvictionDeleteOptions, rv: string | undefined): EvictionDeleteOptions {
  return { ...opts, preconditions: { ...(opts.preconditions ?? {}), resourceVersion: rv } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The eviction's DeleteOptions, with the request's dryRun merged in (upstream propagateDryRun). */
function deleteOptionsOf(eviction: KubeObject, ctx: RequestContext): EvictionDeleteOptions {
  const raw = (eviction.deleteOptions ?? undefined) as (EvictionDeleteOptions & Obj) | undefined | null;
  const requestDryRun = ctx.dryRun ? ['All'] : [];
  if (!raw) return { dryRun: requestDryRun };
  const opts: EvictionDeleteOptions = {};
  if (raw.gracePeriodSeconds !== undefined && raw.gracePeriodSeconds !== null) opts.gracePeriodSeconds = Number(raw.gracePeriodSeconds);
  if (raw.propagationPolicy) opts.propagationPolicy = raw.propagationPolicy;
  if (raw.orphanDependents !== undefined && raw.orphanDependents !== null) opts.orphanDependents = raw.orphanDependents;
  if (raw.preconditions) {
    const p = raw.preconditions as { uid?: string | null; resourceVersion?: string | null };
    opts.preconditions = {};
    if (p.uid) opts.preconditions.uid = p.uid;
    if (p.resourceVersion) opts.preconditions.resourceVersion = p.resourceVersion;
  }
  const bodyDryRun = Array.isArray(raw.dryRun) ? raw.dryRun.map(String) : [];
  if (bodyDryRun.length === 0) opts.dryRun = requestDryRun;
  else if (requestDryRun.length === 0) opts.dryRun = bodyDryRun;
  else if (JSON.stringify(bodyDryRun) !== JSON.stringify(requestDryRun)) {
    throw badRequest(`Non-matching dry-run options in request and content: [${requestDryRun.join(' ')}] and [${bodyDryRun.join(' ')}]`);
  } else opts.dryRun = bodyDryRun;
  return opts;
}

function isDryRun(opts: EvictionDeleteOptions): boolean {
  return (opts.dryRun ?? []).length > 0;
}

/**
 * PDBs in the pod's namespace that select it. As upstream's eviction handler, a nil or
 * empty selector selects nothing here (the disruption controller, like the policy/v1
 * listers, lets `{}` select every pod).
 */
function pdbsFor(registry: Registry, pod: KubeObject): Pdb[] {
  const ns = pod.metadata?.namespace;
  const out: Pdb[] = [];
  for (const pdb of registry.list(PDBS, ns, {}).items as Pdb[]) {
    if (pdb.metadata?.namespace !== ns) continue;
    const sel = pdb.spec?.selector;
    if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) continue;
    if (labelSelectorMatches(sel, pod.metadata?.labels as Record<string, string> | undefined)) out.push(pdb);
  }
  return out;
}

/** Decrement the budget for `podName`, or throw the 429/403 that refuses it (upstream checkAndDecrement). */
async function checkAndDecrement(registry: Registry, namespace: string, podName: string, current: Pdb, dryRun: boolean, ctx: RequestContext): Promise<void> {
  const pdb = jsonCopy(current);
  const name = pdb.metadata?.name ?? '';
  const st = (pdb.status ??= {});
  if ((st.observedGeneration ?? 0) < (pdb.metadata?.generation ?? 0)) throw stillProcessing(name);
  const allowed = st.disruptionsAllowed ?? 0;
  if (allowed < 0) throw forbiddenPdb(name, 'pdb disruptions allowed is negative');
  if (Object.keys(st.disruptedPods ?? {}).length > MAX_DISRUPTED_POD_SIZE) throw forbiddenPdb(name, 'DisruptedPods map too big - too many evictions not confirmed by PDB controller');
  if (allowed === 0) throw tooManyRequests(VIOLATION, `The disruption budget ${name} needs ${st.desiredHealthy ?? 0} healthy pods and has ${st.currentHealthy ?? 0} currently`);

  st.disruptionsAllowed = allowed - 1;
  if (st.disruptionsAllowed === 0) {
    const conditions = (st.conditions ??= []);
    const c = conditions.find((x) => x.type === 'DisruptionAllowed');
    const want = { type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: '', observedGeneration: st.observedGeneration };
    if (!c) conditions.push({ ...want, lastTransitionTime: rfc3339() });
    else {
      if (c.status !== want.status) c.lastTransitionTime = rfc3339();
      Object.assign(c, want);
    }
  }
  if (dryRun) return;
  st.disruptedPods = { ...(st.disruptedPods ?? {}), [podName]: rfc3339() };
  // The resourceVersion read is the precondition: a concurrent eviction makes this a conflict.
  await registry.update(PDBS, namespace, name, pdb, { ...ctx, dryRun: false, fieldManager: 'kube-apiserver', warnings: [] }, 'status');
}

function isConflict(err: unknown): boolean {
  return err instanceof StatusError && err.code === 409 && err.reason !== 'AlreadyExists';
}

const SUCCESS: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };

/**
 * Evict pod `name` in `namespace` as the Eviction body asks. Resolves to the Status to
 * send (201 Success, or the 500 for several PDBs); refusals are thrown as StatusErrors.
 */
export async function evictPod(registry: Registry, namespace: string, name: string, eviction: KubeObject, ctx: RequestContext): Promise<Status> {
  const bodyName = eviction.metadata?.name;
  if (bodyName !== undefined && bodyName !== '' && bodyName !== name) throw badRequest('name in URL does not match name in Eviction object');
  const original = deleteOptionsOf(eviction, ctx);
  const dryRun = isDryRun(original);
  const deleteCtx: RequestContext = { ...ctx, dryRun };
  const del = async (opts: EvictionDeleteOptions) => {
    const { dryRun: _d, ...rest } = opts;
    await registry.delete(PODS, namespace, name, rest, deleteCtx);
  };

  // Pods whose eviction disrupts nothing are deleted at once (retrying on conflict unless the caller pinned a resourceVersion).
  let pod: KubeObject | undefined;
  for (let attempt = 0; ; attempt++) {
    pod = registry.get(PODS, namespace, name);
    if (!canIgnorePDB(pod)) break;
    let opts = original;
    if (shouldEnforceResourceVersion(pod) && resourceVersionUnset(original)) opts = withResourceVersion(original, pod.metadata?.resourceVersion);
    try {
      await del(opts);
      return SUCCESS;
    } catch (err) {
      if (!isConflict(err) || !resourceVersionUnset(original) || attempt >= RETRY_STEPS - 1) throw err;
      await sleep(RETRY_DELAY_MS);
    }
  }

  const pdbs = pdbsFor(registry, pod);
  if (pdbs.length > 1) {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.', code: 500 };
  }
  let pinToReadiness = false;
  let pdbName = '';
  if (pdbs.length === 1) {
    let pdb = pdbs[0];
    pdbName = pdb.metadata?.name ?? '';
    const st = pdb.status ?? {};
    const unhealthyOk = !isPodReady(pod) && (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow' || ((st.currentHealthy ?? 0) >= (st.desiredHealthy ?? 0) && (st.desiredHealthy ?? 0) > 0));
    if (unhealthyOk) {
      // An unready pod when the budget is met anyway: no need to use it up.
      pinToReadiness = true;
    } else {
      for (let attempt = 0; ; attempt++) {
        try {
          await checkAndDecrement(registry, namespace, name, pdb, dryRun, ctx);
          break;
        } catch (err) {
          if (!isConflict(err)) throw err;
          if (attempt >= RETRY_STEPS - 1) throw new StatusError(504, 'Timeout', `couldn't update PodDisruptionBudget "${pdbName}" due to conflicts`, { retryAfterSeconds: 10 });
          await sleep(Math.min(RETRY_DELAY_MS, 20 * (attempt + 1)));
          pdb = registry.get(PDBS, namespace, pdbName) as Pdb;
        }
      }
    }
  }

  let opts = original;
  if (pinToReadiness) opts = withResourceVersion(original, pod.metadata?.resourceVersion);
  try {
    await del(opts);
  } catch (err) {
    if (isConflict(err) && pinToReadiness && resourceVersionUnset(original)) {
      // The pod changed (it may be ready now): the client should try again.
      throw stillProcessing(pdbName);
    }
    throw err;
  }
  return SUCCESS;
}
