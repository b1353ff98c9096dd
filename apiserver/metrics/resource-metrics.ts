// metrics.k8s.io/v1beta1, built into the API server (upstream serves it from
// metrics-server through aggregation): every SCRAPE_MS each Ready node's kubelet is
// asked for /stats/summary with the API server's kubelet client certificate (the
// kubelet authorizes it as `get nodes/stats`), and the last answer is kept in memory.
// NodeMetrics and PodMetrics are read from there through the request pipeline
// (authorized as `get`/`list` on metrics.k8s.io nodes and pods).
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import type { KubeObject } from '../../machinery/object.js';
import { notFound } from '../../machinery/status.js';
import type { ComputedHandler, RequestPipeline } from '../pipeline.js';
import type { ListOptions, ListResult, Registry } from '../registry.js';
import { parseFieldSelector, parseLabelSelector } from '../selectors.js';

export const SCRAPE_MS = 15_000;
const GROUP_VERSION = 'metrics.k8s.io/v1beta1';
/** Samples older than this are not served (a node that stopped answering). */
const MAX_AGE_MS = 3 * SCRAPE_MS + 30_000;

export interface KubeletClientCredentials {
  caCert: string;
  cert?: string;
  key?: string;
}

interface Usage {
  cpu: string;
  memory: string;
}

interface NodeEntry {
  name: string;
  timestamp: string;
  window: string;
  usage: Usage;
  scrapedAt: number;
}

interface PodEntry {
  namespace: string;
  name: string;
  timestamp: string;
  window: string;
  containers: { name: string; usage: Usage }[];
  scrapedAt: number;
}

interface SummaryCpu {
  time?: string;
  usageNanoCores?: number;
}
interface SummaryMemory {
  time?: string;
  workingSetBytes?: number;
}
interface Summary {
  node?: { nodeName?: string; cpu?: SummaryCpu; memory?: SummaryMemory };
  pods?: { podRef?: { name?: string; namespace?: string }; containers?: { name: string; cpu?: SummaryCpu; memory?: SummaryMemory }[] }[];
}

interface NodeLike {
  metadata?: { name?: string; labels?: Record<string, string>; creationTimestamp?: string };
  status?: { addresses?: { type: string; address: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } }; conditions?: { type: string; status: string }[] };
}

/** Quantities as metrics-server writes them: CPU in nanocores (`123456n`), memory in Ki. */
const cpuQuantity = (nano: number) => `${Math.max(0, Math.round(nano))}n`;
const memQuantity = (bytes: number) => `${Math.max(0, Math.floor(bytes / 1024))}Ki`;

export class ResourceMetrics {
  private nodes = new Map<string, NodeEntry>();
  /** `namespace/name` → pod entry, per node (replaced whole at each scrape of that node) */
  private podsByNode = new Map<string, Map<string, PodEntry>>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Nodes whose last scrape failed, and why. */
  private readonly failing = new Map<string, string>();
  /**
   * The kubelet client credentials, parsed once: handing ca/cert/key to each request
   * would parse the key again for every node at every scrape.
   */
  private readonly tls: SecureContext;

  constructor(
    private readonly registry: Registry,
    client: KubeletClientCredentials,
    private readonly log: (m: string) => void = (m) => console.error(`apiserver: metrics: ${m}`),
  ) {
    this.tls = createSecureContext({ ca: client.caCert, cert: client.cert, key: client.key });
  }

  install(pipeline: RequestPipeline): void {
    const podsHandler: ComputedHandler = { get: (ns, name) => this.getPod(ns, name), list: (ns, opts) => this.listPods(ns, opts) };
    pipeline.handleComputed('metrics.k8s.io/nodes', { get: (_ns, name) => this.getNode(name), list: (_ns, opts) => this.listNodes(opts) });
    pipeline.handleComputed('metrics.k8s.io/pods', podsHandler);
  }

  start(): void {
    const tick = () => {
      void this.scrapeAll().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, SCRAPE_MS);
      });
    };
    // First scrape soon after start (kubelets need one sample interval for CPU rates).
    this.timer = setTimeout(tick, 2000);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  async scrapeAll(): Promise<void> {
    const nodes = this.registry.list(this.registry.resourceOf('', 'v1', 'nodes'), undefined, {}).items as NodeLike[];
    const names = new Set(nodes.map((n) => n.metadata?.name ?? ''));
    for (const name of [...this.nodes.keys()]) if (!names.has(name)) this.nodes.delete(name);
    for (const name of [...this.podsByNode.keys()]) if (!names.has(name)) this.podsByNode.delete(name);
    for (const name of [...this.failing.keys()]) if (!names.has(name)) this.failing.delete(name);
    // Newly failing nodes by reason, and nodes scraped again, logged once per scrape below.
    const newlyFailing = new Map<string, string[]>();
    const recovered: string[] = [];
    await Promise.all(
      nodes.map(async (node) => {
        const name = node.metadata?.name ?? '';
        const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
        if (!ready) return;
        try {
          this.record(name, await this.fetchSummary(node));
          if (this.failing.delete(name)) recovered.push(name);
        } catch (err) {
          // Once per failure streak and reason: a node that cannot be scraped would otherwise
          // log a line every scrape (5,000 lines each 15 s for 5,000 unreachable nodes).
          const message = (err as Error).message;
          if (this.failing.get(name) === message) return;
          this.failing.set(name, message);
          let names = newlyFailing.get(message);
          if (!names) newlyFailing.set(message, (names = []));
          names.push(name);
        }
      }),
    );
    // One line per reason, not per node: 5,000 address-less nodes say so in one line.
    for (const [message, names] of newlyFailing) this.log(`unable to fetch metrics from ${nodeList(names)}: ${message} (logged again only when this changes)`);
    if (recovered.length > 0) this.log(`fetching metrics from ${nodeList(recovered)} again`);
  }

  private fetchSummary(node: NodeLike): Promise<Summary> {
    const addrs = node.status?.addresses ?? [];
    const host = (addrs.find((a) => a.type === 'InternalIP') ?? addrs.find((a) => a.type === 'ExternalIP') ?? addrs.find((a) => a.type === 'Hostname'))?.address;
    if (!host) return Promise.reject(new Error('no address'));
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port || 10250;
    // https.request hands secureContext on to tls.connect (its option types leave it out).
    const options: RequestOptions & Pick<ConnectionOptions, 'secureContext'> = {
      host,
      port,
      path: '/stats/summary?only_cpu_and_memory=true',
      method: 'GET',
      secureContext: this.tls,
      servername: /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host,
      timeout: 10_000,
    };
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        options,
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) return reject(new Error(`request failed, status: ${res.statusCode}: ${body.slice(0, 200)}`));
            try {
              resolve(JSON.parse(body) as Summary);
            } catch (err) {
              reject(err as Error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  private record(nodeName: string, s: Summary): void {
    const now = Date.now();
    const n = s.node;
    if (n?.cpu?.usageNanoCores !== undefined && n.memory?.workingSetBytes !== undefined) {
      this.nodes.set(nodeName, {
        name: nodeName,
        timestamp: n.cpu.time ?? new Date(now).toISOString(),
        window: '10s',
        usage: { cpu: cpuQuantity(n.cpu.usageNanoCores), memory: memQuantity(n.memory.workingSetBytes) },
        scrapedAt: now,
      });
    }
    const pods = new Map<string, PodEntry>();
    for (const p of s.pods ?? []) {
      const ns = p.podRef?.namespace ?? '';
      const name = p.podRef?.name ?? '';
      const containers: PodEntry['containers'] = [];
      let time: string | undefined;
      let complete = (p.containers ?? []).length > 0;
      for (const c of p.containers ?? []) {
        // A container whose CPU rate is not known yet (one sample so far) makes the pod's
        // metrics incomplete; metrics-server leaves such pods out too.
        if (c.cpu?.usageNanoCores === undefined || c.memory?.workingSetBytes === undefined) {
          complete = false;
          continue;
        }
        time ??= c.cpu.time;
        containers.push({ name: c.name, usage: { cpu: cpuQuantity(c.cpu.usageNanoCores), memory: memQuantity(c.memory.workingSetBytes) } });
      }
      if (!complete) continue;
      pods.set(`${ns}/${name}`, { namespace: ns, name, timestamp: time ?? new Date(now).toISOString(), window: '10s', containers, scrapedAt: now });
    }
    this.podsByNode.set(nodeName, pods);
  }

  // ---- serving ---------------------------------------------------------------------------------

  private fresh(e: { scrapedAt: number }): boolean {
    return Date.now() - e.scrapedAt < MAX_AGE_MS;
  }

  private nodeObject(e: NodeEntry, node: NodeLike): KubeObject {
    return {
      kind: 'NodeMetrics',
      apiVersion: GROUP_VERSION,
      metadata: { name: e.name, creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), labels: node.metadata?.labels ?? {} },
      timestamp: e.timestamp,
      window: e.window,
      usage: e.usage,
    } as KubeObject;
  }

  private podObject(e: PodEntry, labels: Record<string, string> | undefined): KubeObject {
    return {
      kind: 'PodMetrics',
      apiVersion: GROUP_VERSION,
      metadata: { name: e.name, namespace: e.namespace, creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), labels: labels ?? {} },
      timestamp: e.timestamp,
      window: e.window,
      containers: e.containers,
    } as KubeObject;
  }

  private rv(): string {
    return '';
  }

  getNode(name: string): KubeObject {
    const e = this.nodes.get(name);
    const node = this.registry.getStored(this.registry.resourceOf('', 'v1', 'nodes'), undefined, name) as NodeLike | undefined;
    if (!e || !node || !this.fresh(e)) throw notFound('metrics.k8s.io', 'nodes', name);
    return this.nodeObject(e, node);
  }

  listNodes(opts: ListOptions): ListResult {
    const labels = parseLabelSelector(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector, (f) => f === 'metadata.name');
    const items: KubeObject[] = [];
    for (const node of this.registry.list(this.registry.resourceOf('', 'v1', 'nodes'), undefined, {}).items as NodeLike[]) {
      const name = node.metadata?.name ?? '';
      const e = this.nodes.get(name);
      if (!e || !this.fresh(e)) continue;
      if (!labels.matcher(node.metadata?.labels ?? {}) || !fields.matcher({ 'metadata.name': name })) continue;
      items.push(this.nodeObject(e, node));
    }
    return { items, resourceVersion: this.rv() };
  }

  private podEntry(namespace: string, name: string): PodEntry | undefined {
    for (const pods of this.podsByNode.values()) {
      const e = pods.get(`${namespace}/${name}`);
      if (e) return e;
    }
    return undefined;
  }

  getPod(namespace: string | undefined, name: string): KubeObject {
    const pod = this.registry.getStored(this.registry.resourceOf('', 'v1', 'pods'), namespace, name) as KubeObject | undefined;
    const e = this.podEntry(namespace ?? '', name);
    if (!pod || !e || !this.fresh(e)) throw notFound('metrics.k8s.io', 'pods', name);
    return this.podObject(e, pod.metadata?.labels);
  }

  listPods(namespace: string | undefined, opts: ListOptions): ListResult {
    const labels = parseLabelSelector(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector, (f) => f === 'metadata.name' || f === 'metadata.namespace');
    const items: KubeObject[] = [];
    for (const pod of this.registry.list(this.registry.resourceOf('', 'v1', 'pods'), namespace, { labelSelector: opts.labelSelector }).items) {
      const md = pod.metadata ?? {};
      const e = this.podEntry(md.namespace ?? '', md.name ?? '');
      if (!e || !this.fresh(e)) continue;
      if (!labels.matcher(md.labels ?? {}) || !fields.matcher({ 'metadata.name': md.name ?? '', 'metadata.namespace': md.namespace ?? '' })) continue;
      items.push(this.podObject(e, md.labels));
    }
    return { items, resourceVersion: this.rv() };
  }
}

/** "node a", or "3 nodes (a, b, c)", or "5000 nodes (a, b, c, …)" for a log line. */
function nodeList(names: string[]): string {
  if (names.length === 1) return `node ${names[0]}`;
  const sorted = [...names].sort();
  return `${sorted.length} nodes (${sorted.slice(0, 3).join(', ')}${sorted.length > 3 ? ', …' : ''})`;
}
