// Resource usage of the node, its pods and their containers (upstream: the kubelet's
// stats provider behind /stats/summary and the resource metrics collector behind
// /metrics/resource). Containers are read through the runtime (CRI
// ListContainerStats: containerd reads each container's cgroup, v1 or v2), the node
// from /proc. A sample is taken every SAMPLE_MS; CPU rates (usageNanoCores) are the
// change of the cumulative counters between the last two samples, as cAdvisor and
// containerd compute them.
import { readFileSync, statfsSync } from 'node:fs';
import type { Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import type { PodRuntime, RuntimeContainerStats } from './types.js';
import { errorMessage } from './util.js';

export const SAMPLE_MS = 10_000;
/** USER_HZ: /proc/stat counts CPU time in 1/100 s. */
const CLOCK_TICKS_NS = 10_000_000;

export interface CpuStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds: number;
}

export interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes: number;
  workingSetBytes: number;
  rssBytes: number;
}

interface ContainerSample {
  stats: RuntimeContainerStats;
  nanoCores?: number;
}

interface NodeSample {
  timestamp: number;
  cpuNs: number;
  nanoCores?: number;
  memTotal: number;
  memAvailable: number;
  memFree: number;
}

export interface StatsHost {
  pods(): Pod[];
  podStatus(uid: string): PodStatus | undefined;
}

/** Cumulative CPU (ns) of the whole host from /proc/stat's first line. */
function hostCpuNs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: all but idle and iowait are busy time
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return busy * CLOCK_TICKS_NS;
}

function meminfo(): { total: number; available: number; free: number } {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]) * 1024;
  }
  return { total: out.MemTotal ?? 0, available: out.MemAvailable ?? out.MemFree ?? 0, free: out.MemFree ?? 0 };
}

const iso = (ns: number) => new Date(Math.floor(ns / 1e6)).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class StatsProvider {
  private containers = new Map<string, ContainerSample>();
  private node?: NodeSample;
  private timer?: NodeJS.Timeout;
  private readonly startTime = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  /** whether the last sample of the runtime failed (resource_scrape_error) */
  scrapeError = false;

  constructor(
    private readonly runtime: PodRuntime,
    private readonly host: StatsHost,
    private readonly nodeName: string,
    private readonly rootDir: string,
    private readonly log: (m: string) => void = () => {},
  ) {}

  start(): void {
    const tick = () => {
      void this.sample().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, SAMPLE_MS);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async sample(): Promise<void> {
    const now = Date.now() * 1e6;
    try {
      const cpuNs = hostCpuNs();
      const mem = meminfo();
      const prev = this.node;
      const nanoCores = prev && now > prev.timestamp ? Math.max(0, Math.round(((cpuNs - prev.cpuNs) / (now - prev.timestamp)) * 1e9)) : undefined;
      this.node = { timestamp: now, cpuNs, nanoCores, memTotal: mem.total, memAvailable: mem.available, memFree: mem.free };
    } catch (err) {
      this.log(`node stats: ${errorMessage(err)}`);
    }
    if (!this.runtime.containerStats) return;
    try {
      const list = await this.runtime.containerStats();
      const next = new Map<string, ContainerSample>();
      for (const st of list) {
        if (!st.timestamp) continue;
        const prev = this.containers.get(st.id);
        let nanoCores: number | undefined;
        if (prev && st.timestamp > prev.stats.timestamp) {
          nanoCores = Math.max(0, Math.round(((st.cpuUsageCoreNanoSeconds - prev.stats.cpuUsageCoreNanoSeconds) / (st.timestamp - prev.stats.timestamp)) * 1e9));
        }
        next.set(st.id, { stats: st, nanoCores });
      }
      this.containers = next;
      this.scrapeError = false;
    } catch (err) {
      this.scrapeError = true;
      this.log(`container stats: ${errorMessage(err)}`);
    }
  }

  /** The running containers of the kubelet's pods, grouped by pod uid (container name → sample). */
  private byPod(): Map<string, { pod: Pod; containers: Map<string, ContainerSample> }> {
    const pods = new Map<string, { pod: Pod; containers: Map<string, ContainerSample> }>();
    for (const pod of this.host.pods()) pods.set(pod.metadata!.uid!, { pod, containers: new Map() });
    for (const s of this.containers.values()) {
      const entry = pods.get(s.stats.podUid);
      if (!entry) continue;
      const running = this.runningIds(entry.pod);
      if (!running.has(s.stats.id)) continue;
      entry.containers.set(s.stats.container, s);
    }
    return pods;
  }

  private runningIds(pod: Pod): Set<string> {
    const st = this.host.podStatus(pod.metadata!.uid!) ?? pod.status;
    const out = new Set<string>();
    for (const cs of [...(st?.containerStatuses ?? []), ...(st?.initContainerStatuses ?? []), ...(st?.ephemeralContainerStatuses ?? [])]) {
      if (cs.state?.running && cs.containerID) out.add(cs.containerID.replace(/^\w+:\/\//, ''));
    }
    return out;
  }

  private startedAt(pod: Pod, container: string): string | undefined {
    const st = this.host.podStatus(pod.metadata!.uid!) ?? pod.status;
    const all = [...(st?.containerStatuses ?? []), ...(st?.initContainerStatuses ?? []), ...(st?.ephemeralContainerStatuses ?? [])];
    return all.find((c) => c.name === container)?.state?.running?.startedAt;
  }

  private fsStats(time: string): Record<string, number | string> | undefined {
    try {
      const s = statfsSync(this.rootDir);
      const capacity = s.blocks * s.bsize;
      const available = s.bavail * s.bsize;
      return { time, availableBytes: available, capacityBytes: capacity, usedBytes: capacity - s.bfree * s.bsize, inodesFree: s.ffree, inodes: s.files, inodesUsed: s.files - s.ffree };
    } catch {
      return undefined;
    }
  }

  /** The Summary API's answer (upstream: stats/v1alpha1 Summary). */
  summary(): Record<string, unknown> {
    const n = this.node;
    const nodeTime = iso(n?.timestamp ?? Date.now() * 1e6);
    const node: Record<string, unknown> = { nodeName: this.nodeName, startTime: this.startTime };
    if (n) {
      node.cpu = { time: nodeTime, usageNanoCores: n.nanoCores, usageCoreNanoSeconds: n.cpuNs };
      const usage = n.memTotal - n.memFree;
      node.memory = { time: nodeTime, availableBytes: n.memAvailable, usageBytes: usage, workingSetBytes: n.memTotal - n.memAvailable, rssBytes: n.memTotal - n.memAvailable };
    }
    const fs = this.fsStats(nodeTime);
    if (fs) {
      node.fs = fs;
      node.runtime = { imageFs: fs };
    }
    const pods: unknown[] = [];
    for (const { pod, containers } of this.byPod().values()) {
      const md = pod.metadata!;
      const cs: unknown[] = [];
      let podCpu = 0;
      let podNano: number | undefined;
      let podWs = 0;
      let podUsage = 0;
      let podRss = 0;
      let podRootfs = 0;
      let latest = 0;
      for (const [name, s] of containers) {
        const t = iso(s.stats.timestamp);
        latest = Math.max(latest, s.stats.timestamp);
        podCpu += s.stats.cpuUsageCoreNanoSeconds;
        if (s.nanoCores !== undefined) podNano = (podNano ?? 0) + s.nanoCores;
        podWs += s.stats.workingSetBytes;
        podUsage += s.stats.usageBytes;
        podRss += s.stats.rssBytes;
        podRootfs += s.stats.rootfsUsedBytes ?? 0;
        cs.push({
          name,
          startTime: this.startedAt(pod, name) ?? t,
          cpu: { time: t, usageNanoCores: s.nanoCores, usageCoreNanoSeconds: s.stats.cpuUsageCoreNanoSeconds },
          memory: { time: t, usageBytes: s.stats.usageBytes, workingSetBytes: s.stats.workingSetBytes, rssBytes: s.stats.rssBytes },
          ...(s.stats.rootfsUsedBytes !== undefined ? { rootfs: { time: t, usedBytes: s.stats.rootfsUsedBytes } } : {}),
        });
      }
      const entry: Record<string, unknown> = {
        podRef: { name: md.name, namespace: md.namespace, uid: md.uid },
        startTime: pod.status?.startTime ?? md.creationTimestamp,
        containers: cs,
      };
      if (containers.size > 0) {
        const t = iso(latest);
        entry.cpu = { time: t, usageNanoCores: podNano, usageCoreNanoSeconds: podCpu };
        entry.memory = { time: t, usageBytes: podUsage, workingSetBytes: podWs, rssBytes: podRss };
        entry['ephemeral-storage'] = { time: t, usedBytes: podRootfs };
      }
      pods.push(entry);
    }
    return { node, pods };
  }

  /** /metrics/resource: upstream's resource metrics in the Prometheus text format. */
  resourceMetrics(): string {
    const lines: string[] = [];
    const family = (name: string, help: string, type: string, samples: string[]) => {
      lines.push(`# HELP ${name} [STABLE] ${help}`, `# TYPE ${name} ${type}`, ...samples);
    };
    const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const cpu: string[] = [];
    const mem: string[] = [];
    const start: string[] = [];
    const podCpu: string[] = [];
    const podMem: string[] = [];
    for (const { pod, containers } of this.byPod().values()) {
      if (containers.size === 0) continue;
      const ns = esc(pod.metadata!.namespace ?? '');
      const pn = esc(pod.metadata!.name ?? '');
      let c = 0;
      let m = 0;
      let latest = 0;
      for (const [name, s] of containers) {
        const labels = `{container="${esc(name)}",namespace="${ns}",pod="${pn}"}`;
        const ms = Math.floor(s.stats.timestamp / 1e6);
        latest = Math.max(latest, ms);
        cpu.push(`container_cpu_usage_seconds_total${labels} ${s.stats.cpuUsageCoreNanoSeconds / 1e9} ${ms}`);
        mem.push(`container_memory_working_set_bytes${labels} ${s.stats.workingSetBytes} ${ms}`);
        const started = this.startedAt(pod, name);
        if (started) start.push(`container_start_time_seconds${labels} ${Date.parse(started) / 1000} ${ms}`);
        c += s.stats.cpuUsageCoreNanoSeconds;
        m += s.stats.workingSetBytes;
      }
      podCpu.push(`pod_cpu_usage_seconds_total{namespace="${ns}",pod="${pn}"} ${c / 1e9} ${latest}`);
      podMem.push(`pod_memory_working_set_bytes{namespace="${ns}",pod="${pn}"} ${m} ${latest}`);
    }
    family('container_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the container in core-seconds', 'counter', cpu);
    family('container_memory_working_set_bytes', 'Current working set of the container in bytes', 'gauge', mem);
    family('container_start_time_seconds', 'Start time of the container since unix epoch in seconds', 'gauge', start);
    const n = this.node;
    const nodeMs = n ? Math.floor(n.timestamp / 1e6) : 0;
    family('node_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the node in core-seconds', 'counter', n ? [`node_cpu_usage_seconds_total ${n.cpuNs / 1e9} ${nodeMs}`] : []);
    family('node_memory_working_set_bytes', 'Current working set of the node in bytes', 'gauge', n ? [`node_memory_working_set_bytes ${n.memTotal - n.memAvailable} ${nodeMs}`] : []);
    family('pod_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the pod in core-seconds', 'counter', podCpu);
    family('pod_memory_working_set_bytes', 'Current working set of the pod in bytes', 'gauge', podMem);
    family('resource_scrape_error', '1 if there was an error while getting container metrics, 0 otherwise', 'gauge', [`resource_scrape_error ${this.scrapeError ? 1 : 0}`]);
    return lines.join('\n') + '\n';
  }
}
