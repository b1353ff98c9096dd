// Pod start benchmark (needs root): brings up a real cluster with `kite up`, then
//   - `kite up` time until the node reports Ready,
//   - pod start latency p50/p99 for N pods created at once (POST → Running and Ready,
//     observed through a watch), busybox `sleep`, IfNotPresent,
//   - the raw containerd figure measured in the same run against the same
//     containerd: RunPodSandbox + CreateContainer + StartContainer for N sandboxes
//     started at once through CRI (no API server, no kubelet),
//   - the idle RSS of every kite process (server, kubelet) and of containerd + shims.
//
//   node dist/bench/pod-start.js [--pods 50]
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { HttpTransport } from '../client/http-transport.js';
import { resourceByPath } from '../machinery/resources.js';
import { CriClient } from '../kubelet/cri/client.js';
import { BUSYBOX_IMAGE } from '../kubelet/images/busybox.js';
import { freePort } from '../test/e2e/harness.js';

const run = promisify(execFile);
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const PODS = Number(args.get('pods') ?? 50);

const here = dirname(fileURLToPath(import.meta.url));
const KITE_MAIN = join(here, '..', 'cli', 'main.js');
const PODS_RES = resourceByPath('', 'v1', 'pods')!;
const NODES_RES = resourceByPath('', 'v1', 'nodes')!;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function processesMatching(pred: (args: string[]) => boolean): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const a = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (a.length && pred(a)) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

const fmt = (ms: number) => `${ms.toFixed(0)} ms`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (runs containers)');
  const home = mkdtempSync(join(tmpdir(), 'kite-bench-pods-'));
  const env = { ...process.env, KITE_HOME: home, KUBECONFIG: join(home, 'user-kubeconfig'), HOME: home };
  const name = 'podbench';
  const clusterDir = join(home, name);
  let transport: HttpTransport | undefined;
  try {
    // ---- kite up → node Ready
    const port = await freePort();
    const t0 = performance.now();
    await run(process.execPath, [KITE_MAIN, 'up', '--name', name, '--api-port', String(port)], { env });
    const tApi = performance.now() - t0;
    const pki = join(clusterDir, 'pki');
    transport = new HttpTransport(
      {
        server: `https://127.0.0.1:${port}`,
        caData: readFileSync(join(pki, 'ca.crt'), 'utf8'),
        certData: readFileSync(join(pki, 'admin.crt'), 'utf8'),
        keyData: readFileSync(join(pki, 'admin.key'), 'utf8'),
      },
      { component: 'bench' },
    );
    const nodeName = `${name}-control-plane`;
    for (;;) {
      try {
        const n = await transport.get<Node>(NODES_RES, undefined, nodeName);
        if (n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) break;
      } catch {
        // not registered yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const tReady = performance.now() - t0;

    // ---- N pods at once through the API
    const created = new Map<string, number>();
    const running = new Map<string, number>();
    let resolveAll!: () => void;
    const allRunning = new Promise<void>((r) => (resolveAll = r));
    const watch = transport.watch<Pod>(PODS_RES, 'default', { labelSelector: 'bench=pod-start' }, (ev) => {
      const p = ev.object;
      const n = p.metadata?.name ?? '';
      const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (p.status?.phase === 'Running' && ready && !running.has(n) && created.has(n)) {
        running.set(n, performance.now());
        if (running.size === PODS) resolveAll();
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    const tPods = performance.now();
    await Promise.all(
      Array.from({ length: PODS }, async (_, i) => {
        const podName = `bench-${i}`;
        created.set(podName, performance.now());
        await transport!.create<Pod>(PODS_RES, 'default', {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: podName, labels: { bench: 'pod-start' } },
          spec: {
            nodeName,
            terminationGracePeriodSeconds: 0,
            containers: [{ name: 'c', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
          },
        });
      }),
    );
    const timeout = setTimeout(() => resolveAll(), 300_000);
    await allRunning;
    clearTimeout(timeout);
    const podAll = performance.now() - tPods;
    watch.stop();
    const lat = [...running].map(([n, t]) => t - created.get(n)!).sort((a, b) => a - b);

    // ---- one pod at a time (no contention): POST → Running+Ready
    const serial: number[] = [];
    for (let i = 0; i < Math.min(PODS, 20); i++) {
      const podName = `serial-${i}`;
      const t = performance.now();
      let done!: () => void;
      const seen = new Promise<void>((r) => (done = r));
      const w = transport.watch<Pod>(PODS_RES, 'default', { fieldSelector: `metadata.name=${podName}` }, (ev) => {
        const ready = ev.object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        if (ready) done();
      });
      await transport.create<Pod>(PODS_RES, 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: podName, labels: { bench: 'serial' } },
        spec: { nodeName, terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
      });
      await seen;
      serial.push(performance.now() - t);
      w.stop();
    }
    serial.sort((a, b) => a - b);
    const rawSerial: number[] = [];

    // ---- idle RSS with the pods running
    await new Promise((r) => setTimeout(r, 5000));
    const serverPid = Number(readFileSync(join(clusterDir, 'server.pid'), 'utf8'));
    const kubeletPid = Number(readFileSync(join(clusterDir, 'node', 'kubelet.pid'), 'utf8'));
    const meta = JSON.parse(readFileSync(join(clusterDir, 'node', 'containerd', 'runtime.json'), 'utf8'));
    const containerdPids = processesMatching((a) => a.some((x) => x.includes(join(clusterDir, 'node', 'containerd', 'config.toml'))));
    const shimPids = processesMatching((a) => a[0]!.includes('containerd-shim') && a.includes(meta.socket));
    const rssBusy = { server: rssKiB(serverPid), kubelet: rssKiB(kubeletPid), shims: shimPids.reduce((a, p) => a + rssKiB(p), 0) };

    // ---- delete the pods, then raw CRI starts on the same containerd
    await Promise.all(Array.from({ length: PODS }, (_, i) => transport!.delete(PODS_RES, 'default', `bench-${i}`, { gracePeriodSeconds: 0 }).catch(() => undefined)));
    await Promise.all(Array.from({ length: Math.min(PODS, 20) }, (_, i) => transport!.delete(PODS_RES, 'default', `serial-${i}`, { gracePeriodSeconds: 0 }).catch(() => undefined)));
    const cri = new CriClient(meta.socket);
    for (;;) {
      const { items } = await cri.listPodSandbox({});
      if (!items.some((s) => s.labels['io.kubernetes.pod.uid'])) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const kubeletCfg = JSON.parse(readFileSync(join(clusterDir, 'node', 'kubelet.json'), 'utf8'));
    const logDir = join(clusterDir, 'node', 'raw-logs');
    const rawLat: number[] = [];
    const rawIds: string[] = [];
    const tRaw = performance.now();
    await Promise.all(
      Array.from({ length: PODS }, async (_, i) => {
        const t = performance.now();
        const config = {
          metadata: { name: `raw-${i}`, uid: `raw-${i}-${process.pid}`, namespace: 'bench', attempt: 0 },
          hostname: `raw-${i}`,
          logDirectory: join(logDir, String(i)),
          linux: { cgroupParent: kubeletCfg.cgroupRoot ? `${kubeletCfg.cgroupRoot}/raw-${i}` : '' },
        };
        const { podSandboxId } = await cri.runPodSandbox({ config });
        rawIds.push(podSandboxId);
        const { containerId } = await cri.createContainer({
          podSandboxId,
          config: { metadata: { name: 'c' }, image: { image: BUSYBOX_IMAGE }, command: ['sleep', '3600'], logPath: 'c.log' },
          sandboxConfig: config,
        });
        await cri.startContainer({ containerId });
        rawLat.push(performance.now() - t);
      }),
    );
    const rawAll = performance.now() - tRaw;
    rawLat.sort((a, b) => a - b);
    for (let i = 0; i < Math.min(PODS, 20); i++) {
      const t = performance.now();
      const config = {
        metadata: { name: `raws-${i}`, uid: `raws-${i}-${process.pid}`, namespace: 'bench', attempt: 0 },
        hostname: `raws-${i}`,
        logDirectory: join(logDir, `s${i}`),
        linux: { cgroupParent: kubeletCfg.cgroupRoot ? `${kubeletCfg.cgroupRoot}/raws-${i}` : '' },
      };
      const { podSandboxId } = await cri.runPodSandbox({ config });
      rawIds.push(podSandboxId);
      const { containerId } = await cri.createContainer({
        podSandboxId,
        config: { metadata: { name: 'c' }, image: { image: BUSYBOX_IMAGE }, command: ['sleep', '3600'], logPath: 'c.log' },
        sandboxConfig: config,
      });
      await cri.startContainer({ containerId });
      rawSerial.push(performance.now() - t);
    }
    rawSerial.sort((a, b) => a - b);
    for (const id of rawIds) {
      await cri.stopPodSandbox({ podSandboxId: id }).catch(() => undefined);
      await cri.removePodSandbox({ podSandboxId: id }).catch(() => undefined);
    }
    cri.close();

    // ---- idle RSS without pods
    await new Promise((r) => setTimeout(r, 5000));
    const rss = { server: rssKiB(serverPid), kubelet: rssKiB(kubeletPid), containerd: containerdPids.reduce((a, p) => a + rssKiB(p), 0) };
    const mb = (k: number) => `${(k / 1024).toFixed(1)} MiB`;

    console.log(`kite up (API ready):                 ${fmt(tApi)}`);
    console.log(`kite up to a Ready node:             ${fmt(tReady)}`);
    console.log(`pod start latency, ${PODS} pods at once (POST → Running+Ready, via watch):`);
    console.log(`  p50 ${fmt(percentile(lat, 50))}   p99 ${fmt(percentile(lat, 99))}   all ${PODS} in ${fmt(podAll)}`);
    console.log(`raw containerd (RunPodSandbox+Create+Start, ${PODS} at once, same containerd):`);
    console.log(`  p50 ${fmt(percentile(rawLat, 50))}   p99 ${fmt(percentile(rawLat, 99))}   all ${PODS} in ${fmt(rawAll)}`);
    const ns = Math.min(PODS, 20);
    console.log(`one pod at a time (${ns} pods): kite p50 ${fmt(percentile(serial, 50))} p99 ${fmt(percentile(serial, 99))}; raw containerd p50 ${fmt(percentile(rawSerial, 50))} p99 ${fmt(percentile(rawSerial, 99))}`);
    console.log(`idle RSS, ${PODS} pods running: kite server ${mb(rssBusy.server)}, kubelet ${mb(rssBusy.kubelet)}; shims ${mb(rssBusy.shims)} (${shimPids.length})`);
    console.log(`idle RSS, no pods: kite server ${mb(rss.server)} + kubelet ${mb(rss.kubelet)} = kite ${mb(rss.server + rss.kubelet)}; containerd ${mb(rss.containerd)}`);
  } finally {
    transport?.close();
    await run(process.execPath, [KITE_MAIN, 'down', '--name', name, '--purge'], { env }).catch((err) => console.error(`kite down: ${err}`));
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
