// A simulated container runtime for scale tests ("hollow" nodes): pods get a
// sandbox with an address and their containers report Running at once, with no
// processes behind them. Containers never exit on their own; killing a pod stops
// them with exit code 0. Exec probes succeed; streaming is not offered.
import { createHash, randomUUID } from 'node:crypto';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { latestInstance, shouldContainerBeRestarted } from './status.js';
import type {
  ExecResult,
  KillOptions,
  PodRuntime,
  RuntimeContainer,
  RuntimeHelper,
  RuntimeImage,
  RuntimePodStatus,
  RuntimeReadiness,
  RuntimeVersionInfo,
  SyncPodResult,
} from './types.js';

interface HollowPod {
  uid: string;
  name: string;
  namespace: string;
  ip: string;
  sandboxId: string;
  sandboxReady: boolean;
  createdAt: number;
  containers: RuntimeContainer[];
}

export interface HollowRuntimeOptions {
  nodeName: string;
  /** first three octets of the fake pod IPs (default derived from the node name) */
  ipPrefix?: string;
}

export class HollowRuntime implements PodRuntime {
  readonly type = 'hollow';
  private readonly pods = new Map<string, HollowPod>();
  private nextIp = 2;
  private readonly prefix: string;

  constructor(private readonly opts: HollowRuntimeOptions) {
    const h = createHash('sha256').update(opts.nodeName).digest();
    this.prefix = opts.ipPrefix ?? `10.${200 + (h[0]! % 50)}.${h[1]!}`;
  }

  close(): void {}

  async version(): Promise<RuntimeVersionInfo> {
    return { runtimeName: 'hollow', runtimeVersion: '1.0.0' };
  }

  async readiness(): Promise<RuntimeReadiness> {
    return { runtimeReady: true, networkReady: true, message: '' };
  }

  async listPods(): Promise<Array<{ uid: string; name: string; namespace: string }>> {
    return [...this.pods.values()].map((p) => ({ uid: p.uid, name: p.name, namespace: p.namespace }));
  }

  async podStatus(uid: string, name: string, namespace: string): Promise<RuntimePodStatus> {
    const p = this.pods.get(uid);
    if (!p) return { uid, name, namespace, ips: [], sandboxes: [], containers: [] };
    return {
      uid,
      name,
      namespace,
      ips: p.sandboxReady ? [p.ip] : [],
      sandboxes: [{ id: p.sandboxId, ready: p.sandboxReady, createdAt: p.createdAt, attempt: 0, ip: p.ip, additionalIps: [], hostNetwork: false }],
      containers: p.containers.map((c) => ({ ...c })).sort((a, b) => b.createdAt - a.createdAt),
    };
  }

  async syncPod(pod: Pod, rs: RuntimePodStatus, helper: RuntimeHelper): Promise<SyncPodResult> {
    const uid = pod.metadata!.uid!;
    let p = this.pods.get(uid);
    if (!p || !p.sandboxReady) {
      const n = this.nextIp++;
      p = {
        uid,
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        ip: `${this.prefix}.${(n % 250) + 2}`,
        sandboxId: randomUUID().replace(/-/g, ''),
        sandboxReady: true,
        createdAt: Date.now(),
        containers: p?.containers ?? [],
      };
      this.pods.set(uid, p);
    }
    const now = Date.now();
    for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      if (!shouldContainerBeRestarted(c, pod, rs)) continue;
      const isInit = (pod.spec?.initContainers ?? []).includes(c) && c.restartPolicy !== 'Always';
      const prev = latestInstance(rs, c.name);
      if (isInit && prev && prev.state === 'exited' && prev.exitCode === 0) continue;
      const id = randomUUID().replace(/-/g, '');
      p.containers.push({
        id,
        containerID: `hollow://${id}`,
        name: c.name,
        state: isInit ? 'exited' : 'running',
        createdAt: now,
        startedAt: now,
        finishedAt: isInit ? now : 0,
        exitCode: 0,
        reason: isInit ? 'Completed' : '',
        message: '',
        image: c.image ?? '',
        imageRef: `sha256:${createHash('sha256').update(c.image ?? '').digest('hex')}`,
        hash: '',
        restartCount: prev ? prev.restartCount + 1 : 0,
        logPath: '',
        sandboxId: p.sandboxId,
      });
      helper.setStartFailure(uid, c.name, undefined);
    }
    return {};
  }

  async killPod(_pod: Pod | undefined, rs: RuntimePodStatus, _helper: RuntimeHelper | undefined, _opts?: KillOptions): Promise<void> {
    const p = this.pods.get(rs.uid);
    if (!p) return;
    const now = Date.now();
    for (const c of p.containers) {
      if (c.state === 'running' || c.state === 'created') {
        c.state = 'exited';
        c.finishedAt = now;
        c.exitCode = 0;
        c.reason = 'Completed';
      }
    }
    p.sandboxReady = false;
  }

  async removePod(rs: RuntimePodStatus): Promise<void> {
    this.pods.delete(rs.uid);
  }

  async gcContainers(rs: RuntimePodStatus, keep: number): Promise<void> {
    const p = this.pods.get(rs.uid);
    if (!p) return;
    const byName = new Map<string, RuntimeContainer[]>();
    for (const c of [...p.containers].sort((a, b) => b.createdAt - a.createdAt)) {
      const l = byName.get(c.name) ?? [];
      l.push(c);
      byName.set(c.name, l);
    }
    const drop = new Set<string>();
    for (const l of byName.values()) for (const c of l.slice(1 + keep)) drop.add(c.id);
    p.containers = p.containers.filter((c) => !drop.has(c.id));
  }

  async execSync(_containerId: string, _cmd: string[], _timeoutSeconds: number): Promise<ExecResult> {
    return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 0 };
  }

  async containerRunning(containerId: string): Promise<boolean> {
    for (const p of this.pods.values()) for (const c of p.containers) if (c.id === containerId) return c.state === 'running';
    return false;
  }

  async listImages(): Promise<RuntimeImage[]> {
    return [];
  }
}
