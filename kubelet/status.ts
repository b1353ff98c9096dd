// The API status of a pod, computed from what the runtime reports (upstream:
// kubelet_pods.go generateAPIPodStatus / convertToAPIContainerStatuses /
// getPhase, status/generate.go, prober_manager.go UpdatePodStatus).
import type { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodStatus } from 'kubernetes-types/core/v1.js';
import { podQOS } from './resources.js';
import type { RuntimeContainer, RuntimePodStatus, StartFailure } from './types.js';

export const REASON_CONTAINER_CREATING = 'ContainerCreating';
export const REASON_POD_INITIALIZING = 'PodInitializing';
export const REASON_STATUS_UNKNOWN = 'ContainerStatusUnknown';

/** Conditions the kubelet owns (the rest are preserved as they are). */
export const KUBELET_CONDITIONS = new Set(['PodScheduled', 'Ready', 'Initialized', 'ContainersReady', 'PodReadyToStartContainers']);

/** RFC 3339 with seconds, as metav1.Time marshals. */
export function apiTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function isRestartableInit(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

/** Newest instance of a container (runtime lists are newest first). */
export function latestInstance(rs: RuntimePodStatus, name: string): RuntimeContainer | undefined {
  return rs.containers.find((c) => c.name === name);
}

/** upstream kubecontainer.ShouldContainerBeRestarted */
export function shouldContainerBeRestarted(container: Container, pod: Pod, rs: RuntimePodStatus): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  const cs = latestInstance(rs, container.name);
  if (!cs) return true;
  if (cs.state === 'running') return false;
  if (cs.state === 'unknown' || cs.state === 'created') return true;
  if (isRestartableInit(container)) return true;
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (policy === 'Never') return false;
  if (policy === 'OnFailure' && cs.exitCode === 0) return false;
  return true;
}

/** What the prober knows, for Started/Ready. */
export interface ProbeView {
  /** startup probe passed, or there is none (only asked for running containers) */
  started(containerName: string, containerID: string): boolean;
  /** readiness result: true/false, or undefined when there is no readiness probe */
  ready(containerName: string, containerID: string): boolean | undefined;
}

export interface StatusInput {
  pod: Pod;
  runtime: RuntimePodStatus;
  /** The status manager's last status, or the API's. */
  oldStatus: PodStatus;
  podIsTerminal: boolean;
  startFailure(containerName: string): StartFailure | undefined;
  probes: ProbeView;
  hostIPs: string[];
}

function toApiState(c: RuntimeContainer): ContainerState {
  switch (c.state) {
    case 'running':
      return { running: { startedAt: apiTime(c.startedAt) } };
    case 'exited': {
      const t: NonNullable<ContainerState['terminated']> = {
        exitCode: c.exitCode,
        startedAt: c.startedAt ? apiTime(c.startedAt) : undefined,
        finishedAt: c.finishedAt ? apiTime(c.finishedAt) : undefined,
        containerID: c.containerID,
      };
      if (c.reason) (t as { reason?: string }).reason = c.reason;
      if (c.message) (t as { message?: string }).message = c.message;
      return { terminated: cleanTerminated(t) };
    }
    default:
      return { waiting: {} };
  }
}

function cleanTerminated<T extends object>(t: T): T {
  for (const k of Object.keys(t) as Array<keyof T>) if (t[k] === undefined) delete t[k];
  return t;
}

function containerResources(spec: Container): ContainerStatus['resources'] {
  const r: Record<string, unknown> = {};
  if (spec.resources?.limits && Object.keys(spec.resources.limits).length) r.limits = { ...spec.resources.limits };
  if (spec.resources?.requests && Object.keys(spec.resources.requests).length) r.requests = { ...spec.resources.requests };
  return r as ContainerStatus['resources'];
}

function volumeMountStatuses(spec: Container): ContainerStatus['volumeMounts'] {
  if (!spec.volumeMounts || spec.volumeMounts.length === 0) return undefined;
  return spec.volumeMounts.map((m) => {
    const s: { name: string; mountPath: string; readOnly?: boolean; recursiveReadOnly?: string } = { name: m.name, mountPath: m.mountPath };
    if (m.readOnly) {
      s.readOnly = true;
      s.recursiveReadOnly = 'Disabled';
    }
    return s as NonNullable<ContainerStatus['volumeMounts']>[number];
  });
}

function convertContainerStatuses(
  input: StatusInput,
  containers: Container[],
  previous: ContainerStatus[] | undefined,
  hasInit: boolean,
  isInit: boolean,
): ContainerStatus[] {
  const { pod, runtime: rs } = input;
  const old = new Map((previous ?? []).map((s) => [s.name, s]));
  const statuses = new Map<string, ContainerStatus>();
  const defaultWaiting = hasInit ? REASON_POD_INITIALIZING : REASON_CONTAINER_CREATING;

  for (const c of containers) {
    let s: ContainerStatus = { name: c.name, image: c.image ?? '', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: defaultWaiting } } };
    const vm = volumeMountStatuses(c);
    if (vm) s.volumeMounts = vm;
    const o = old.get(c.name);
    if (o) {
      if (o.state?.terminated) s = structuredClone(o);
      else {
        s.restartCount = o.restartCount;
        if (o.lastState && Object.keys(o.lastState).length) s.lastState = structuredClone(o.lastState);
      }
    }
    statuses.set(c.name, s);
  }

  // Containers the runtime no longer has that used to run: infer that they stopped.
  for (const c of containers) {
    if (rs.containers.some((x) => x.name === c.name)) continue;
    const o = old.get(c.name);
    if (!o || o.state?.terminated || !o.state?.running) continue;
    const s = statuses.get(c.name)!;
    if (s.state?.waiting?.reason !== defaultWaiting) continue;
    if (s.lastState?.terminated) continue;
    s.lastState = {
      terminated: {
        reason: REASON_STATUS_UNKNOWN,
        message: 'The container could not be located when the pod was deleted.  The container used to be Running',
        exitCode: 137,
      },
    };
    if (!pod.metadata?.deletionTimestamp) s.restartCount = (s.restartCount ?? 0) + 1;
  }

  // Newest instance → status, the one before → lastState.
  const seen = new Map<string, number>();
  const sorted = [...rs.containers].sort((a, b) => b.createdAt - a.createdAt);
  for (const cs of sorted) {
    const spec = containers.find((c) => c.name === cs.name);
    if (!spec) continue;
    const n = seen.get(cs.name) ?? 0;
    if (n >= 2) continue;
    const o = old.get(cs.name);
    let state = toApiState(cs);
    let restartCount = cs.restartCount;
    if (cs.state === 'unknown' && o?.state?.running) {
      state = { terminated: { reason: REASON_STATUS_UNKNOWN, message: 'The container could not be located when the pod was terminated', exitCode: 137 } };
      restartCount = (o.restartCount ?? 0) + 1;
    }
    if (n === 0) {
      const s: ContainerStatus = {
        name: cs.name,
        image: cs.image || spec.image || '',
        imageID: cs.imageRef,
        containerID: cs.containerID,
        ready: false,
        restartCount,
        state,
      };
      const prevLast = statuses.get(cs.name)?.lastState;
      if (prevLast && Object.keys(prevLast).length) s.lastState = prevLast;
      const vm = volumeMountStatuses(spec);
      if (vm) s.volumeMounts = vm;
      s.resources = containerResources(spec);
      if (spec.resources?.requests && Object.keys(spec.resources.requests).length) s.allocatedResources = { ...spec.resources.requests };
      statuses.set(cs.name, s);
    } else {
      statuses.get(cs.name)!.lastState = state;
    }
    seen.set(cs.name, n + 1);
  }

  // Containers that failed to start (or wait for a restart) are Waiting with the reason.
  for (const c of containers) {
    if (isInit) {
      const cs = latestInstance(rs, c.name);
      if (cs && cs.state === 'exited' && cs.exitCode === 0) continue;
    }
    if (!shouldContainerBeRestarted(c, pod, rs)) continue;
    const failure = input.startFailure(c.name);
    if (!failure) continue;
    const s = statuses.get(c.name)!;
    if (s.state?.terminated) s.lastState = s.state;
    s.state = { waiting: { reason: failure.reason, ...(failure.message ? { message: failure.message } : {}) } };
  }

  // Started / Ready, as the prober manager sets them.
  for (const c of containers) {
    const s = statuses.get(c.name)!;
    const running = !!s.state?.running;
    let started = false;
    if (running) started = input.probes.started(c.name, s.containerID ?? '');
    s.started = started;
    if (isInit && !isRestartableInit(c)) {
      s.ready = !!(s.state?.terminated && s.state.terminated.exitCode === 0);
      continue;
    }
    if (!started) {
      s.ready = false;
      continue;
    }
    const r = input.probes.ready(c.name, s.containerID ?? '');
    s.ready = r === undefined ? true : r;
  }

  return containers.map((c) => statuses.get(c.name)!);
}

/** upstream getPhase (ContainerRestartRules off) */
export function podPhase(pod: Pod, info: ContainerStatus[], podIsTerminal: boolean, podHasInitialized: boolean): string {
  const spec = pod.spec!;
  const get = (name: string) => info.find((s) => s.name === name);
  let pendingRestartableInit = 0;
  let pendingRegularInit = 0;
  let failedInitialization = 0;
  for (const c of spec.initContainers ?? []) {
    if (isRestartableInit(c)) continue;
    const s = get(c.name);
    if (!s) {
      pendingRegularInit++;
      continue;
    }
    if (s.state?.running) pendingRegularInit++;
    else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInitialization++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) {
        if (s.lastState.terminated.exitCode !== 0) failedInitialization++;
      } else pendingRegularInit++;
    } else pendingRegularInit++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of spec.initContainers ?? []) {
    if (!isRestartableInit(c)) continue;
    const s = get(c.name);
    if (!s) {
      unknown++;
      continue;
    }
    if (s.state?.running) {
      if (!s.started) pendingRestartableInit++;
      running++;
    } else if (s.state?.terminated) {
      // not counted
    } else if (s.state?.waiting) {
      if (!s.lastState?.terminated) {
        pendingRestartableInit++;
        waiting++;
      }
    } else {
      pendingRestartableInit++;
      unknown++;
    }
  }
  for (const c of spec.containers ?? []) {
    const s = get(c.name);
    if (!s) {
      unknown++;
      continue;
    }
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  const restartPolicy = spec.restartPolicy ?? 'Always';
  if (failedInitialization > 0 && restartPolicy === 'Never') return 'Failed';
  if (pendingRegularInit > 0 || (pendingRestartableInit > 0 && !podHasInitialized) || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function fmtList(names: string[]): string {
  return `[${names.join(' ')}]`;
}

function containersReadyCondition(pod: Pod, statuses: ContainerStatus[] | undefined, phase: string): PodCondition {
  if (!statuses) return { type: 'ContainersReady', status: 'False', reason: 'UnknownContainerStatuses' };
  const unknown: string[] = [];
  const unready: string[] = [];
  const check = (c: Container) => {
    const s = statuses.find((x) => x.name === c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) unready.push(c.name);
  };
  for (const c of pod.spec?.initContainers ?? []) if (isRestartableInit(c)) check(c);
  for (const c of pod.spec?.containers ?? []) check(c);
  if (phase === 'Succeeded' && unknown.length === 0) return { type: 'ContainersReady', status: 'False', reason: 'PodCompleted' };
  if (phase === 'Failed') return { type: 'ContainersReady', status: 'False', reason: 'PodFailed' };
  const msgs: string[] = [];
  if (unknown.length) msgs.push(`containers with unknown status: ${fmtList(unknown)}`);
  if (unready.length) msgs.push(`containers with unready status: ${fmtList(unready)}`);
  if (msgs.length) return { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: msgs.join(', ') };
  return { type: 'ContainersReady', status: 'True' };
}

function readyCondition(pod: Pod, conditions: PodCondition[], statuses: ContainerStatus[] | undefined, phase: string): PodCondition {
  const cr = containersReadyCondition(pod, statuses, phase);
  if (cr.status !== 'True') {
    const c: PodCondition = { type: 'Ready', status: cr.status };
    if (cr.reason) c.reason = cr.reason;
    if (cr.message) c.message = cr.message;
    return c;
  }
  const msgs: string[] = [];
  for (const rg of pod.spec?.readinessGates ?? []) {
    const c = conditions.find((x) => x.type === rg.conditionType);
    if (!c) msgs.push(`corresponding condition of pod readiness gate "${rg.conditionType}" does not exist.`);
    else if (c.status !== 'True') msgs.push(`the status of pod readiness gate "${rg.conditionType}" is not "True", but ${c.status}`);
  }
  if (msgs.length) return { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady', message: msgs.join(', ') };
  return { type: 'Ready', status: 'True' };
}

function initializedCondition(pod: Pod, statuses: ContainerStatus[] | undefined, phase: string): PodCondition {
  const inits = pod.spec?.initContainers ?? [];
  if (!statuses && inits.length > 0) return { type: 'Initialized', status: 'False', reason: 'UnknownContainerStatuses' };
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const c of inits) {
    const s = statuses?.find((x) => x.name === c.name);
    if (!s) {
      unknown.push(c.name);
      continue;
    }
    const ok = isRestartableInit(c) ? !!s.started : s.ready;
    if (!ok) incomplete.push(c.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) return { type: 'Initialized', status: 'True', reason: 'PodCompleted' };
  const anyRegularStarted = (pod.spec?.containers ?? []).some((c) => {
    const s = statuses?.find((x) => x.name === c.name);
    return !!(s && (s.state?.running || s.state?.terminated || s.lastState?.terminated));
  });
  if (anyRegularStarted) return { type: 'Initialized', status: 'True' };
  const msgs: string[] = [];
  if (unknown.length) msgs.push(`containers with unknown status: ${fmtList(unknown)}`);
  if (incomplete.length) msgs.push(`containers with incomplete status: ${fmtList(incomplete)}`);
  if (msgs.length) return { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: msgs.join(', ') };
  return { type: 'Initialized', status: 'True' };
}

/** Sandbox present, ready and (for pod-network pods) with an IP. */
export function sandboxReady(pod: Pod, rs: RuntimePodStatus): boolean {
  const sb = rs.sandboxes[0];
  if (!sb || !sb.ready) return false;
  if (rs.sandboxes.filter((s) => s.ready).length > 1) return false;
  const hostNetwork = !!pod.spec?.hostNetwork;
  if (sb.hostNetwork !== hostNetwork) return false;
  if (!hostNetwork && !sb.ip) return false;
  return true;
}

/** The pod status the kubelet reports (before the status manager fills lastTransitionTime/startTime). */
export function generatePodStatus(input: StatusInput): PodStatus {
  const { pod, runtime: rs, oldStatus } = input;
  const spec = pod.spec!;
  const hasInit = (spec.initContainers ?? []).length > 0;
  const s: PodStatus = {};
  let ips = rs.ips.filter(Boolean);
  if (ips.length === 0 && oldStatus.podIPs?.length) ips = oldStatus.podIPs.map((p) => p.ip ?? '').filter(Boolean);
  if (spec.hostNetwork) ips = input.hostIPs.slice(0, 1);
  if (ips.length) {
    s.podIP = ips[0];
    s.podIPs = ips.map((ip) => ({ ip }));
  }
  s.qosClass = podQOS(pod);
  s.containerStatuses = convertContainerStatuses(input, spec.containers ?? [], oldStatus.containerStatuses, hasInit, false);
  if (hasInit) s.initContainerStatuses = convertContainerStatuses(input, spec.initContainers ?? [], oldStatus.initContainerStatuses, hasInit, true);
  if ((spec.ephemeralContainers ?? []).length > 0) {
    // Ephemeral containers are never restarted nor probed, and never ready (upstream).
    const ephemeral = convertContainerStatuses(input, (spec.ephemeralContainers ?? []) as Container[], oldStatus.ephemeralContainerStatuses, false, false);
    for (const e of ephemeral) {
      e.ready = false;
      delete e.started;
      delete e.resources;
      delete e.allocatedResources;
    }
    s.ephemeralContainerStatuses = ephemeral;
  }

  const all = [...(s.containerStatuses ?? []), ...(s.initContainerStatuses ?? [])];
  const anyRegularStarted = (spec.containers ?? []).some((c) => {
    const x = latestInstance(rs, c.name);
    return !!x && (x.state === 'running' || x.state === 'exited');
  });
  let phase = podPhase(pod, all, input.podIsTerminal, anyRegularStarted);
  if (phase !== 'Failed' && phase !== 'Succeeded') {
    if (oldStatus.phase === 'Failed' || oldStatus.phase === 'Succeeded') phase = oldStatus.phase;
    else if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') phase = pod.status.phase;
  }
  if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') phase = pod.status.phase;
  s.phase = phase;
  if (phase === oldStatus.phase) {
    const reason = oldStatus.reason || pod.status?.reason;
    const message = oldStatus.message || pod.status?.message;
    if (reason) s.reason = reason;
    if (message) s.message = message;
  }

  const conditions: PodCondition[] = [];
  for (const c of pod.status?.conditions ?? []) if (!KUBELET_CONDITIONS.has(c.type)) conditions.push(c);
  conditions.push({ type: 'PodReadyToStartContainers', status: sandboxReady(pod, rs) ? 'True' : 'False' });
  conditions.push(initializedCondition(pod, all, phase));
  conditions.push(readyCondition(pod, conditions, s.containerStatuses, phase));
  conditions.push(containersReadyCondition(pod, s.containerStatuses, phase));
  conditions.push({ type: 'PodScheduled', status: 'True' });
  s.conditions = conditions;

  if (input.hostIPs.length) {
    s.hostIP = input.hostIPs[0];
    s.hostIPs = input.hostIPs.map((ip) => ({ ip }));
  }
  return s;
}

/**
 * Fills in what the status manager owns: lastTransitionTime (kept while a
 * condition's status is unchanged), lastProbeTime, startTime.
 */
export function normalizeStatus(status: PodStatus, previous: PodStatus | undefined, apiStatus: PodStatus | undefined, now: number): PodStatus {
  const out: PodStatus = { ...status };
  out.conditions = (status.conditions ?? []).map((c) => {
    const prev = previous?.conditions?.find((p) => p.type === c.type) ?? apiStatus?.conditions?.find((p) => p.type === c.type);
    const lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : apiTime(now);
    const n: PodCondition = { type: c.type, status: c.status, lastProbeTime: null as unknown as undefined, lastTransitionTime };
    if (c.reason) n.reason = c.reason;
    if (c.message) n.message = c.message;
    if (!KUBELET_CONDITIONS.has(c.type)) return c;
    return n;
  });
  const start = previous?.startTime ?? apiStatus?.startTime ?? apiTime(now);
  out.startTime = start;
  return out;
}
