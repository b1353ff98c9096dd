// Liveness, readiness and startup probes (upstream: pkg/kubelet/prober). One
// worker per (pod, container, probe type) runs every periodSeconds once the
// container has run for initialDelaySeconds; a result only flips after
// successThreshold / failureThreshold consecutive outcomes. Readiness starts
// as failure, liveness as success, startup as unknown; other probes wait
// until the startup probe succeeded. A failed liveness/startup probe holds the
// worker until the container is replaced. Every change is reported through
// onChange so the pod gets synced (restart, Ready condition).
import type { Container, Pod, PodStatus, Probe } from 'kubernetes-types/core/v1.js';
import { execCheck, httpGet, tcpCheck, type ProbeOutcome } from './handlers.js';
import type { KubeletEvents, PodRuntime } from './types.js';

export type ProbeType = 'liveness' | 'readiness' | 'startup';
export type ProbeResult = 'success' | 'failure' | 'unknown';

const LABEL: Record<ProbeType, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

export interface ProbeManagerOptions {
  runtime: PodRuntime;
  /** the latest status the kubelet computed for a pod */
  podStatus: (uid: string) => PodStatus | undefined;
  onChange: (uid: string, type: ProbeType) => void;
  events: KubeletEvents;
  /** when the kubelet started (first probes are jittered shortly after) */
  startedAt?: number;
}

interface Worker {
  key: string;
  pod: Pod;
  container: Container;
  type: ProbeType;
  spec: Probe;
  containerID: string;
  lastResult: ProbeResult;
  resultRun: number;
  onHold: boolean;
  timer?: NodeJS.Timeout;
  stopped: boolean;
  running: boolean;
}

export class ProbeManager {
  /** containerID → result, per probe type */
  private readonly results: Record<ProbeType, Map<string, ProbeResult>> = { liveness: new Map(), readiness: new Map(), startup: new Map() };
  private readonly workers = new Map<string, Worker>();
  private readonly startedAt: number;

  constructor(private readonly opts: ProbeManagerOptions) {
    this.startedAt = opts.startedAt ?? Date.now();
  }

  private key(uid: string, name: string, type: ProbeType): string {
    return `${uid}/${name}/${type}`;
  }

  /** Start workers for the pod's probes (idempotent); stop those no longer in the spec. */
  addPod(pod: Pod): void {
    const uid = pod.metadata!.uid!;
    const wanted = new Set<string>();
    const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
    for (const c of containers) {
      for (const type of ['liveness', 'readiness', 'startup'] as ProbeType[]) {
        const spec = type === 'liveness' ? c.livenessProbe : type === 'readiness' ? c.readinessProbe : c.startupProbe;
        if (!spec) continue;
        const key = this.key(uid, c.name, type);
        wanted.add(key);
        const existing = this.workers.get(key);
        if (existing) {
          existing.pod = pod;
          continue;
        }
        const w: Worker = {
          key,
          pod,
          container: c,
          type,
          spec,
          containerID: '',
          lastResult: 'unknown',
          resultRun: 0,
          onHold: false,
          stopped: false,
          running: false,
        };
        this.workers.set(key, w);
        const period = (spec.periodSeconds ?? 10) * 1000;
        // Right after a kubelet start, spread the first probes over one period.
        const first = Date.now() - this.startedAt < period ? Math.random() * period : 0;
        this.schedule(w, first);
      }
    }
    for (const [key, w] of this.workers) {
      if (key.startsWith(`${uid}/`) && !wanted.has(key)) this.stopWorker(w);
    }
  }

  /** Probe right now (readiness on a fresh container, as upstream's manual trigger). */
  trigger(uid: string): void {
    for (const w of this.workers.values()) {
      if (w.pod.metadata?.uid === uid && !w.running && !w.stopped) this.schedule(w, 0);
    }
  }

  removePod(uid: string): void {
    for (const w of [...this.workers.values()]) if (w.pod.metadata?.uid === uid) this.stopWorker(w);
  }

  stop(): void {
    for (const w of [...this.workers.values()]) this.stopWorker(w);
  }

  private stopWorker(w: Worker): void {
    w.stopped = true;
    if (w.timer) clearTimeout(w.timer);
    this.workers.delete(w.key);
    if (w.containerID) this.results[w.type].delete(w.containerID);
  }

  hasProbe(uid: string, name: string, type: ProbeType): boolean {
    return this.workers.has(this.key(uid, name, type));
  }

  result(type: ProbeType, containerID: string): ProbeResult | undefined {
    return this.results[type].get(containerID);
  }

  /** Started: the startup probe succeeded, or there is none. */
  started(uid: string, name: string, containerID: string): boolean {
    const r = this.results.startup.get(containerID);
    if (r !== undefined) return r === 'success';
    return !this.hasProbe(uid, name, 'startup');
  }

  /** Ready per the readiness probe; undefined when there is none. */
  ready(uid: string, name: string, containerID: string): boolean | undefined {
    if (!this.hasProbe(uid, name, 'readiness')) {
      const r = this.results.readiness.get(containerID);
      return r === undefined ? undefined : r === 'success';
    }
    const r = this.results.readiness.get(containerID);
    return r === 'success';
  }

  /** A failed liveness or startup probe for this container instance. */
  failure(containerID: string): { probe: 'liveness' | 'startup'; message: string } | undefined {
    if (this.results.liveness.get(containerID) === 'failure') return { probe: 'liveness', message: '' };
    if (this.results.startup.get(containerID) === 'failure') return { probe: 'startup', message: '' };
    return undefined;
  }

  private schedule(w: Worker, delayMs: number): void {
    if (w.stopped) return;
    if (w.timer) clearTimeout(w.timer);
    w.timer = setTimeout(() => void this.tick(w), delayMs);
    w.timer.unref?.();
  }

  private set(w: Worker, result: ProbeResult): void {
    const uid = w.pod.metadata!.uid!;
    const prev = this.results[w.type].get(w.containerID);
    this.results[w.type].set(w.containerID, result);
    if (prev !== result) this.opts.onChange(uid, w.type);
  }

  private async tick(w: Worker): Promise<void> {
    if (w.stopped) return;
    w.running = true;
    let keepGoing: boolean;
    try {
      keepGoing = await this.doProbe(w);
    } catch {
      keepGoing = true;
    } finally {
      w.running = false;
    }
    if (!keepGoing) {
      this.stopWorker(w);
      return;
    }
    this.schedule(w, (w.spec.periodSeconds ?? 10) * 1000);
  }

  /** upstream worker.doProbe; false stops the worker. */
  private async doProbe(w: Worker): Promise<boolean> {
    const uid = w.pod.metadata!.uid!;
    const status = this.opts.podStatus(uid);
    if (!status) return true;
    if (status.phase === 'Failed' || status.phase === 'Succeeded') return false;
    const cs = [...(status.containerStatuses ?? []), ...(status.initContainerStatuses ?? [])].find((c) => c.name === w.container.name);
    if (!cs || !cs.containerID) return true;
    if (w.containerID !== cs.containerID) {
      if (w.containerID) this.results[w.type].delete(w.containerID);
      w.containerID = cs.containerID;
      const initial: ProbeResult = w.type === 'readiness' ? 'failure' : w.type === 'liveness' ? 'success' : 'unknown';
      this.results[w.type].set(w.containerID, initial);
      w.onHold = false;
      w.lastResult = 'unknown';
      w.resultRun = 0;
    }
    if (w.onHold) return true;
    if (!cs.state?.running) {
      if (w.containerID) this.set(w, 'failure');
      return !cs.state?.terminated || (w.pod.spec?.restartPolicy ?? 'Always') !== 'Never';
    }
    if (w.pod.metadata?.deletionTimestamp && (w.type === 'liveness' || w.type === 'startup')) {
      this.set(w, 'success');
      return false;
    }
    const startedAt = Date.parse(cs.state.running.startedAt ?? '') || 0;
    if (Math.floor((Date.now() - startedAt) / 1000) < (w.spec.initialDelaySeconds ?? 0)) return true;
    if (cs.started) {
      if (w.type === 'startup') return true;
    } else if (w.type !== 'startup') {
      return true;
    }
    const outcome = await this.runProbe(w, status, cs.containerID.replace(/^[a-z]+:\/\//, ''));
    if (w.stopped) return false;
    if (outcome === undefined) return true;
    const result: ProbeResult = outcome.ok ? 'success' : 'failure';
    if (!outcome.ok) {
      this.opts.events.pod(w.pod, 'Warning', 'Unhealthy', `${LABEL[w.type]} probe failed: ${outcome.output.trim()}`, `spec.containers{${w.container.name}}`);
    }
    if (w.lastResult === result) w.resultRun++;
    else {
      w.lastResult = result;
      w.resultRun = 1;
    }
    const failureThreshold = w.spec.failureThreshold ?? 3;
    const successThreshold = w.spec.successThreshold ?? 1;
    if ((result === 'failure' && w.resultRun < failureThreshold) || (result === 'success' && w.resultRun < successThreshold)) return true;
    this.set(w, result);
    if ((w.type === 'liveness' || w.type === 'startup') && result === 'failure') {
      w.onHold = true;
      w.resultRun = 0;
    }
    return true;
  }

  private async runProbe(w: Worker, status: PodStatus, containerId: string): Promise<ProbeOutcome | undefined> {
    const timeout = Math.max(1, w.spec.timeoutSeconds ?? 1);
    const podIP = status.podIP ?? '';
    if (w.spec.exec?.command) return execCheck(this.opts.runtime, containerId, w.spec.exec.command, timeout);
    if (w.spec.httpGet) return httpGet(w.spec.httpGet, podIP, w.container, timeout * 1000);
    if (w.spec.tcpSocket) return tcpCheck(w.spec.tcpSocket, podIP, w.container, timeout * 1000);
    if (w.spec.grpc) return { ok: false, output: 'gRPC probes are not supported by kite yet' };
    return undefined;
  }
}
