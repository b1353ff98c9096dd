// Integration test of kite's node runtime layer against a real, private
// containerd: images built locally, a pod sandbox with CNI networking, a busybox
// container serving HTTP, logs, exec, and a clean teardown.
//
// Needs root (containerd, mounts, network namespaces). Run after building:
//   npm run test:integration (scripts/test.sh runs it with the other suites)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  cleanupRuntime,
  ensureRuntimePackages,
  mountsUnder,
  startContainerd,
  type RunningContainerd,
} from '../../kubelet/runtime/containerd.js';
import { detectCniVersion } from '../../kubelet/runtime/cni.js';
import { CriClient, type PodSandboxConfig, type Req } from '../../kubelet/cri/client.js';
import { ensureImages } from '../../kubelet/local-node.js';
import { buildBusyboxImage, buildPauseImage, importImage, BUSYBOX_IMAGE, PAUSE_IMAGE } from '../../kubelet/images/index.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = isRoot ? false : 'needs root: runs a private containerd, mounts and network namespaces';

// A CIDR and bridge of the test's own, so a kite node on the same machine (kite0) is not disturbed.
const POD_CIDR = '10.244.254.0/24';
const BRIDGE = 'kitecri0';
const NETWORK = 'kite-cri-test';

function links(): Set<string> {
  return new Set(readdirSync('/sys/class/net'));
}

/** The interfaces enslaved to `bridge` (this test's pods' veths; other clusters on the host have their own bridges). */
function bridgePorts(bridge: string): Set<string> {
  try {
    return new Set(readdirSync(`/sys/class/net/${bridge}/brif`));
  } catch {
    return new Set();
  }
}

function natRulesFor(name: string): string[] {
  try {
    return execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(`name: \\"${name}\\"`) || l.includes(`name: "${name}"`));
  } catch {
    return [];
  }
}

function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function removeCgroup(parent: string): void {
  // The test's pod cgroup parent, in every v1 controller (or the v2 tree).
  const roots = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? ['/sys/fs/cgroup']
    : readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c));
  for (const r of roots) {
    try {
      rmdirSync(join(r, parent));
    } catch {
      // absent or not a hierarchy
    }
  }
}

describe('CRI against a private containerd', { skip }, () => {
  let dir: string;
  let stateDir: string;
  let rt: RunningContainerd | undefined;
  let cri: CriClient;
  const cgroupParent = `/kite-cri-test-${process.pid}`;

  before(async () => {
    await ensureRuntimePackages({ log: (m) => console.log(`# ${m}`) });
    dir = mkdtempSync(join(tmpdir(), 'kite-cri-'));
    stateDir = join(dir, 'node');
    const cniVersion = await detectCniVersion();
    const t0 = performance.now();
    rt = await startContainerd({ stateDir, cni: { podCIDR: POD_CIDR, bridge: BRIDGE, name: NETWORK, cniVersion } });
    console.log(`# containerd up in ${(performance.now() - t0).toFixed(0)} ms (pid ${rt.pid}, CNI ${cniVersion})`);
    cri = new CriClient(rt.socket, { timeoutMs: 60_000 });

    const t1 = performance.now();
    const pause = await buildPauseImage({ outPath: join(dir, 'images', 'pause.tar') });
    const busybox = await buildBusyboxImage(BUSYBOX_IMAGE, { outPath: join(dir, 'images', 'busybox.tar') });
    const t2 = performance.now();
    await importImage(rt.socket, pause.path);
    await importImage(rt.socket, busybox.path);
    console.log(
      `# images built in ${(t2 - t1).toFixed(0)} ms (pause: ${pause.variant}), imported in ${(performance.now() - t2).toFixed(0)} ms`,
    );
  });

  after(async () => {
    const t0 = performance.now();
    cri?.close();
    await rt?.stop();
    const t1 = performance.now();
    if (stateDir) {
      const report = await cleanupRuntime(stateDir, { removeStateDir: true });
      if (report.errors.length) console.log(`# cleanup errors: ${report.errors.join('; ')}`);
    }
    console.log(`# containerd stop ${(t1 - t0).toFixed(0)} ms, final cleanupRuntime ${(performance.now() - t1).toFixed(0)} ms`);
    removeCgroup(cgroupParent);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('runtime is ready and the local images are visible through CRI', async () => {
    const v = await cri.version();
    assert.equal(v.runtimeName, 'containerd');
    assert.equal(v.runtimeApiVersion, 'v1');
    const conds = await cri.conditions();
    assert.equal(conds.RuntimeReady?.status, true);
    assert.equal(conds.NetworkReady?.status, true, `NetworkReady: ${conds.NetworkReady?.message}`);
    const { images } = await cri.listImages();
    const tags = images.flatMap((i) => i.repoTags);
    assert.ok(tags.includes(PAUSE_IMAGE), `pause image listed: ${tags.join(', ')}`);
    assert.ok(tags.includes(BUSYBOX_IMAGE), `busybox image listed: ${tags.join(', ')}`);
    const st = await cri.imageStatus({ image: { image: 'busybox' } });
    assert.ok(st.image?.repoTags.includes(BUSYBOX_IMAGE), 'short name resolves to docker.io/library/busybox:latest');
    const fs = await cri.imageFsInfo();
    assert.ok(fs.imageFilesystems[0]?.fsId?.mountpoint.startsWith(stateDir), 'image filesystem lives in the state dir');
  });

  test('pod sandbox + busybox httpd container: status, logs, exec, pod IP, teardown', async () => {
    const uid = randomUUID();
    const logDirectory = join(dir, 'pods', `default_cri-test_${uid}`);
    const sandboxConfig: Req<PodSandboxConfig> = {
      metadata: { name: 'cri-test', uid, namespace: 'default', attempt: 0 },
      hostname: 'cri-test',
      logDirectory,
      dnsConfig: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
      portMappings: [{ protocol: 'TCP', containerPort: 8080, hostPort: 18080, hostIp: '127.0.0.1' }],
      labels: { 'io.kubernetes.pod.name': 'cri-test', 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': uid },
      linux: {
        cgroupParent,
        securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } },
      },
    };

    const t0 = performance.now();
    const { podSandboxId } = await cri.runPodSandbox({ config: sandboxConfig });
    const podVeths = bridgePorts(BRIDGE);
    const t1 = performance.now();
    const { containerId } = await cri.createContainer({
      podSandboxId,
      sandboxConfig,
      config: {
        metadata: { name: 'web', attempt: 0 },
        image: { image: BUSYBOX_IMAGE },
        command: ['sh', '-c', 'echo hello; httpd -f -p 8080'],
        envs: [{ key: 'KITE', value: 'yes' }],
        logPath: 'web/0.log',
        labels: { 'io.kubernetes.container.name': 'web' },
        linux: {
          resources: { memoryLimitInBytes: 64 * 1024 * 1024, cpuShares: 256 },
          securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } },
        },
      },
    });
    const t2 = performance.now();
    await cri.startContainer({ containerId });
    const t3 = performance.now();
    console.log(
      `# RunPodSandbox ${(t1 - t0).toFixed(0)} ms + CreateContainer ${(t2 - t1).toFixed(0)} ms + StartContainer ${(t3 - t2).toFixed(0)} ms = ${(t3 - t0).toFixed(0)} ms`,
    );

    // Sandbox: ready, with an IP from the pod CIDR.
    const sb = await cri.podSandboxStatus({ podSandboxId, verbose: true });
    assert.equal(sb.status?.state, 'SANDBOX_READY');
    const ip = sb.status?.network?.ip ?? '';
    assert.match(ip, /^10\.244\.254\.\d+$/, `pod IP ${ip} is in ${POD_CIDR}`);
    assert.ok(existsSync(`/sys/class/net/${BRIDGE}`), `bridge ${BRIDGE} exists`);

    // Container: running.
    const cs = await cri.containerStatus({ containerId });
    assert.equal(cs.status?.state, 'CONTAINER_RUNNING');
    assert.equal(cs.status?.logPath, join(logDirectory, 'web', '0.log'));
    const listed = await cri.listContainers({ filter: { podSandboxId } });
    assert.deepEqual(listed.containers.map((c) => c.id), [containerId]);

    // CRI log file: "<RFC3339Nano> stdout F hello".
    const logFile = join(logDirectory, 'web', '0.log');
    const line = await eventually('the hello log line', () => {
      if (!existsSync(logFile)) return undefined;
      return readFileSync(logFile, 'utf8').split('\n').find((l) => l.endsWith(' stdout F hello'));
    });
    assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F hello$/);

    // ExecSync: output and exit codes.
    const ex = await cri.execSync({ containerId, cmd: ['cat', '/etc/hostname'], timeout: 10 });
    assert.equal(ex.exitCode, 0);
    assert.equal(ex.stdout.toString().trim(), 'cri-test');
    const env = await cri.execSync({ containerId, cmd: ['sh', '-c', 'echo $KITE; exit 3'], timeout: 10 });
    assert.equal(env.exitCode, 3);
    assert.equal(env.stdout.toString().trim(), 'yes');
    const resolv = await cri.execSync({ containerId, cmd: ['cat', '/etc/resolv.conf'], timeout: 10 });
    assert.match(resolv.stdout.toString(), /nameserver 10\.96\.0\.10/);

    // The httpd, from the host, at the pod IP (serves the container's root; GET its hostname).
    const res = await eventually('httpd at the pod IP', async () => {
      const r = await httpGet(`http://${ip}:8080/etc/hostname`);
      return r.status === 200 ? r : undefined;
    });
    assert.equal(res.body.trim(), 'cri-test');

    // And through the hostPort (portmap DNAT on 127.0.0.1:18080), when the kernel routes it.
    try {
      const viaHostPort = await eventually('httpd via hostPort', async () => {
        const r = await httpGet('http://127.0.0.1:18080/etc/hostname', 1000);
        return r.status === 200 ? r : undefined;
      }, 5000);
      assert.equal(viaHostPort.body.trim(), 'cri-test');
      console.log('# hostPort 127.0.0.1:18080 -> pod:8080 works');
    } catch (err) {
      console.log(`# hostPort via 127.0.0.1 not reachable here (${String(err)})`);
    }

    // Teardown through CRI.
    const s0 = performance.now();
    await cri.stopContainer({ containerId, timeout: 1 });
    const stopped = await cri.containerStatus({ containerId });
    assert.equal(stopped.status?.state, 'CONTAINER_EXITED');
    await cri.removeContainer({ containerId });
    await cri.stopPodSandbox({ podSandboxId });
    await cri.removePodSandbox({ podSandboxId });
    console.log(`# Stop+Remove container and sandbox: ${(performance.now() - s0).toFixed(0)} ms`);
    assert.deepEqual((await cri.listContainers({})).containers, []);
    assert.deepEqual((await cri.listPodSandbox({})).items, []);

    // Nothing left: no netns, no veth, no per-pod NAT rules, no container mounts.
    const netnsDir = join(stateDir, 'state', 'netns');
    assert.deepEqual(existsSync(netnsDir) ? readdirSync(netnsDir) : [], [], 'no network namespaces left');
    assert.ok(podVeths.size > 0, 'the pod had a veth on the bridge');
    const extra = [...links()].filter((l) => podVeths.has(l));
    assert.deepEqual(extra, [], 'no veth interfaces left');
    assert.deepEqual(natRulesFor(NETWORK), [], 'no CNI NAT rules left');
    const leftMounts = mountsUnder(stateDir).filter((m) => m.includes('/rootfs') || m.includes('/shm') || m.includes('/netns'));
    assert.deepEqual(leftMounts, [], 'no rootfs/shm/netns mounts left');
  });

  test("a node's images come from the machine's archive cache, built into it once", async () => {
    assert.ok(rt);
    const cacheDir = join(dir, 'image-cache');
    const nodeImages = join(dir, 'node-images');
    const removeBoth = async () => {
      for (const image of [PAUSE_IMAGE, BUSYBOX_IMAGE]) await cri.removeImage({ image: { image } });
      for (const image of [PAUSE_IMAGE, BUSYBOX_IMAGE]) assert.ok(!(await cri.imageStatus({ image: { image } })).image, `${image} removed`);
    };
    const imported: string[] = [];
    await removeBoth();
    await ensureImages(rt.socket, nodeImages, (m) => imported.push(m), cacheDir);
    assert.deepEqual(imported.sort(), [`imported ${BUSYBOX_IMAGE}`, `imported ${PAUSE_IMAGE}`]);
    const cached = readdirSync(cacheDir).sort();
    assert.equal(cached.length, 2, `two archives cached: ${cached.join(', ')}`);
    assert.match(cached[0]!, /^busybox-[0-9a-f]{32}\.tar$/);
    assert.match(cached[1]!, /^pause-[0-9a-f]{32}\.tar$/);
    assert.ok(!existsSync(nodeImages), 'nothing built into the node directory');
    const mtimes = cached.map((f) => statSync(join(cacheDir, f)).mtimeMs);
    // Another node on this machine: the same archives, not built again.
    await removeBoth();
    await ensureImages(rt.socket, nodeImages, () => undefined, cacheDir);
    assert.deepEqual(readdirSync(cacheDir).sort(), cached);
    assert.deepEqual(cached.map((f) => statSync(join(cacheDir, f)).mtimeMs), mtimes, 'the cached archives were reused');
    for (const image of [PAUSE_IMAGE, BUSYBOX_IMAGE]) assert.ok((await cri.imageStatus({ image: { image } })).image, `${image} is back`);
  });

  test('cleanupRuntime removes pods left behind by a stopped containerd', async () => {
    assert.ok(rt);
    const uid = randomUUID();
    const sandboxConfig: Req<PodSandboxConfig> = {
      metadata: { name: 'leftover', uid, namespace: 'default', attempt: 0 },
      hostname: 'leftover',
      logDirectory: join(dir, 'pods', `default_leftover_${uid}`),
      linux: { cgroupParent },
    };
    const { podSandboxId } = await cri.runPodSandbox({ config: sandboxConfig });
    const { containerId } = await cri.createContainer({
      podSandboxId,
      sandboxConfig,
      config: { metadata: { name: 'sleep', attempt: 0 }, image: { image: BUSYBOX_IMAGE }, command: ['sleep', '3600'], logPath: 'sleep/0.log' },
    });
    await cri.startContainer({ containerId });
    const ip = (await cri.podSandboxStatus({ podSandboxId })).status?.network?.ip;
    assert.ok(ip);

    // The daemon goes away; its shims and containers do not.
    cri.close();
    await rt.stop();
    rt = undefined;
    assert.ok(mountsUnder(stateDir).length > 0, 'containers still mounted after containerd stopped');
    const ourVeths = bridgePorts(BRIDGE);
    assert.ok(ourVeths.size > 0, 'the pod has a veth on the bridge');

    const report = await cleanupRuntime(stateDir);
    assert.deepEqual(report.errors, []);
    assert.ok(report.containers.includes(containerId), 'container removed through CRI');
    assert.ok(report.sandboxes.includes(podSandboxId), 'sandbox removed through CRI');
    assert.equal(report.bridge, BRIDGE);
    assert.deepEqual(mountsUnder(stateDir), [], 'no mounts left under the state dir');
    assert.ok(!existsSync(`/sys/class/net/${BRIDGE}`), 'bridge removed');
    const extra = [...links()].filter((l) => ourVeths.has(l));
    assert.deepEqual(extra, [], 'no interfaces left');
    assert.deepEqual(natRulesFor(NETWORK), [], 'no CNI NAT rules left');
    assert.ok(!existsSync(join(stateDir, 'containerd.pid')), 'no containerd left for the state dir');
  });
});
