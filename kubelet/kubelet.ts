// The kubelet: registers the node, watches the pods bound to it and drives a
// container runtime towards them, one worker per pod (upstream:
// pkg/kubelet/kubelet.go, pod_workers.go), and reports their status.
//
// A pod worker runs one sync at a time for its pod; changes that arrive while
// it runs schedule another. Syncs happen on every pod update, when the runtime
// reports a change for the pod (a 1 s relist, upstream's PLEG), when a probe
// result changes, when a back-off ends, and every syncPeriod (which refreshes
// ConfigMap/Secret/downward API volumes). A pod goes sync → terminating (kill
// containers with the grace period, preStop hooks) → terminated; a pod deleted
// gracefully is then removed from the API with gracePeriodSeconds=0, and its
// containers, sandbox, volumes and cgroup are cleaned up once it is gone.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigMap, Container, PersistentVolume, PersistentVolumeClaim, Pod, PodStatus, Secret, Service } from 'kubernetes-types/core/v1.js';
import { EventBroadcaster, type EventRecorder } from '../client/events.js';
import { HttpTransport } from '../client/http-transport.js';
import { SharedInformerFactory, type Informer } from '../client/informer.js';
import type { ApiTransport } from '../client/transport.js';
import { isNotFound } from '../client/transport.js';
import type { KubeObject } from '../machinery/object.js';
import { resourceByPath } from '../machinery/resources.js';
import { readFileSync } from 'node:fs';
import { podLogsDir, podsDir, type KubeletConfig } from './config.js';
import { containerEnv, expand, expandCommand, mappingFuncFor, type EnvSources } from './env.js';
import { NodeAgent } from './node.js';
import { managedHostsFile, hostNetworkHostsFile, podDnsConfig, removeCgroup } from './pod-helpers.js';
import { ProbeManager } from './probes.js';
import { generatePodStatus } from './status.js';
import { StatusManager } from './status-manager.js';
import type { ContainerRunOptions, KubeletEvents, PodRuntime, RuntimeHelper, RuntimePodStatus, StartFailure } from './types.js';
import { errorMessage, sleep, stableJson } from './util.js';
import { ObjectWatches, podConfigMapNames, podSecretNames } from './object-watches.js';
import { TokenManager, type IssuedToken, type TokenRequestSpec } from './token-manager.js';
import { VolumeManager, resolveMountSource, type MountedVolume, type VolumeSources } from './volumes.js';
import type { Mount, Req } from './cri/types.js';

const PODS = resourceByPath('', 'v1', 'pods')!;
const SERVICES = resourceByPath('', 'v1', 'services')!;
const CONFIGMAPS = resourceByPath('', 'v1', 'configmaps')!;
const SECRETS = resourceByPath('', 'v1', 'secrets')!;
const PVCS = resourceByPath('', 'v1', 'persistentvolumeclaims')!;
const PVS = resourceByPath('', 'v1', 'persistentvolumes')!;
const SERVICEACCOUNTS = resourceByPath('', 'v1', 'serviceaccounts')!;
const RUNTIMECLASSES = resourceByPath('node.k8s.io', 'v1', 'runtimeclasses')!;

const RELIST_MS = 1000;
const HOUSEKEEPING_MS = 2000;
const ERROR_RETRY_MS = 2000;
const FORCE_DELETE_GRACE_SECONDS = 2;
const TRACE = !!process.env.KITE_KUBELET_TRACE;

type WorkerPhase = 'sync' | 'terminating' | 'terminated';

interface PodWorker {
  uid: string;
  pod: Pod;
  /** gone from the API (deleted, or force-deleted) */
  removed: boolean;
  phase: WorkerPhase;
  running: boolean;
  pending: boolean;
  timer?: NodeJS.Timeout;
  timerAt?: number;
  finished: boolean;
  volumes: Map<string, MountedVolume>;
  /** set when the kubelet asked the API to delete the pod */
  deleteRequested: boolean;
  /** a sync of this worker has read the runtime (its first sync may trust the relist) */
  synced: boolean;
}

export interface KubeletOptions {
  config: KubeletConfig;
  runtime: PodRuntime;
  /** defaults to an HttpTransport built from the config's certificates */
  transport?: ApiTransport;
  log?: (msg: string) => void;
  /** no volumes on disk, no cgroups (hollow nodes) */
  hollow?: boolean;
}

/** upstream podsDifferSemantically: what a kubelet reacts to (not status). */
function podsDifferSemantically(a: Pod, b: Pod): boolean {
  const am = a.metadata ?? {};
  const bm = b.metadata ?? {};
  if (am.generation !== bm.generation) return true;
  if (am.deletionTimestamp !== bm.deletionTimestamp || am.deletionGracePeriodSeconds !== bm.deletionGracePeriodSeconds) return true;
  if (stableJson(am.labels ?? {}) !== stableJson(bm.labels ?? {}) || stableJson(am.annotations ?? {}) !== stableJson(bm.annotations ?? {})) return true;
  if (stableJson(a.spec ?? {}) !== stableJson(b.spec ?? {})) return true;
  // A terminal phase written by someone else (or lost) matters too.
  if ((a.status?.phase === 'Succeeded' || a.status?.phase === 'Failed') !== (b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed')) return true;
  return false;
}

export class Kubelet {
  readonly config: KubeletConfig;
  readonly runtime: PodRuntime;
  readonly transport: ApiTransport;
  readonly log: (msg: string) => void;
  readonly nodeIP: string;
  readonly node: NodeAgent;
  readonly statusManager: StatusManager;
  readonly probes: ProbeManager;
  readonly volumes: VolumeManager;
  private readonly factory: SharedInformerFactory;
  private readonly broadcaster: EventBroadcaster;
  private readonly recorder: EventRecorder;
  readonly podInformer: Informer<Pod>;
  private readonly serviceInformer: Informer<Service>;
  /** The ConfigMaps and Secrets this node's pods use, watched one by one. */
  private readonly configMaps: ObjectWatches<ConfigMap>;
  private readonly runtimeClassInformer: Informer<KubeObject>;
  private readonly secrets: ObjectWatches<Secret>;
  private readonly workers = new Map<string, PodWorker>();
  private readonly startFailures = new Map<string, Map<string, StartFailure>>();
  private readonly tokens: TokenManager;
  private relistState = new Map<string, string>();
  /** a relist of this process has completed (relistState covers every pod in the runtime then) */
  private relisted = false;
  private imageSignature = '';
  private relistTimer?: NodeJS.Timeout;
  private housekeepingTimer?: NodeJS.Timeout;
  private stopped = false;
  private podsSynced = false;
  readonly events: KubeletEvents;
  private readonly hollow: boolean;

  constructor(opts: KubeletOptions) {
    this.config = opts.config;
    this.runtime = opts.runtime;
    this.hollow = !!opts.hollow;
    this.log = opts.log ?? ((msg) => process.stdout.write(`${new Date().toISOString()} kubelet: ${msg}\n`));
    this.transport =
      opts.transport ??
      new HttpTransport(
        {
          server: this.config.apiServer,
          caData: readFileSync(this.config.caFile, 'utf8'),
          certData: readFileSync(this.config.clientCertFile, 'utf8'),
          keyData: readFileSync(this.config.clientKeyFile, 'utf8'),
        },
        { component: 'kubelet' },
      );
    this.nodeIP = this.config.nodeIP ?? '127.0.0.1';
    this.broadcaster = new EventBroadcaster(this.transport, { host: this.config.nodeName, log: (m) => this.log(m) });
    this.recorder = this.broadcaster.newRecorder('kubelet');
    this.events = {
      pod: (pod, type, reason, message, fieldPath) => {
        this.recorder.event(
          { kind: 'Pod', apiVersion: 'v1', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid, ...(fieldPath ? { fieldPath } : {}) },
          type,
          reason,
          message,
        );
      },
    };
    this.node = new NodeAgent({
      transport: this.transport,
      nodeName: this.config.nodeName,
      nodeIP: this.nodeIP,
      podCIDR: this.config.podCIDR,
      controlPlane: this.config.controlPlane,
      kubeletPort: this.config.port,
      maxPods: this.config.maxPods,
      runtime: this.runtime,
      rootDir: this.config.rootDir,
      recorder: this.recorder,
      labels: this.config.labels,
      log: (m) => this.log(m),
    });
    this.statusManager = new StatusManager({
      transport: this.transport,
      apiPod: (ns, name) => this.podInformer.store.get(ns, name),
      log: (m) => this.log(m),
    });
    this.probes = new ProbeManager({
      runtime: this.runtime,
      podStatus: (uid) => this.statusManager.get(uid),
      onChange: (uid) => this.schedule(uid, 0),
      events: this.events,
    });
    this.volumes = new VolumeManager({ podsDir: podsDir(this.config), log: (m) => this.log(m) });
    this.tokens = new TokenManager((ns, sa, spec) => this.requestToken(ns, sa, spec), { log: (m) => this.log(m) });
    this.factory = new SharedInformerFactory(this.transport, { informerDefaults: { log: (m) => this.log(m) } });
    this.podInformer = this.factory.informerFor<Pod>(PODS, { fieldSelector: `spec.nodeName=${this.config.nodeName}` });
    this.serviceInformer = this.factory.informerFor<Service>(SERVICES);
    this.runtimeClassInformer = this.factory.informerFor<KubeObject>(RUNTIMECLASSES);
    this.configMaps = new ObjectWatches<ConfigMap>(this.transport, CONFIGMAPS, { log: (m) => this.log(m) });
    this.secrets = new ObjectWatches<Secret>(this.transport, SECRETS, { log: (m) => this.log(m) });
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    mkdirSync(podsDir(this.config), { recursive: true, mode: 0o750 });
    mkdirSync(podLogsDir(this.config), { recursive: true, mode: 0o755 });
    // The API server may still be starting: keep trying to register.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.node.register();
        break;
      } catch (err) {
        if (this.stopped) return;
        if (attempt % 10 === 0) this.log(`node registration failed (will retry): ${errorMessage(err)}`);
        await sleep(Math.min(500 * (attempt + 1), 5000));
      }
    }
    this.node.start();
    this.statusManager.start();
    this.podInformer.addEventHandler({
      onAdd: (pod) => this.podChanged(pod),
      onUpdate: (_old, pod) => this.podChanged(pod),
      onDelete: (pod) => this.podDeleted(pod),
    });
    this.factory.start();
    await this.podInformer.waitForSync();
    this.podsSynced = true;
    this.relistLoop();
    this.housekeepingLoop();
    this.log(`kubelet ${this.config.nodeName} running (${this.runtime.type} runtime, node IP ${this.nodeIP})`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.relistTimer) clearTimeout(this.relistTimer);
    if (this.housekeepingTimer) clearTimeout(this.housekeepingTimer);
    for (const w of this.workers.values()) if (w.timer) clearTimeout(w.timer);
    this.probes.stop();
    this.node.stop();
    this.statusManager.stop();
    await this.factory.stop();
    await Promise.all([this.configMaps.stop(), this.secrets.stop()]);
    await Promise.race([this.broadcaster.shutdown(), sleep(2000)]);
    this.transport.close();
    this.runtime.close();
  }

  // ---------------------------------------------------------------- pods from the API

  /** Pods bound to this node, from the informer. */
  pods(): Pod[] {
    return this.podInformer.store.list();
  }

  getPod(namespace: string, name: string): Pod | undefined {
    return this.podInformer.store.get(namespace, name);
  }

  private podChanged(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid || this.stopped) return;
    if (TRACE) this.log(`pod event ${pod.metadata?.name} rv=${pod.metadata?.resourceVersion}`);
    let w = this.workers.get(uid);
    if (w && !podsDifferSemantically(w.pod, pod)) {
      // Only the status changed (mostly our own writes): nothing to do.
      w.pod = pod;
      return;
    }
    if (!w) {
      // A pod first seen in a terminal phase (a kubelet restart, `kite down` then `kite up`)
      // is never started again: it only has its leftovers stopped and keeps its status,
      // as upstream's pod workers treat pods whose API phase is Succeeded or Failed.
      const phase: WorkerPhase = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' ? 'terminating' : 'sync';
      w = { uid, pod, removed: false, phase, running: false, pending: false, finished: false, volumes: new Map(), deleteRequested: false, synced: false };
      this.workers.set(uid, w);
    } else {
      w.pod = pod;
    }
    // Hollow pods have no volumes; their rare env references are read directly.
    if (!this.hollow) {
      const ns = pod.metadata?.namespace ?? 'default';
      this.configMaps.setPodReferences(uid, ns, podConfigMapNames(pod));
      this.secrets.setPodReferences(uid, ns, podSecretNames(pod));
    }
    this.schedule(uid, 0);
  }

  private podDeleted(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const w = this.workers.get(uid);
    if (!w) return;
    w.removed = true;
    w.pod = pod;
    this.schedule(uid, 0);
  }

  // ---------------------------------------------------------------- workers

  private schedule(uid: string, delayMs: number): void {
    const w = this.workers.get(uid);
    if (!w || w.finished || this.stopped) return;
    const at = Date.now() + Math.max(0, delayMs);
    if (w.timer && w.timerAt !== undefined && w.timerAt <= at) return;
    if (w.timer) clearTimeout(w.timer);
    w.timerAt = at;
    w.timer = setTimeout(() => {
      w.timer = undefined;
      w.timerAt = undefined;
      void this.runWorker(w);
    }, Math.max(0, delayMs));
  }

  private async runWorker(w: PodWorker): Promise<void> {
    if (w.finished || this.stopped) return;
    if (w.running) {
      w.pending = true;
      return;
    }
    w.running = true;
    try {
      await this.syncWorker(w);
    } catch (err) {
      this.log(`sync of pod ${w.pod.metadata?.namespace}/${w.pod.metadata?.name} failed: ${errorMessage(err)}`);
      this.schedule(w.uid, ERROR_RETRY_MS);
    } finally {
      w.running = false;
      if (w.pending && !w.finished) {
        w.pending = false;
        this.schedule(w.uid, 0);
      }
    }
  }

  private podStatusOf(pod: Pod): Promise<RuntimePodStatus> {
    return this.runtime.podStatus(pod.metadata!.uid!, pod.metadata!.name!, pod.metadata!.namespace!);
  }

  private generate(pod: Pod, rs: RuntimePodStatus, podIsTerminal: boolean): PodStatus {
    const uid = pod.metadata!.uid!;
    return generatePodStatus({
      pod,
      runtime: rs,
      oldStatus: this.statusManager.get(uid) ?? pod.status ?? {},
      podIsTerminal,
      startFailure: (name) => this.startFailures.get(uid)?.get(name),
      probes: {
        started: (name, id) => this.probes.started(uid, name, id),
        ready: (name, id) => this.probes.ready(uid, name, id),
      },
      hostIPs: [this.nodeIP],
    });
  }

  private async syncWorker(w: PodWorker): Promise<void> {
    const pod = w.pod;
    const uid = w.uid;
    const deleting = w.removed || !!pod.metadata?.deletionTimestamp;
    if (!deleting && w.phase === 'sync') {
      await this.syncPod(w);
      return;
    }
    if (deleting || w.phase === 'terminating') {
      await this.syncTerminating(w);
      return;
    }
    // terminated and still in the API: nothing runs; keep the status current.
    if (w.phase === 'terminated') {
      const rs = await this.podStatusOf(pod);
      this.statusManager.set(pod, this.generate(pod, rs, true));
      void uid;
    }
  }

  /** Admission: pods the node cannot take fail at once (upstream canAdmitPod, the pods limit only). */
  private admit(w: PodWorker): string | undefined {
    if (w.pod.status?.phase === 'Running' || this.statusManager.get(w.uid)) return undefined;
    const active = [...this.workers.values()].filter((x) => x !== w && x.phase === 'sync' && !x.removed && this.statusManager.get(x.uid)).length;
    if (active >= this.config.maxPods) {
      return `Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: ${active}, capacity: ${this.config.maxPods}`;
    }
    return undefined;
  }

  private async syncPod(w: PodWorker): Promise<void> {
    const pod = w.pod;
    const uid = w.uid;
    const t0 = performance.now();
    const marks: string[] = [];
    const mark = (what: string) => {
      if (TRACE) marks.push(`${what}=${(performance.now() - t0).toFixed(0)}`);
    };
    const rejected = this.admit(w);
    if (rejected) {
      this.statusManager.set(pod, { ...(pod.status ?? {}), phase: 'Failed', reason: 'OutOfpods', message: rejected });
      this.events.pod(pod, 'Warning', 'OutOfpods', rejected);
      w.phase = 'terminated';
      return;
    }
    // A pod this kubelet has not synced yet and the last relist did not find has nothing
    // in the runtime (only this worker creates its sandbox): skip the two CRI lists.
    let rs: RuntimePodStatus =
      !w.synced && this.relisted && !this.relistState.has(uid)
        ? { uid, name: pod.metadata!.name!, namespace: pod.metadata!.namespace!, ips: [], sandboxes: [], containers: [] }
        : await this.podStatusOf(pod);
    w.synced = true;
    mark('status');
    let status = this.generate(pod, rs, false);

    // activeDeadlineSeconds
    const deadline = pod.spec?.activeDeadlineSeconds;
    const startTime = Date.parse(this.statusManager.get(uid)?.startTime ?? pod.status?.startTime ?? '') || Date.now();
    if (deadline !== undefined && Date.now() - startTime >= deadline * 1000 && status.phase !== 'Succeeded' && status.phase !== 'Failed') {
      status = { ...status, phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' };
      this.events.pod(pod, 'Normal', 'DeadlineExceeded', 'Pod was active on the node longer than the specified deadline');
    }
    this.statusManager.set(pod, status);
    if (status.phase === 'Succeeded' || status.phase === 'Failed') {
      w.phase = 'terminating';
      this.schedule(uid, 0);
      return;
    }

    // Volumes are set up while the runtime creates the sandbox; containers wait for them
    // (helper.volumesReady). A pod that has them keeps running on the last contents while
    // refreshes fail (upstream remounts in the background without holding up the pod's sync).
    let volumesReady: Promise<boolean> = Promise.resolve(true);
    if (!this.hollow) {
      volumesReady = this.volumes.setUp(pod, { podIPs: rs.ips, hostIPs: [this.nodeIP] }, this.volumeSources(), w.volumes).then(
        (mounted) => {
          w.volumes = mounted;
          return true;
        },
        (err: unknown) => {
          this.events.pod(pod, 'Warning', 'FailedMount', errorMessage(err));
          return (pod.spec?.volumes ?? []).every((v) => w.volumes.has(v.name));
        },
      );
    }
    mark('volumes');
    this.probes.addPod(pod);
    const result = await this.runtime.syncPod(pod, rs, { ...this.helper, volumesReady: () => volumesReady });
    // (the runtime may have returned before asking, e.g. nothing to start)
    if (!(await volumesReady)) result.retryAt = Math.min(result.retryAt ?? Infinity, Date.now() + ERROR_RETRY_MS);
    mark('runtime');
    // The runtime's state after the sync: as the runtime reports it (a first start), as read
    // above when it was left as it was (a change meanwhile, a container exiting, is the
    // relist's to report), else read again.
    if (result.status) rs = result.status;
    else if (!result.idle) rs = await this.podStatusOf(pod);
    status = this.generate(pod, rs, false);
    const written = this.statusManager.set(pod, status);
    mark('status2');
    if (TRACE) this.log(`sync ${pod.metadata?.name}: ${marks.join(' ')}`);
    this.writeHostsFiles(pod, rs);
    try {
      await this.runtime.gcContainers(rs, 1);
    } catch (err) {
      this.log(`container gc for ${pod.metadata?.name}: ${errorMessage(err)}`);
    }
    if (written.phase === 'Succeeded' || written.phase === 'Failed') {
      w.phase = 'terminating';
      this.schedule(uid, 0);
      return;
    }
    if (written.containerStatuses?.some((c) => c.state?.running && !c.ready)) this.probes.trigger(uid);
    let next = this.config.syncPeriodMs * (0.9 + Math.random() * 0.2);
    if (result.retryAt !== undefined) next = Math.min(next, Math.max(0, result.retryAt - Date.now()) + 50);
    // A projected token due for renewal is rewritten by the next sync.
    const tokenRefresh = this.tokens.nextRefresh(uid);
    if (tokenRefresh !== undefined) next = Math.min(next, Math.max(ERROR_RETRY_MS, tokenRefresh - Date.now() + 50));
    else if (result.error) next = Math.min(next, ERROR_RETRY_MS);
    this.schedule(uid, next);
  }

  private writeHostsFiles(pod: Pod, rs: RuntimePodStatus): void {
    if (this.hollow) return;
    try {
      const path = join(this.volumes.podDir(pod.metadata!.uid!), 'etc-hosts');
      const content = pod.spec?.hostNetwork ? hostNetworkHostsFile(pod) : managedHostsFile(pod, rs.ips, this.config.clusterDomain);
      mkdirSync(this.volumes.podDir(pod.metadata!.uid!), { recursive: true });
      writeFileSync(path, content, { mode: 0o644 });
    } catch {
      // best effort: the file is (re)written before every container start too
    }
  }

  private async syncTerminating(w: PodWorker): Promise<void> {
    const pod = w.pod;
    const uid = w.uid;
    this.probes.removePod(uid);
    let rs = await this.podStatusOf(pod);
    const anyRunning = rs.containers.some((c) => c.state === 'running' || c.state === 'created' || c.state === 'unknown') || rs.sandboxes.some((s) => s.ready);
    if (anyRunning) {
      const grace = w.removed && !pod.metadata?.deletionTimestamp ? FORCE_DELETE_GRACE_SECONDS : undefined;
      await this.runtime.killPod(pod, rs, this.helper, { gracePeriodSeconds: grace });
      rs = await this.podStatusOf(pod);
    }
    if (!w.removed) {
      const status = this.generate(pod, rs, true);
      this.statusManager.set(pod, status);
      await this.statusManager.flush(uid);
    }
    if (!w.removed && pod.metadata?.deletionTimestamp) {
      if (!w.deleteRequested) {
        w.deleteRequested = true;
        try {
          await this.transport.delete(PODS, pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid } });
        } catch (err) {
          if (!isNotFound(err)) {
            w.deleteRequested = false;
            this.log(`delete pod ${pod.metadata.namespace}/${pod.metadata.name}: ${errorMessage(err)}`);
            this.schedule(uid, ERROR_RETRY_MS);
            return;
          }
          w.removed = true;
        }
      }
      if (!w.removed) {
        // The DELETED event finishes the job; check again in case it is missed.
        this.schedule(uid, 5000);
        return;
      }
    }
    if (w.removed) {
      await this.cleanupPod(uid, rs);
      w.finished = true;
      this.workers.delete(uid);
      return;
    }
    w.phase = 'terminated';
  }

  private async cleanupPod(uid: string, rs: RuntimePodStatus | undefined): Promise<void> {
    if (rs) await this.runtime.removePod(rs);
    if (!this.hollow) {
      try {
        await this.volumes.tearDown(uid);
      } catch (err) {
        this.log(`volume teardown of pod ${uid}: ${errorMessage(err)}`);
      }
      if (this.config.cgroupRoot) removeCgroup(`${this.config.cgroupRoot}/pod${uid}`);
    }
    this.statusManager.remove(uid);
    this.startFailures.delete(uid);
    this.tokens.forget(uid);
    this.configMaps.removePod(uid);
    this.secrets.removePod(uid);
  }

  // ---------------------------------------------------------------- relist (PLEG) and housekeeping

  private relistLoop(): void {
    const tick = async () => {
      if (this.stopped) return;
      const relist = (this.runtime as { relist?: () => Promise<Map<string, string>> }).relist;
      if (relist) {
        try {
          const now = await relist.call(this.runtime);
          for (const [uid, fp] of now) if (this.relistState.get(uid) !== fp) this.schedule(uid, 0);
          for (const uid of this.relistState.keys()) if (!now.has(uid)) this.schedule(uid, 0);
          this.relistState = now;
          this.relisted = true;
        } catch (err) {
          this.log(`relist failed: ${errorMessage(err)}`);
        }
      }
      if (!this.stopped) this.relistTimer = setTimeout(tick, RELIST_MS);
    };
    this.relistTimer = setTimeout(tick, RELIST_MS);
  }

  private housekeepingLoop(): void {
    const tick = async () => {
      if (this.stopped) return;
      try {
        await this.housekeeping();
      } catch (err) {
        this.log(`housekeeping failed: ${errorMessage(err)}`);
      }
      if (!this.stopped) this.housekeepingTimer = setTimeout(tick, HOUSEKEEPING_MS);
    };
    void tick();
  }

  /** Kill and remove what the runtime or the disk has of pods the API no longer has. */
  private async housekeeping(): Promise<void> {
    if (!this.podsSynced) return;
    const known = new Set(this.workers.keys());
    for (const p of this.pods()) if (p.metadata?.uid) known.add(p.metadata.uid);
    for (const rp of await this.runtime.listPods()) {
      if (known.has(rp.uid)) continue;
      this.log(`cleaning up orphaned pod ${rp.namespace}/${rp.name} (${rp.uid})`);
      const rs = await this.runtime.podStatus(rp.uid, rp.name, rp.namespace);
      await this.runtime.killPod(undefined, rs, undefined, { gracePeriodSeconds: FORCE_DELETE_GRACE_SECONDS });
      await this.cleanupPod(rp.uid, await this.runtime.podStatus(rp.uid, rp.name, rp.namespace));
    }
    await this.checkNewImages();
    this.tokens.cleanup();
    if (!this.hollow) {
      for (const uid of this.volumes.podsOnDisk()) {
        if (known.has(uid)) continue;
        await this.cleanupPod(uid, undefined);
      }
    }
  }

  /** When images arrive (`kite image load`), pods waiting for an image retry at once. */
  private async checkNewImages(): Promise<void> {
    const images = await this.runtime.listImages();
    const sig = images
      .flatMap((i) => [i.id, ...i.names])
      .sort()
      .join(',');
    const changed = this.imageSignature !== '' && sig !== this.imageSignature;
    this.imageSignature = sig;
    if (!changed) return;
    this.runtime.resetPullBackoff?.();
    for (const [uid, failures] of this.startFailures) {
      if ([...failures.values()].some((f) => f.reason === 'ErrImagePull' || f.reason === 'ImagePullBackOff' || f.reason === 'ErrImageNeverPull')) this.schedule(uid, 0);
    }
  }

  // ---------------------------------------------------------------- sources for env and volumes

  private async getOrUndefined<T>(res: typeof CONFIGMAPS, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return (await this.transport.get<T & { metadata?: { name?: string } }>(res, namespace, name)) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private get allocatable() {
    const a = this.node.allocatable;
    return { cpuMilli: a.cpu * 1000, memoryBytes: a.memoryBytes, ephemeralStorageBytes: a.ephemeralBytes };
  }

  private envSources(pod: Pod): EnvSources {
    return {
      configMap: (ns, name) => this.configMaps.get(ns, name),
      secret: (ns, name) => this.secrets.get(ns, name),
      services: () => {
        // Starting a container without the service variables would be for good (upstream refuses too).
        if (!this.serviceInformer.hasSynced()) throw new Error('services have not yet been read at least once, cannot construct envvars');
        return this.serviceInformer.store.list();
      },
      allocatable: this.allocatable,
      warn: (reason, message) => this.events.pod(pod, 'Warning', reason, message),
    };
  }

  private volumeSources(): VolumeSources {
    return {
      configMap: (ns, name) => this.configMaps.get(ns, name),
      secret: (ns, name) => this.secrets.get(ns, name),
      serviceAccountToken: (pod, audience, exp) => this.tokens.get(pod, audience, exp),
      allocatable: this.allocatable,
      claims: {
        claim: (ns, name) => this.getOrUndefined<PersistentVolumeClaim>(PVCS, ns, name),
        volume: (name) => this.getOrUndefined<PersistentVolume>(PVS, undefined, name),
        node: { name: this.config.nodeName, labels: this.node.labels() },
      },
    };
  }

  /** serviceaccounts/NAME/token for the token manager. */
  private async requestToken(namespace: string, serviceAccount: string, spec: TokenRequestSpec): Promise<IssuedToken> {
    const tr = await this.transport.createSubresource<{ status?: { token?: string; expirationTimestamp?: string } }>(SERVICEACCOUNTS, namespace, serviceAccount, 'token', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec,
    });
    const expiresAtMs = Date.parse(tr.status?.expirationTimestamp ?? '');
    return { token: tr.status?.token ?? '', expiresAtMs: Number.isFinite(expiresAtMs) ? expiresAtMs : Date.now() + spec.expirationSeconds * 1000 };
  }

  // ---------------------------------------------------------------- the runtime's helper

  readonly helper: RuntimeHelper = {
    runOptions: (pod, container, podIPs, isInit) => this.runOptions(pod, container, podIPs, isInit),
    dnsConfig: (pod) => podDnsConfig(pod, { clusterDNS: this.config.clusterDNS, clusterDomain: this.config.clusterDomain }, (msg) => this.events.pod(pod, 'Warning', 'MissingClusterDNS', msg)),
    cgroupParent: (pod) => (this.config.cgroupRoot ? `${this.config.cgroupRoot}/pod${pod.metadata!.uid}` : ''),
    podLogDir: (pod) => join(podLogsDir(this.config), `${pod.metadata!.namespace}_${pod.metadata!.name}_${pod.metadata!.uid}`),
    podDir: (pod) => this.volumes.podDir(pod.metadata!.uid!),
    probeFailure: (_uid, _name, containerID) => this.probes.failure(containerID),
    containerStarted: (uid, name, containerID) => this.probes.started(uid, name, containerID),
    events: {
      pod: (pod, type, reason, message, fieldPath) => this.events.pod(pod, type, reason, message, fieldPath),
    },
    runtimeHandler: (pod) => {
      const name = pod.spec?.runtimeClassName;
      if (!name) return '';
      const rc = this.runtimeClassInformer.store.get(undefined, name);
      if (!rc) return new Error(`RuntimeClass "${name}" not found`);
      return String((rc as { handler?: string }).handler ?? '');
    },
    setStartFailure: (uid, name, failure) => {
      let m = this.startFailures.get(uid);
      if (!failure) {
        m?.delete(name);
        return;
      }
      if (!m) this.startFailures.set(uid, (m = new Map()));
      m.set(name, failure);
    },
  };

  private async runOptions(pod: Pod, container: Container, podIPs: string[], _isInit: boolean): Promise<ContainerRunOptions> {
    const envs = await containerEnv(pod, container, { podIPs, hostIPs: [this.nodeIP] }, this.envSources(pod));
    const { command, args } = expandCommand(container, envs);
    const mounts: Array<Req<Mount>> = [];
    const uid = pod.metadata!.uid!;
    const w = this.workers.get(uid);
    const vols = w?.volumes ?? new Map<string, MountedVolume>();
    const envMap = new Map(envs.map((e) => [e.name, e.value]));
    for (const m of container.volumeMounts ?? []) {
      const vol = vols.get(m.name);
      if (!vol) throw new Error(`cannot find volume "${m.name}" to mount into container "${container.name}"`);
      const subPath = m.subPathExpr ? expand(m.subPathExpr, mappingFuncFor(envMap)) : m.subPath;
      const hostPath = resolveMountSource(vol, subPath);
      const propagation =
        m.mountPropagation === 'Bidirectional' ? 'PROPAGATION_BIDIRECTIONAL' : m.mountPropagation === 'HostToContainer' ? 'PROPAGATION_HOST_TO_CONTAINER' : 'PROPAGATION_PRIVATE';
      mounts.push({ containerPath: m.mountPath, hostPath, readonly: !!m.readOnly || vol.readOnly, propagation });
    }
    if (!this.hollow && !(container.volumeMounts ?? []).some((m) => m.mountPath === '/etc/hosts') && (podIPs.length > 0 || pod.spec?.hostNetwork)) {
      const path = join(this.volumes.podDir(uid), 'etc-hosts');
      mkdirSync(this.volumes.podDir(uid), { recursive: true });
      const content = pod.spec?.hostNetwork ? hostNetworkHostsFile(pod) : managedHostsFile(pod, podIPs, this.config.clusterDomain);
      writeFileSync(path, content, { mode: 0o644 });
      mounts.push({ containerPath: '/etc/hosts', hostPath: path, readonly: false });
    }
    return { envs: envs.map((e) => ({ key: e.name, value: e.value })), mounts, command, args };
  }
}
