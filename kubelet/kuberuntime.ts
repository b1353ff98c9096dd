// The CRI-backed runtime (upstream: pkg/kubelet/kuberuntime): pod sandboxes and
// containers in containerd, driven towards each pod's spec.
//
// syncPod follows upstream's computePodActions/SyncPod: recreate the sandbox
// when it is gone or changed (killing what ran in the old one), run init
// containers one at a time, then start every container that should run,
// restarting per restartPolicy with exponential back-off (CrashLoopBackOff),
// pulling images per imagePullPolicy with back-off (ErrImagePull,
// ImagePullBackOff), killing containers whose spec changed or whose
// liveness/startup probe failed, and stopping the sandbox when nothing is left
// to run.
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, closeSync, readSync, fstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { CriClient, isNotFound, type ContainerConfig, type ContainerStatus as CriContainerStatus, type PodSandboxConfig, type PodSandboxStatus, type Req } from './cri/client.js';
import { Backoff } from './backoff.js';
import { ContainerConfigError } from './env.js';
import { runLifecycleHandler } from './handlers.js';
import { containerLinuxResources } from './resources.js';
import { latestInstance, shouldContainerBeRestarted, isRestartableInit } from './status.js';
import {
  ANN_CONTAINER_HASH,
  ANN_HOST_TERMINATION_LOG,
  ANN_POD_GRACE,
  ANN_RESTART_COUNT,
  ANN_TERMINATION_MESSAGE_PATH,
  ANN_TERMINATION_MESSAGE_POLICY,
  LABEL_CONTAINER_NAME,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  type ExecResult,
  type KillOptions,
  type PodRuntime,
  type RuntimeContainer,
  type RuntimeHelper,
  type RuntimeImage,
  type RuntimeContainerStats,
  type RuntimePodStatus,
  type RuntimeReadiness,
  type RuntimeSandbox,
  type RuntimeVersionInfo,
  type SyncPodResult,
} from './types.js';
import { errorMessage, formatPod, goDuration, rpcErrorText, shortHash } from './util.js';
import { BUSYBOX_IMAGE } from './images/busybox.js';

const NS_PER_MS = 1_000_000;
const MIN_GRACE_SECONDS = 2;
const DEFAULT_GRACE_SECONDS = 30;
const MAX_TERMINATION_MESSAGE = 4096;
const FALLBACK_LOG_LINES = 80;
const FALLBACK_LOG_BYTES = 2048;

const DEFAULT_MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
/** Images the node builds and imports itself (kubelet/images), which no registry serves offline. */
const NODE_BUILT_IMAGES = new Set([BUSYBOX_IMAGE]);

/**
 * A reference in full, as the runtime names images: a bare name is on docker.io (under
 * library/ when it has no path), as the docker reference normalization does.
 */
export function fullImageReference(ref: string): string {
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return ref;
  return slash < 0 ? `docker.io/library/${ref}` : `docker.io/${ref}`;
}
const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface KubeRuntimeOptions {
  /** bytes of memory on the node (for Burstable oom_score_adj) */
  memoryCapacity: number;
  /**
   * With imagePullPolicy Always (or a :latest tag), a failed pull of an image the node
   * built itself (busybox; no registry serves it offline) uses the local copy. Any
   * other image fails as upstream does: ErrImagePull, then ImagePullBackOff.
   */
  offlineImageFallback?: boolean;
  log?: (msg: string) => void;
}

/** Container hash: the spec minus what may change in place (resources). */
export function containerHash(c: Container): string {
  const { resources: _r, ...rest } = c;
  void _r;
  return shortHash(rest);
}

/** upstream applyDefaultImageTag: no tag and no digest → :latest */
export function defaultImageTag(image: string): string {
  if (image.includes('@')) return image;
  const lastSlash = image.lastIndexOf('/');
  const lastColon = image.lastIndexOf(':');
  return lastColon > lastSlash ? image : `${image}:latest`;
}

const IMAGE_RE = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$/;

export function validImageName(image: string): boolean {
  // registry hosts may contain upper case and dots (e.g. Kite.Local:5000/x)
  const host = image.split('/')[0]!;
  const rest = image.includes('/') && (host.includes('.') || host.includes(':') || host === 'localhost') ? image.slice(host.length + 1) : image;
  return IMAGE_RE.test(rest.toLowerCase() === rest ? rest : '#');
}

/** A sandbox as PodSandboxStatus reports it (its IPs only while it is ready). */
function sandboxFromStatus(st: PodSandboxStatus): RuntimeSandbox {
  const ready = st.state === 'SANDBOX_READY';
  return {
    id: st.id,
    ready,
    createdAt: nsToMs(st.createdAt),
    attempt: st.metadata?.attempt ?? 0,
    ip: ready ? (st.network?.ip ?? '') : '',
    additionalIps: ready ? (st.network?.additionalIps ?? []).map((p) => p.ip) : [],
    hostNetwork: st.linux?.namespaces?.options?.network === 'NODE',
  };
}

/** The pod's IPs: the newest sandbox's, while it is ready. */
function podIPsOf(sandboxes: RuntimeSandbox[]): string[] {
  return sandboxes[0]?.ready ? [sandboxes[0].ip, ...sandboxes[0].additionalIps].filter(Boolean) : [];
}

function nsToMs(ns: number): number {
  return ns > 0 ? Math.floor(ns / NS_PER_MS) : 0;
}

function stateOf(s: string): RuntimeContainer['state'] {
  switch (s) {
    case 'CONTAINER_CREATED':
      return 'created';
    case 'CONTAINER_RUNNING':
      return 'running';
    case 'CONTAINER_EXITED':
      return 'exited';
    default:
      return 'unknown';
  }
}

/** Grace period for stopping a pod's containers (upstream killContainer). */
export function podGracePeriod(pod: Pod | undefined): number {
  if (!pod) return MIN_GRACE_SECONDS;
  const g = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
  return g;
}

function readTail(path: string, lines: number, maxBytes: number): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      const entries = buf
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ').slice(3).join(' '));
      const text = entries.slice(-lines).join('\n');
      return text.length > maxBytes ? text.slice(text.length - maxBytes) : text;
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

interface Actions {
  killPod: boolean;
  createSandbox: boolean;
  sandboxId: string;
  attempt: number;
  nextInit?: Container;
  containersToStart: Container[];
  containersToKill: Map<string, { container: Container; name: string; message: string; reason: string }>;
}

export class KubeRuntime implements PodRuntime {
  readonly type = 'containerd';
  private readonly crashBackoff = new Backoff({ initialMs: 10_000, maxMs: 300_000 });
  private readonly pullBackoff = new Backoff({ initialMs: 10_000, maxMs: 300_000 });
  /** pod uid → the sandbox config it was created with (CreateContainer needs it again) */
  private readonly sandboxConfigs = new Map<string, Req<PodSandboxConfig>>();
  private readonly log: (msg: string) => void;

  constructor(
    readonly cri: CriClient,
    private readonly opts: KubeRuntimeOptions,
  ) {
    this.log = opts.log ?? (() => {});
  }

  close(): void {
    this.cri.close();
  }

  async version(): Promise<RuntimeVersionInfo> {
    const v = await this.cri.version();
    return { runtimeName: v.runtimeName, runtimeVersion: v.runtimeVersion };
  }

  async readiness(): Promise<RuntimeReadiness> {
    const conds = await this.cri.conditions();
    const rt = conds.RuntimeReady;
    const net = conds.NetworkReady;
    const msgs: string[] = [];
    if (!rt?.status) msgs.push(`container runtime status check may not have completed yet: RuntimeReady=false reason:${rt?.reason ?? ''} message:${rt?.message ?? ''}`);
    if (!net?.status) msgs.push(`container runtime network not ready: NetworkReady=false reason:${net?.reason ?? 'NetworkPluginNotReady'} message:${net?.message ?? ''}`);
    return { runtimeReady: !!rt?.status, networkReady: !!net?.status, message: msgs.join(', ') };
  }

  async listPods(): Promise<Array<{ uid: string; name: string; namespace: string }>> {
    const [sbs, cs] = await Promise.all([this.cri.listPodSandbox({}), this.cri.listContainers({})]);
    const out = new Map<string, { uid: string; name: string; namespace: string }>();
    // Only what a kubelet made (it labels everything); other CRI users are left alone.
    for (const s of sbs.items) {
      const uid = s.labels[LABEL_POD_UID];
      if (uid) out.set(uid, { uid, name: s.metadata?.name ?? s.labels[LABEL_POD_NAME] ?? '', namespace: s.metadata?.namespace ?? s.labels[LABEL_POD_NAMESPACE] ?? '' });
    }
    for (const c of cs.containers) {
      const uid = c.labels[LABEL_POD_UID];
      if (uid && !out.has(uid)) out.set(uid, { uid, name: c.labels[LABEL_POD_NAME] ?? '', namespace: c.labels[LABEL_POD_NAMESPACE] ?? '' });
    }
    return [...out.values()];
  }

  /** uid → fingerprint of its sandboxes' and containers' states (the PLEG relist). */
  async relist(): Promise<Map<string, string>> {
    const [sbs, cs] = await Promise.all([this.cri.listPodSandbox({}), this.cri.listContainers({})]);
    const parts = new Map<string, string[]>();
    const add = (uid: string | undefined, s: string) => {
      if (!uid) return;
      let p = parts.get(uid);
      if (!p) parts.set(uid, (p = []));
      p.push(s);
    };
    for (const s of sbs.items) add(s.labels[LABEL_POD_UID], `s:${s.id}:${s.state}`);
    for (const c of cs.containers) add(c.labels[LABEL_POD_UID], `c:${c.id}:${c.state}`);
    const out = new Map<string, string>();
    for (const [uid, p] of parts) out.set(uid, p.sort().join(','));
    return out;
  }

  async podStatus(uid: string, name: string, namespace: string): Promise<RuntimePodStatus> {
    const [sbList, cList] = await Promise.all([
      this.cri.listPodSandbox({ filter: { labelSelector: { [LABEL_POD_UID]: uid } } }),
      this.cri.listContainers({ filter: { labelSelector: { [LABEL_POD_UID]: uid } } }),
    ]);
    // The newest sandbox's status and every container's are independent CRI calls: ask at once.
    const sorted = [...sbList.items].sort((a, b) => b.createdAt - a.createdAt);
    const sandboxOf = async (s: (typeof sorted)[number], newest: boolean): Promise<RuntimeSandbox | undefined> => {
      const sb: RuntimeSandbox = {
        id: s.id,
        ready: s.state === 'SANDBOX_READY',
        createdAt: nsToMs(s.createdAt),
        attempt: s.metadata?.attempt ?? 0,
        ip: '',
        additionalIps: [],
        hostNetwork: false,
      };
      if (newest) {
        try {
          const st = (await this.cri.podSandboxStatus({ podSandboxId: s.id })).status;
          return st ? sandboxFromStatus(st) : { ...sb, ready: false };
        } catch (err) {
          if (!isNotFound(err)) throw err;
          return undefined;
        }
      }
      return sb;
    };
    const containerOf = async (c: (typeof cList.containers)[number]): Promise<RuntimeContainer | undefined> => {
      let st: CriContainerStatus | null;
      try {
        st = (await this.cri.containerStatus({ containerId: c.id })).status;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
      return st ? this.toRuntimeContainer(st, c.podSandboxId) : undefined;
    };
    const [sbs, cs] = await Promise.all([Promise.all(sorted.map((s, i) => sandboxOf(s, i === 0))), Promise.all(cList.containers.map(containerOf))]);
    const sandboxes = sbs.filter((s): s is RuntimeSandbox => s !== undefined);
    const containers = cs.filter((c): c is RuntimeContainer => c !== undefined);
    containers.sort((a, b) => b.createdAt - a.createdAt);
    return { uid, name, namespace, ips: podIPsOf(sandboxes), sandboxes, containers };
  }

  /** The status of containers just created in `sandboxId` (every instance of the pod's). */
  private async createdContainers(ids: string[], sandboxId: string): Promise<RuntimeContainer[]> {
    const all = await Promise.all(
      ids.map(async (containerId) => {
        try {
          const st = (await this.cri.containerStatus({ containerId })).status;
          return st ? this.toRuntimeContainer(st, sandboxId) : undefined;
        } catch (err) {
          if (isNotFound(err)) return undefined;
          throw err;
        }
      }),
    );
    return all.filter((c): c is RuntimeContainer => c !== undefined).sort((a, b) => b.createdAt - a.createdAt);
  }

  private toRuntimeContainer(st: CriContainerStatus, sandboxId: string): RuntimeContainer {
    const ann = st.annotations ?? {};
    const state = stateOf(st.state);
    let message = st.message ?? '';
    if (state === 'exited') {
      const hostLog = ann[ANN_HOST_TERMINATION_LOG];
      let fromFile = '';
      if (hostLog) {
        try {
          fromFile = readFileSync(hostLog, 'utf8');
        } catch {
          fromFile = '';
        }
      }
      if (fromFile) message = fromFile.length > MAX_TERMINATION_MESSAGE ? fromFile.slice(0, MAX_TERMINATION_MESSAGE) : fromFile;
      else if (ann[ANN_TERMINATION_MESSAGE_POLICY] === 'FallbackToLogsOnError' && st.exitCode !== 0 && st.logPath) {
        message = readTail(st.logPath, FALLBACK_LOG_LINES, FALLBACK_LOG_BYTES);
      }
    }
    return {
      id: st.id,
      containerID: `containerd://${st.id}`,
      name: st.metadata?.name ?? st.labels?.[LABEL_CONTAINER_NAME] ?? '',
      state,
      createdAt: nsToMs(st.createdAt),
      startedAt: nsToMs(st.startedAt),
      finishedAt: nsToMs(st.finishedAt),
      exitCode: st.exitCode,
      reason: st.reason ?? '',
      message,
      image: st.image?.image ?? '',
      imageRef: st.imageRef ?? '',
      hash: ann[ANN_CONTAINER_HASH] ?? '',
      restartCount: Number(ann[ANN_RESTART_COUNT] ?? st.metadata?.attempt ?? 0) || 0,
      logPath: st.logPath ?? '',
      sandboxId,
    };
  }

  async containerRunning(containerId: string): Promise<boolean> {
    try {
      const st = await this.cri.containerStatus({ containerId });
      return st.status?.state === 'CONTAINER_RUNNING' || st.status?.state === 'CONTAINER_CREATED';
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async listImages(): Promise<RuntimeImage[]> {
    const r = await this.cri.listImages({});
    return r.images.map((i) => ({ id: i.id, names: [...i.repoTags, ...i.repoDigests], sizeBytes: i.size }));
  }

  async containerStats(): Promise<RuntimeContainerStats[]> {
    const res = await this.cri.listContainerStats({});
    const out: RuntimeContainerStats[] = [];
    for (const st of res.stats ?? []) {
      const labels = st.attributes?.labels ?? {};
      const uid = labels[LABEL_POD_UID];
      if (!uid || !st.cpu) continue;
      out.push({
        id: st.attributes!.id,
        podUid: uid,
        podName: labels[LABEL_POD_NAME] ?? '',
        namespace: labels[LABEL_POD_NAMESPACE] ?? '',
        container: st.attributes?.metadata?.name ?? labels[LABEL_CONTAINER_NAME] ?? '',
        timestamp: st.cpu.timestamp || Date.now() * 1e6,
        cpuUsageCoreNanoSeconds: st.cpu.usageCoreNanoSeconds?.value ?? 0,
        workingSetBytes: st.memory?.workingSetBytes?.value ?? 0,
        usageBytes: st.memory?.usageBytes?.value ?? 0,
        rssBytes: st.memory?.rssBytes?.value ?? 0,
        rootfsUsedBytes: st.writableLayer?.usedBytes?.value,
      });
    }
    return out;
  }

  resetPullBackoff(): void {
    this.pullBackoff.clear();
  }

  async execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecResult> {
    return this.cri.execSync({ containerId, cmd, timeout: timeoutSeconds });
  }

  async execUrl(containerId: string, cmd: string[], o: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): Promise<string> {
    return (await this.cri.exec({ containerId, cmd, tty: o.tty, stdin: o.stdin, stdout: o.stdout, stderr: o.stderr && !o.tty })).url;
  }

  async attachUrl(containerId: string, o: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): Promise<string> {
    return (await this.cri.attach({ containerId, stdin: o.stdin, tty: o.tty, stdout: o.stdout, stderr: o.stderr && !o.tty })).url;
  }

  async portForwardUrl(sandboxId: string, ports: number[]): Promise<string> {
    return (await this.cri.portForward({ podSandboxId: sandboxId, port: ports })).url;
  }

  // ---------------------------------------------------------------- compute actions

  private sandboxChanged(pod: Pod, rs: RuntimePodStatus): { changed: boolean; attempt: number; id: string } {
    const sbs = rs.sandboxes;
    if (sbs.length === 0) return { changed: true, attempt: 0, id: '' };
    const newest = sbs[0]!;
    const readyCount = sbs.filter((s) => s.ready).length;
    const next = newest.attempt + 1;
    if (readyCount > 1) return { changed: true, attempt: next, id: newest.id };
    if (!newest.ready) return { changed: true, attempt: next, id: newest.id };
    if (newest.hostNetwork !== !!pod.spec?.hostNetwork) return { changed: true, attempt: next, id: newest.id };
    if (!pod.spec?.hostNetwork && !newest.ip) return { changed: true, attempt: next, id: newest.id };
    return { changed: false, attempt: newest.attempt, id: newest.id };
  }

  /** upstream findNextInitContainerToRun */
  private nextInit(pod: Pod, rs: RuntimePodStatus): { next?: Container; done: boolean; failed: boolean } {
    const inits = pod.spec?.initContainers ?? [];
    if (inits.length === 0) return { done: true, failed: false };
    for (const c of pod.spec?.containers ?? []) {
      const s = latestInstance(rs, c.name);
      if (s && s.state === 'running') return { done: true, failed: false };
    }
    for (let i = inits.length - 1; i >= 0; i--) {
      const c = inits[i]!;
      if (isRestartableInit(c)) continue;
      const s = latestInstance(rs, c.name);
      if (s && ((s.state === 'exited' && s.exitCode !== 0) || s.state === 'unknown')) return { next: c, done: false, failed: true };
    }
    for (let i = inits.length - 1; i >= 0; i--) {
      const c = inits[i]!;
      const s = latestInstance(rs, c.name);
      if (!s) continue;
      if (isRestartableInit(c)) {
        // A sidecar counts as done once it runs (and passed its startup probe: checked by the caller).
        if (s.state === 'running') {
          if (i === inits.length - 1) return { done: true, failed: false };
          return { next: inits[i + 1], done: false, failed: false };
        }
        continue;
      }
      if (s.state === 'running' || s.state === 'created') return { done: false, failed: false };
      if (s.state === 'exited' && s.exitCode === 0) {
        if (i === inits.length - 1) return { done: true, failed: false };
        return { next: inits[i + 1], done: false, failed: false };
      }
    }
    return { next: inits[0], done: false, failed: false };
  }

  private computeActions(pod: Pod, rs: RuntimePodStatus, helper: RuntimeHelper): Actions {
    const sb = this.sandboxChanged(pod, rs);
    const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
    const containers = pod.spec?.containers ?? [];
    const actions: Actions = {
      killPod: sb.changed,
      createSandbox: sb.changed,
      sandboxId: sb.id,
      attempt: sb.attempt,
      containersToStart: [],
      containersToKill: new Map(),
    };
    if (sb.changed) {
      if (restartPolicy === 'Never' && sb.attempt !== 0 && rs.containers.length > 0) {
        // Never re-run a pod's containers in a new sandbox.
        actions.createSandbox = false;
        return actions;
      }
      for (const c of containers) {
        const s = latestInstance(rs, c.name);
        if (restartPolicy === 'OnFailure' && s && s.state === 'exited' && s.exitCode === 0) continue;
        actions.containersToStart.push(c);
      }
      const inits = pod.spec?.initContainers ?? [];
      if (inits.length > 0) {
        const ni = this.nextInit(pod, { ...rs, containers: rs.containers });
        if (!ni.done) {
          actions.nextInit = inits[0];
          actions.containersToStart = [];
        }
      }
      if (actions.containersToStart.length === 0 && !actions.nextInit) actions.createSandbox = false;
      return actions;
    }

    // Init containers.
    const ni = this.nextInit(pod, rs);
    if (!ni.done) {
      if (ni.next) {
        if (ni.failed && restartPolicy === 'Never') {
          actions.killPod = true;
          return actions;
        }
        // A sidecar that runs but has not passed its startup probe holds the next one back.
        const inits = pod.spec?.initContainers ?? [];
        const idx = inits.indexOf(ni.next);
        const prev = idx > 0 ? inits[idx - 1] : undefined;
        if (prev && isRestartableInit(prev) && !ni.failed) {
          const ps = latestInstance(rs, prev.name);
          if (ps && !helper.containerStarted(pod.metadata!.uid!, prev.name, ps.containerID)) return actions;
        }
        actions.nextInit = ni.next;
      }
      // Restart sidecars that exited.
      for (const c of pod.spec?.initContainers ?? []) {
        if (!isRestartableInit(c)) continue;
        const s = latestInstance(rs, c.name);
        if (s && s.state !== 'running' && c !== actions.nextInit) {
          const idx = (pod.spec?.initContainers ?? []).indexOf(c);
          const nidx = actions.nextInit ? (pod.spec?.initContainers ?? []).indexOf(actions.nextInit) : Infinity;
          if (idx < nidx) actions.containersToStart.push(c);
        }
      }
      return actions;
    }

    // Regular containers (and sidecars, which keep running alongside).
    let keep = 0;
    const candidates: Container[] = [...(pod.spec?.initContainers ?? []).filter(isRestartableInit), ...containers];
    for (const c of candidates) {
      const s = latestInstance(rs, c.name);
      if (!s || s.state !== 'running') {
        if (shouldContainerBeRestarted(c, pod, rs)) actions.containersToStart.push(c);
        continue;
      }
      let message: string;
      let reason = '';
      let restart = restartPolicy !== 'Never' || isRestartableInit(c);
      if (s.hash && s.hash !== containerHash(c)) {
        message = `Container ${c.name} definition changed, will be restarted`;
        restart = true;
      } else {
        const pf = helper.probeFailure(pod.metadata!.uid!, c.name, s.containerID);
        if (pf) {
          message = `Container ${c.name} failed ${pf.probe} probe, will be restarted`;
          reason = pf.probe === 'liveness' ? 'LivenessProbe' : 'StartupProbe';
        } else {
          if (!isRestartableInit(c)) keep++;
          continue;
        }
      }
      if (restart) actions.containersToStart.push(c);
      actions.containersToKill.set(s.id, { container: c, name: c.name, message, reason });
    }
    if (keep === 0 && actions.containersToStart.filter((c) => !isRestartableInit(c)).length === 0) {
      actions.killPod = true;
    }
    return actions;
  }

  // ---------------------------------------------------------------- sync

  async syncPod(pod: Pod, rs: RuntimePodStatus, helper: RuntimeHelper): Promise<SyncPodResult> {
    const uid = pod.metadata!.uid!;
    const actions = this.computeActions(pod, rs, helper);
    const idle =
      !actions.killPod &&
      actions.containersToKill.size === 0 &&
      !actions.createSandbox &&
      !actions.nextInit &&
      actions.containersToStart.length === 0 &&
      (pod.spec?.ephemeralContainers ?? []).every((ec) => latestInstance(rs, ec.name));
    const result: SyncPodResult = { idle };
    const retry = (at: number) => {
      result.retryAt = result.retryAt === undefined ? at : Math.min(result.retryAt, at);
    };

    if (actions.killPod) {
      if (actions.createSandbox && rs.sandboxes.length > 0) {
        helper.events.pod(pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
      }
      await this.killPod(pod, rs, helper);
      if (!actions.createSandbox) return result;
    } else {
      await Promise.all(
        [...actions.containersToKill].map(([id, k]) =>
          this.killContainer(pod, k.container, id, helper, { message: k.message, reason: k.reason }).catch((err) => {
            result.error = `kill ${k.name}: ${errorMessage(err)}`;
          }),
        ),
      );
    }

    let sandboxId = actions.sandboxId;
    let podIPs = rs.ips;
    let sandboxConfig = this.sandboxConfigs.get(uid);
    // A pod's first start: all it has in the runtime is what this sync creates, so the sync
    // reports that (the sandbox's status read for its IP, and the new containers') instead
    // of the kubelet listing the runtime again.
    const firstStart = actions.createSandbox && rs.sandboxes.length === 0 && rs.containers.length === 0;
    let newSandbox: RuntimeSandbox | undefined;
    const createdIds: string[] = [];
    if (actions.createSandbox) {
      sandboxConfig = this.sandboxConfig(pod, actions.attempt, helper);
      try {
        // The pod's RuntimeClass names the containerd runtime (upstream: runtimeclass.Manager).
        const handler = helper.runtimeHandler?.(pod) ?? '';
        if (handler instanceof Error) {
          const msg = `Failed to create pod sandbox: ${handler.message}`;
          helper.events.pod(pod, 'Warning', 'FailedCreatePodSandBox', msg);
          return { error: msg, retryAt: Date.now() + 5000 };
        }
        mkdirSync(sandboxConfig.logDirectory!, { recursive: true, mode: 0o755 });
        sandboxId = (await this.cri.runPodSandbox({ config: sandboxConfig, runtimeHandler: handler })).podSandboxId;
      } catch (err) {
        const msg = `Failed to create pod sandbox: ${rpcErrorText(err)}`;
        helper.events.pod(pod, 'Warning', 'FailedCreatePodSandBox', msg);
        return { error: msg, retryAt: Date.now() + 2000 };
      }
      this.sandboxConfigs.set(uid, sandboxConfig);
      try {
        const st = await this.cri.podSandboxStatus({ podSandboxId: sandboxId });
        podIPs = [st.status?.network?.ip ?? '', ...(st.status?.network?.additionalIps ?? []).map((p) => p.ip)].filter(Boolean);
        if (st.status) newSandbox = sandboxFromStatus(st.status);
      } catch (err) {
        return { error: `sandbox status: ${errorMessage(err)}`, retryAt: Date.now() + 1000 };
      }
      if (pod.spec?.hostNetwork) podIPs = [];
      rs = { ...rs, containers: actions.killPod ? rs.containers : rs.containers, sandboxes: [] };
    }
    if (!sandboxConfig) {
      // Kubelet restarted: rebuild the config the sandbox was created with.
      sandboxConfig = this.sandboxConfig(pod, actions.attempt, helper);
      this.sandboxConfigs.set(uid, sandboxConfig);
    }

    // Containers need their volumes; the sandbox did not.
    if (helper.volumesReady && !(await helper.volumesReady(pod))) {
      return { ...result, error: result.error ?? 'volumes not ready', retryAt: Date.now() + 2000 };
    }

    const start = async (c: Container, isInit: boolean): Promise<boolean> => {
      const r = await this.startContainer(pod, c, rs, sandboxId, sandboxConfig!, podIPs, isInit, helper);
      if (r.containerId) createdIds.push(r.containerId);
      if (r.retryAt !== undefined) retry(r.retryAt);
      if (r.error) result.error = r.error;
      return r.ok;
    };

    // Ephemeral containers start before init containers (so a debugger can join a pod
    // whose init container fails), once each: they are never restarted.
    if (!actions.killPod || actions.createSandbox) {
      for (const ec of pod.spec?.ephemeralContainers ?? []) {
        if (latestInstance(rs, ec.name)) continue;
        await start(ec as Container, false);
      }
    }

    if (actions.nextInit) {
      await start(actions.nextInit, true);
    }
    // Sidecars listed with the regular containers start first, in order.
    for (const c of actions.containersToStart) {
      if (isRestartableInit(c)) await start(c, true);
    }
    await Promise.all(actions.containersToStart.filter((c) => !isRestartableInit(c)).map((c) => start(c, false)));
    if (firstStart && newSandbox) {
      const sandboxes = [newSandbox];
      result.status = { uid, name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, ips: podIPsOf(sandboxes), sandboxes, containers: await this.createdContainers(createdIds, sandboxId) };
    }
    return result;
  }

  private sandboxConfig(pod: Pod, attempt: number, helper: RuntimeHelper): Req<PodSandboxConfig> {
    const md = pod.metadata!;
    const spec = pod.spec!;
    const portMappings: Req<PodSandboxConfig>['portMappings'] = [];
    for (const c of spec.containers ?? []) {
      for (const p of c.ports ?? []) {
        if (!p.hostPort) continue;
        portMappings.push({ protocol: (p.protocol ?? 'TCP') as 'TCP', containerPort: p.containerPort, hostPort: p.hostPort, hostIp: p.hostIP ?? '' });
      }
    }
    const psc = spec.securityContext ?? {};
    const privileged = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].some((c) => c.securityContext?.privileged);
    const sysctls: Record<string, string> = {};
    for (const s of psc.sysctls ?? []) sysctls[s.name] = s.value;
    let hostname = spec.hostname || md.name || '';
    if (hostname.length > 63) hostname = hostname.slice(0, 63).replace(/[-.]+$/, '');
    return {
      metadata: { name: md.name, uid: md.uid, namespace: md.namespace, attempt },
      hostname: spec.hostNetwork ? '' : hostname,
      logDirectory: helper.podLogDir(pod),
      dnsConfig: helper.dnsConfig(pod),
      portMappings,
      labels: { ...(md.labels ?? {}), [LABEL_POD_NAME]: md.name!, [LABEL_POD_NAMESPACE]: md.namespace!, [LABEL_POD_UID]: md.uid! },
      annotations: { ...(md.annotations ?? {}) },
      linux: {
        cgroupParent: helper.cgroupParent(pod),
        securityContext: {
          namespaceOptions: {
            network: spec.hostNetwork ? 'NODE' : 'POD',
            pid: spec.hostPID ? 'NODE' : spec.shareProcessNamespace ? 'POD' : 'CONTAINER',
            ipc: spec.hostIPC ? 'NODE' : 'POD',
          },
          privileged,
          ...(psc.runAsUser !== undefined ? { runAsUser: { value: psc.runAsUser } } : {}),
          ...(psc.runAsGroup !== undefined ? { runAsGroup: { value: psc.runAsGroup } } : {}),
          supplementalGroups: [...(psc.supplementalGroups ?? []), ...(psc.fsGroup !== undefined ? [psc.fsGroup] : [])],
        },
        sysctls,
      },
    };
  }

  private backoffKey(pod: Pod, c: Container): string {
    return `${pod.metadata?.name}_${pod.metadata?.namespace}_${pod.metadata?.uid}_${c.name}_${containerHash(c)}`;
  }

  /** Image present (per pull policy) → its reference; otherwise the waiting reason. */
  private async ensureImage(pod: Pod, c: Container, sandboxConfig: Req<PodSandboxConfig>, helper: RuntimeHelper): Promise<{ ref: string } | { reason: string; message: string; retryAt?: number }> {
    const fieldPath = this.fieldPath(pod, c);
    const image = c.image ?? '';
    if (!image || !validImageName(defaultImageTag(image))) {
      const message = `Failed to apply default image tag "${image}": couldn't parse image name "${image}": invalid reference format`;
      helper.events.pod(pod, 'Warning', 'InspectFailed', message, fieldPath);
      return { reason: 'InvalidImageName', message };
    }
    const tagged = defaultImageTag(image);
    let present: string;
    try {
      present = (await this.cri.imageStatus({ image: { image: tagged } })).image?.id ?? '';
    } catch (err) {
      const message = `Failed to inspect image "${image}": ${rpcErrorText(err)}`;
      helper.events.pod(pod, 'Warning', 'InspectFailed', message, fieldPath);
      return { reason: 'ImageInspectError', message };
    }
    const policy = c.imagePullPolicy ?? (tagged.endsWith(':latest') ? 'Always' : 'IfNotPresent');
    const shouldPull = policy === 'Always' || (policy === 'IfNotPresent' && !present);
    if (!shouldPull) {
      if (present) {
        helper.events.pod(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`, fieldPath);
        return { ref: present };
      }
      const message = `Container image "${image}" is not present with pull policy of Never`;
      helper.events.pod(pod, 'Warning', 'ErrImageNeverPull', message, fieldPath);
      return { reason: 'ErrImageNeverPull', message };
    }
    const key = `${pod.metadata?.uid}_${image}`;
    if (this.pullBackoff.isInBackOffSinceUpdate(key)) {
      const message = `Back-off pulling image "${image}"`;
      helper.events.pod(pod, 'Normal', 'BackOff', message, fieldPath);
      return { reason: 'ImagePullBackOff', message, retryAt: this.pullBackoff.updateEndsAt(key) };
    }
    helper.events.pod(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, fieldPath);
    const t0 = Date.now();
    try {
      const ref = (await this.cri.pullImage({ image: { image: tagged }, sandboxConfig })).imageRef;
      const secs = ((Date.now() - t0) / 1000).toFixed(3).replace(/\.?0+$/, '');
      let size = 0;
      try {
        size = (await this.cri.imageStatus({ image: { image: ref } })).image?.size ?? 0;
      } catch {
        size = 0;
      }
      helper.events.pod(pod, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${secs}s (${secs}s including waiting). Image size: ${size} bytes.`, fieldPath);
      this.pullBackoff.reset(key);
      return { ref };
    } catch (err) {
      const text = rpcErrorText(err);
      if (present && this.opts.offlineImageFallback !== false && NODE_BUILT_IMAGES.has(fullImageReference(tagged))) {
        helper.events.pod(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${text}; using the image already present on the node`, fieldPath);
        return { ref: present };
      }
      helper.events.pod(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${text}`, fieldPath);
      this.pullBackoff.next(key);
      helper.events.pod(pod, 'Warning', 'Failed', 'Error: ErrImagePull', fieldPath);
      return { reason: 'ErrImagePull', message: text, retryAt: this.pullBackoff.updateEndsAt(key) };
    }
  }

  private fieldPath(pod: Pod, c: Container): string {
    if ((pod.spec?.ephemeralContainers ?? []).some((x) => x.name === c.name)) return `spec.ephemeralContainers{${c.name}}`;
    const inInit = (pod.spec?.initContainers ?? []).some((x) => x.name === c.name);
    return inInit ? `spec.initContainers{${c.name}}` : `spec.containers{${c.name}}`;
  }

  private restartCountFor(pod: Pod, c: Container, rs: RuntimePodStatus, helper: RuntimeHelper): number {
    const prev = latestInstance(rs, c.name);
    if (prev) return prev.restartCount + 1;
    // The runtime lost its state (node reboot): continue after the newest log file.
    const dir = join(helper.podLogDir(pod), c.name);
    try {
      const counts = readdirSync(dir)
        .map((f) => /^(\d+)\.log/.exec(f)?.[1])
        .filter((x): x is string => x !== undefined)
        .map(Number);
      return counts.length ? Math.max(...counts) + 1 : 0;
    } catch {
      return 0;
    }
  }

  private async startContainer(
    pod: Pod,
    c: Container,
    rs: RuntimePodStatus,
    sandboxId: string,
    sandboxConfig: Req<PodSandboxConfig>,
    podIPs: string[],
    isInit: boolean,
    helper: RuntimeHelper,
  ): Promise<{ ok: boolean; error?: string; retryAt?: number; containerId?: string }> {
    const uid = pod.metadata!.uid!;
    const fieldPath = this.fieldPath(pod, c);

    // Crash-loop back-off for a container that ran before.
    const prev = latestInstance(rs, c.name);
    if (prev && prev.state === 'exited') {
      const key = this.backoffKey(pod, c);
      const ts = prev.finishedAt || Date.now();
      if (this.crashBackoff.isInBackOffSince(key, ts)) {
        const d = goDuration(this.crashBackoff.get(key));
        helper.events.pod(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${formatPod(pod)}`, fieldPath);
        helper.setStartFailure(uid, c.name, { reason: 'CrashLoopBackOff', message: `back-off ${d} restarting failed container=${c.name} pod=${formatPod(pod)}` });
        return { ok: false, retryAt: this.crashBackoff.endsAt(key, ts) };
      }
      this.crashBackoff.next(key, ts);
    }

    const img = await this.ensureImage(pod, c, sandboxConfig, helper);
    if (!('ref' in img)) {
      helper.setStartFailure(uid, c.name, { reason: img.reason, message: img.message });
      return { ok: false, error: img.message, retryAt: img.retryAt ?? Date.now() + 5000 };
    }

    const restartCount = this.restartCountFor(pod, c, rs, helper);
    let config: Req<ContainerConfig>;
    try {
      config = await this.containerConfig(pod, c, img.ref, restartCount, podIPs, isInit, helper);
      // `kubectl debug --target`: the ephemeral container joins the target container's PID namespace.
      const target = (c as { targetContainerName?: string }).targetContainerName;
      if (target && config.linux?.securityContext?.namespaceOptions) {
        const t = latestInstance(rs, target);
        if (t && t.state === 'running') config.linux.securityContext.namespaceOptions = { ...config.linux.securityContext.namespaceOptions, pid: 'TARGET', targetId: t.id };
      }
    } catch (err) {
      const message = errorMessage(err);
      helper.events.pod(pod, 'Warning', 'Failed', `Error: ${message}`, fieldPath);
      helper.setStartFailure(uid, c.name, { reason: 'CreateContainerConfigError', message });
      return { ok: false, error: message, retryAt: Date.now() + (err instanceof ContainerConfigError ? 3000 : 5000) };
    }
    let id: string;
    try {
      id = (await this.cri.createContainer({ podSandboxId: sandboxId, config, sandboxConfig })).containerId;
    } catch (err) {
      const message = rpcErrorText(err);
      helper.events.pod(pod, 'Warning', 'Failed', `Error: ${message}`, fieldPath);
      helper.setStartFailure(uid, c.name, { reason: 'CreateContainerError', message });
      return { ok: false, error: message, retryAt: Date.now() + 5000 };
    }
    helper.events.pod(pod, 'Normal', 'Created', `Created container: ${c.name}`, fieldPath);
    try {
      await this.cri.startContainer({ containerId: id });
    } catch (err) {
      const message = rpcErrorText(err);
      helper.events.pod(pod, 'Warning', 'Failed', `Error: ${message}`, fieldPath);
      helper.setStartFailure(uid, c.name, { reason: 'RunContainerError', message });
      return { ok: false, error: message, retryAt: Date.now() + 5000, containerId: id };
    }
    helper.events.pod(pod, 'Normal', 'Started', `Started container ${c.name}`, fieldPath);
    helper.setStartFailure(uid, c.name, undefined);

    const postStart = c.lifecycle?.postStart;
    if (postStart) {
      const err = await runLifecycleHandler(postStart, {
        runtime: this,
        pod,
        container: c,
        containerId: id,
        podIP: podIPs[0] ?? '',
        timeoutSeconds: podGracePeriod(pod) || DEFAULT_GRACE_SECONDS,
      });
      if (err) {
        helper.events.pod(pod, 'Warning', 'FailedPostStartHook', err, fieldPath);
        await this.killContainer(pod, c, id, helper, { message: 'FailedPostStartHook', reason: 'FailedPostStartHook', skipPreStop: true }).catch(() => {});
        helper.setStartFailure(uid, c.name, { reason: 'PostStartHookError', message: err });
        return { ok: false, error: err, containerId: id };
      }
    }
    return { ok: true, containerId: id };
  }

  private async containerConfig(
    pod: Pod,
    c: Container,
    imageRef: string,
    restartCount: number,
    podIPs: string[],
    isInit: boolean,
    helper: RuntimeHelper,
  ): Promise<Req<ContainerConfig>> {
    const md = pod.metadata!;
    const opts = await helper.runOptions(pod, c, podIPs, isInit);
    const sc = c.securityContext ?? {};
    const psc = pod.spec?.securityContext ?? {};
    const runAsUser = sc.runAsUser ?? psc.runAsUser;
    const runAsGroup = sc.runAsGroup ?? psc.runAsGroup;
    const runAsNonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    if (runAsNonRoot) {
      let uid = runAsUser;
      if (uid === undefined) {
        try {
          const st = await this.cri.imageStatus({ image: { image: imageRef } });
          const img = st.image;
          if (img?.uid) uid = img.uid.value;
          else if (img?.username && /^\d+$/.test(img.username)) uid = Number(img.username);
          else if (img?.username) throw new ContainerConfigError(`container has runAsNonRoot and image has non-numeric user (${img.username}), cannot verify user is non-root (pod: "${formatPod(pod)}", container: ${c.name})`);
          else uid = 0;
        } catch (err) {
          if (err instanceof ContainerConfigError) throw err;
          uid = 0;
        }
      }
      if (uid === 0) throw new ContainerConfigError(`container has runAsNonRoot and image will run as root (pod: "${formatPod(pod)}", container: ${c.name})`);
    }

    // /dev/termination-log (or the container's terminationMessagePath) comes from a host file.
    const mounts = [...opts.mounts];
    const tmPath = c.terminationMessagePath ?? '/dev/termination-log';
    let hostTerminationLog = '';
    if (tmPath) {
      const dir = join(helper.podDir(pod), 'containers', c.name);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      hostTerminationLog = join(dir, String(restartCount));
      writeFileSync(hostTerminationLog, '', { mode: 0o666 });
      if (!mounts.some((m) => m.containerPath === tmPath)) mounts.push({ containerPath: tmPath, hostPath: hostTerminationLog, readonly: false });
    }

    const res = containerLinuxResources(pod, c, this.opts.memoryCapacity);
    const privileged = !!sc.privileged;
    const unmasked = sc.procMount === 'Unmasked';
    const spec = pod.spec!;
    return {
      metadata: { name: c.name, attempt: restartCount },
      image: { image: imageRef, userSpecifiedImage: c.image ?? '' },
      command: opts.command,
      args: opts.args,
      workingDir: c.workingDir ?? '',
      envs: opts.envs,
      mounts,
      labels: { [LABEL_POD_NAME]: md.name!, [LABEL_POD_NAMESPACE]: md.namespace!, [LABEL_POD_UID]: md.uid!, [LABEL_CONTAINER_NAME]: c.name },
      annotations: {
        [ANN_CONTAINER_HASH]: containerHash(c),
        [ANN_RESTART_COUNT]: String(restartCount),
        [ANN_TERMINATION_MESSAGE_PATH]: tmPath,
        [ANN_TERMINATION_MESSAGE_POLICY]: c.terminationMessagePolicy ?? 'File',
        [ANN_POD_GRACE]: String(podGracePeriod(pod)),
        ...(hostTerminationLog ? { [ANN_HOST_TERMINATION_LOG]: hostTerminationLog } : {}),
      },
      logPath: join(c.name, `${restartCount}.log`),
      stdin: !!c.stdin,
      stdinOnce: !!c.stdinOnce,
      tty: !!c.tty,
      linux: {
        resources: {
          cpuShares: res.cpuShares,
          cpuQuota: res.cpuQuota,
          cpuPeriod: res.cpuPeriod,
          memoryLimitInBytes: res.memoryLimitInBytes,
          oomScoreAdj: res.oomScoreAdj,
        },
        securityContext: {
          ...(sc.capabilities ? { capabilities: { addCapabilities: sc.capabilities.add ?? [], dropCapabilities: sc.capabilities.drop ?? [] } } : {}),
          privileged,
          namespaceOptions: {
            network: spec.hostNetwork ? 'NODE' : 'POD',
            pid: spec.hostPID ? 'NODE' : spec.shareProcessNamespace ? 'POD' : 'CONTAINER',
            ipc: spec.hostIPC ? 'NODE' : 'POD',
          },
          ...(runAsUser !== undefined ? { runAsUser: { value: runAsUser } } : {}),
          ...(runAsGroup !== undefined ? { runAsGroup: { value: runAsGroup } } : {}),
          readonlyRootfs: !!sc.readOnlyRootFilesystem,
          supplementalGroups: [...(psc.supplementalGroups ?? []), ...(psc.fsGroup !== undefined ? [psc.fsGroup] : [])],
          noNewPrivs: sc.allowPrivilegeEscalation === false,
          maskedPaths: privileged || unmasked ? [] : DEFAULT_MASKED_PATHS,
          readonlyPaths: privileged || unmasked ? [] : DEFAULT_READONLY_PATHS,
        },
      },
    };
  }

  // ---------------------------------------------------------------- kill / remove

  private async killContainer(
    pod: Pod | undefined,
    c: Container | undefined,
    containerId: string,
    helper: RuntimeHelper | undefined,
    opts: { message?: string; reason?: string; gracePeriodOverride?: number; skipPreStop?: boolean } = {},
  ): Promise<void> {
    let grace = podGracePeriod(pod);
    const fieldPath = pod && c ? this.fieldPath(pod, c) : undefined;
    const preStop = c?.lifecycle?.preStop;
    if (pod && c && helper && preStop && !opts.skipPreStop && grace > 0) {
      const t0 = Date.now();
      const ip = (pod.status?.podIPs?.[0]?.ip ?? pod.status?.podIP) || '';
      const err = await runLifecycleHandler(preStop, { runtime: this, pod, container: c, containerId, podIP: ip, timeoutSeconds: grace });
      if (err) helper.events.pod(pod, 'Warning', 'FailedPreStopHook', err, fieldPath);
      grace = Math.max(0, grace - Math.floor((Date.now() - t0) / 1000));
    }
    if (opts.gracePeriodOverride !== undefined) grace = opts.gracePeriodOverride;
    else if (grace < MIN_GRACE_SECONDS) grace = MIN_GRACE_SECONDS;
    if (pod && c && helper) {
      const msg = opts.message || `Stopping container ${c.name}`;
      helper.events.pod(pod, 'Normal', 'Killing', msg, fieldPath);
    }
    try {
      await this.cri.stopContainer({ containerId, timeout: grace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async killPod(pod: Pod | undefined, rs: RuntimePodStatus, helper: RuntimeHelper | undefined, opts: KillOptions = {}): Promise<void> {
    const running = rs.containers.filter((c) => c.state === 'running' || c.state === 'created' || c.state === 'unknown');
    const specs = [...(pod?.spec?.containers ?? []), ...(pod?.spec?.initContainers ?? [])];
    // Regular containers first, then sidecars (upstream stops sidecars after the main containers).
    const isSidecar = (name: string) => (pod?.spec?.initContainers ?? []).some((c) => c.name === name && isRestartableInit(c));
    const phase = async (list: RuntimeContainer[]) =>
      Promise.all(
        list.map((c) =>
          this.killContainer(pod, specs.find((s) => s.name === c.name), c.id, helper, { gracePeriodOverride: opts.gracePeriodSeconds }).catch((err) =>
            this.log(`kill container ${c.name} (${c.id.slice(0, 12)}): ${errorMessage(err)}`),
          ),
        ),
      );
    await phase(running.filter((c) => !isSidecar(c.name)));
    await phase(running.filter((c) => isSidecar(c.name)));
    for (const sb of rs.sandboxes) {
      if (!sb.ready) continue;
      try {
        await this.cri.stopPodSandbox({ podSandboxId: sb.id });
      } catch (err) {
        if (!isNotFound(err)) this.log(`stop sandbox ${sb.id.slice(0, 12)}: ${errorMessage(err)}`);
      }
    }
  }

  async removePod(rs: RuntimePodStatus): Promise<void> {
    for (const c of rs.containers) {
      try {
        if (c.state === 'running' || c.state === 'unknown') await this.cri.stopContainer({ containerId: c.id, timeout: 0 });
        await this.cri.removeContainer({ containerId: c.id });
      } catch (err) {
        if (!isNotFound(err)) this.log(`remove container ${c.id.slice(0, 12)}: ${errorMessage(err)}`);
      }
    }
    for (const sb of rs.sandboxes) {
      try {
        await this.cri.stopPodSandbox({ podSandboxId: sb.id });
        await this.cri.removePodSandbox({ podSandboxId: sb.id });
      } catch (err) {
        if (!isNotFound(err)) this.log(`remove sandbox ${sb.id.slice(0, 12)}: ${errorMessage(err)}`);
      }
    }
    this.sandboxConfigs.delete(rs.uid);
  }

  async gcContainers(rs: RuntimePodStatus, keepPerContainer: number): Promise<void> {
    const byName = new Map<string, RuntimeContainer[]>();
    for (const c of rs.containers) {
      let l = byName.get(c.name);
      if (!l) byName.set(c.name, (l = []));
      l.push(c);
    }
    for (const list of byName.values()) {
      // Newest first; the newest instance is kept (status and logs), plus keepPerContainer dead ones.
      const dead = list.slice(1).filter((c) => c.state === 'exited');
      for (const c of dead.slice(keepPerContainer)) {
        try {
          await this.cri.removeContainer({ containerId: c.id });
        } catch (err) {
          if (!isNotFound(err)) this.log(`gc container ${c.id.slice(0, 12)}: ${errorMessage(err)}`);
        }
      }
    }
    // Sandboxes that are not ready and no longer hold containers.
    for (const sb of rs.sandboxes.slice(1)) {
      if (sb.ready) continue;
      if (rs.containers.some((c) => c.sandboxId === sb.id)) continue;
      try {
        await this.cri.removePodSandbox({ podSandboxId: sb.id });
      } catch (err) {
        if (!isNotFound(err)) this.log(`gc sandbox ${sb.id.slice(0, 12)}: ${errorMessage(err)}`);
      }
    }
  }
}

export function fileExists(p: string): boolean {
  return existsSync(p);
}
