// Acceptance: the controllers end to end on a real node (root: containerd + kubelet),
// driven by the real kubectl —
//   (a) the seed 003 story: `kubectl apply` of the article's Deployment + Service; its
//       image `node-app:v1` does not exist, so the pods sit in ErrImagePull /
//       ImagePullBackOff; an image of that name (busybox httpd serving on 8080) is built
//       locally and `kite image load`ed, and the Deployment becomes 3/3 available;
//   (b) a deleted pod of it is replaced (back to 3/3);
//   (c) a node whose kubelet dies: a second, hollow kubelet runs as its own
//       `kite kubelet` process; a Deployment's pods are put on it, then it is killed —
//       the node lifecycle controller marks it Unknown and taints it unreachable, the
//       pods are evicted once their tolerationSeconds (5) run out, and the ReplicaSet
//       replaces them on the real node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, KITE_MAIN, applyYaml, freePort, nodeDirOf, nodeNameOf, run, waitFor, waitForNodeReady } from './harness.js';
import { baseRootfsEntries, buildDockerArchive, DEFAULT_PATH_ENV, IMAGE_EPOCH } from '../../kubelet/images/archive.js';
import { busyboxApplets, findStaticBusybox } from '../../kubelet/images/busybox.js';
import { writeTar, type TarEntry } from '../../kubelet/images/tar.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = isRoot ? false : 'needs root: runs containers';

// dist/test/e2e → test/fixtures/seeds in the source tree.
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'seeds');

/**
 * Seconds of Lease silence before a node is Unknown. Kubelets renew every 10 s, so this
 * must stay well above that or the healthy node flaps.
 */
const GRACE_SECONDS = 15;
const cluster = new Cluster('ctlseed', { KITE_NODE_MONITOR_GRACE_SECONDS: String(GRACE_SECONDS), KITE_NODE_MONITOR_PERIOD_SECONDS: '1' });
let node = '';

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string; ownerReferences?: { kind: string; name: string; uid: string }[] };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; containerStatuses?: { name: string; ready: boolean; state?: { waiting?: { reason?: string }; running?: unknown } }[] };
}

async function podsOf(selector: string): Promise<PodJson[]> {
  return (JSON.parse(await cluster.k(['get', 'pods', '-l', selector, '-o', 'json'])) as { items: PodJson[] }).items;
}

async function deployStatus(name: string): Promise<{ replicas?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number }> {
  return JSON.parse(await cluster.k(['get', 'deploy', name, '-o', 'json'])).status ?? {};
}

const running = (p: PodJson) => !p.metadata.deletionTimestamp && p.status.phase === 'Running' && (p.status.containerStatuses ?? []).every((c) => c.ready);

/** A docker-archive of a busybox image whose default command serves /www over HTTP on 8080. */
function buildNodeAppImage(tag: string, outPath: string): void {
  const busybox = findStaticBusybox();
  if (!busybox) throw new Error('no statically linked busybox: apt-get install busybox-static');
  const m = IMAGE_EPOCH;
  const entries: TarEntry[] = baseRootfsEntries();
  entries.push({ type: 'file', name: 'bin/busybox', data: readFileSync(busybox), mode: 0o755, mtime: m });
  for (const applet of busyboxApplets(busybox)) entries.push({ type: 'symlink', name: `bin/${applet}`, target: 'busybox', mtime: m });
  entries.push(
    { type: 'dir', name: 'www', mode: 0o755, mtime: m },
    { type: 'file', name: 'www/index.html', mode: 0o644, mtime: m, data: Buffer.from('<h1>Hello from node-app v1</h1>\n') },
  );
  const archive = buildDockerArchive({
    repoTags: [tag],
    layers: [writeTar(entries)],
    config: { Cmd: ['httpd', '-f', '-p', '8080', '-h', '/www'], Env: [DEFAULT_PATH_ENV], ExposedPorts: { '8080/tcp': {} } },
    createdBy: ['kite e2e: busybox httpd on 8080'],
  });
  writeFileSync(outPath, archive.tar);
}

describe('controllers on a real node: seed 003, self-healing, lost nodes', { skip }, () => {
  before(async () => {
    await cluster.up();
    node = nodeNameOf(cluster);
    await waitForNodeReady(cluster, 90_000);
  });

  after(async () => {
    await cluster.down();
  });

  test('seed 003: pods wait in ImagePullBackOff until node-app:v1 is loaded, then the Deployment is 3/3', async () => {
    const out = await cluster.k(['apply', '-f', join(fixtures, '003-node-app.yaml')]);
    assert.match(out, /deployment.apps\/node-deployment created/);
    assert.match(out, /service\/node-service created/);

    // Three pods are created and scheduled, and cannot pull their image.
    const pulling = await waitFor(
      'three node-web pods in ErrImagePull/ImagePullBackOff',
      async () => {
        const pods = await podsOf('app=node-web');
        const waiting = pods.filter((p) => ['ErrImagePull', 'ImagePullBackOff'].includes(p.status.containerStatuses?.[0]?.state?.waiting?.reason ?? ''));
        return pods.length === 3 && waiting.length === 3 ? pods : undefined;
      },
      90_000,
      500,
    );
    for (const p of pulling) {
      assert.equal(p.spec.nodeName, node);
      assert.equal(p.status.phase, 'Pending');
    }
    assert.match(await cluster.k(['get', 'deploy', 'node-deployment']), /^node-deployment\s+0\/3\s+3\s+0\s+\S+$/m);
    assert.match(await cluster.k(['get', 'pods', '-l', 'app=node-web']), /\s0\/1\s+(ErrImagePull|ImagePullBackOff)\s/);

    // Build the image locally and load it into the node.
    const tar = join(cluster.home, 'node-app-v1.tar');
    buildNodeAppImage('node-app:v1', tar);
    const load = await run(process.execPath, [KITE_MAIN, 'image', 'load', '--name', cluster.name, tar], { env: cluster.env() });
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: docker\.io\/library\/node-app:v1/);

    const rollout = await cluster.kubectl(['rollout', 'status', 'deployment/node-deployment', '--timeout=180s'], { timeoutMs: 200_000 });
    assert.equal(rollout.code, 0, rollout.stderr + rollout.stdout);
    assert.match(rollout.stdout, /deployment "node-deployment" successfully rolled out/);
    assert.match(await cluster.k(['get', 'deploy', 'node-deployment']), /^node-deployment\s+3\/3\s+3\s+3\s+\S+$/m);
    const st = await deployStatus('node-deployment');
    assert.equal(st.availableReplicas, 3);
    assert.equal(st.updatedReplicas, 3);

    // The pods really serve the page on 8080, and the Service has them as endpoints.
    const pods = (await podsOf('app=node-web')).filter(running);
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.ok(p.status.podIP, `${p.metadata.name} has a pod IP`);
      const body = await waitFor(
        `HTTP from ${p.metadata.name}`,
        async () => {
          const r = await fetch(`http://${p.status.podIP}:8080/`, { signal: AbortSignal.timeout(3000) });
          return r.ok ? r.text() : undefined;
        },
        30_000,
        500,
      );
      assert.match(body, /Hello from node-app v1/);
    }
    await waitFor(
      'node-service endpoints',
      async () => {
        const ep = JSON.parse(await cluster.k(['get', 'endpoints', 'node-service', '-o', 'json']));
        const ips = (ep.subsets ?? []).flatMap((s: any) => (s.addresses ?? []).map((a: any) => a.ip)).sort();
        return ips.length === 3 && ep.subsets[0].ports?.[0]?.port === 8080 ? ips : undefined;
      },
      30_000,
    );
  });

  test('a deleted pod of node-deployment is replaced: back to 3/3', async () => {
    const before = (await podsOf('app=node-web')).filter(running);
    assert.equal(before.length, 3);
    const victim = before[0]!;
    const rs = victim.metadata.ownerReferences?.find((o) => o.kind === 'ReplicaSet');
    assert.ok(rs, 'owned by a ReplicaSet');
    const del = await cluster.k(['delete', 'pod', victim.metadata.name, '--grace-period=1']);
    assert.match(del, new RegExp(`pod "${victim.metadata.name}" deleted`));

    const after = await waitFor(
      'a replacement pod, three running',
      async () => {
        const pods = (await podsOf('app=node-web')).filter(running);
        const names = pods.map((p) => p.metadata.name);
        return pods.length === 3 && !names.includes(victim.metadata.name) ? pods : undefined;
      },
      90_000,
      500,
    );
    const fresh = after.filter((p) => !before.some((b) => b.metadata.name === p.metadata.name));
    assert.equal(fresh.length, 1);
    assert.equal(fresh[0]!.metadata.ownerReferences?.find((o) => o.kind === 'ReplicaSet')?.uid, rs.uid, 'same ReplicaSet');
    await waitFor('3/3 available', async () => (await deployStatus('node-deployment')).availableReplicas === 3, 30_000);
    assert.match(await cluster.k(['get', 'deploy', 'node-deployment']), /^node-deployment\s+3\/3\s+3\s+3\s+\S+$/m);
  });

  describe('a node whose kubelet stops', () => {
    const doomed = 'ctlseed-doomed';
    let kubelet: ChildProcess | undefined;
    let kubeletLog = '';

    after(async () => {
      if (kubelet && kubelet.exitCode === null && kubelet.signalCode === null) kubelet.kill('SIGKILL');
    });

    test('its pods are evicted after their unreachable tolerationSeconds and replaced on another node', async () => {
      // A second node: `kite kubelet` over the hollow runtime, in its own process so it can be killed.
      const real = JSON.parse(readFileSync(join(nodeDirOf(cluster), 'kubelet.json'), 'utf8'));
      const pki = join(cluster.home, cluster.name, 'pki');
      const rootDir = join(cluster.home, 'doomed-kubelet');
      mkdirSync(rootDir, { recursive: true });
      const config = {
        nodeName: doomed,
        apiServer: real.apiServer,
        caFile: join(pki, 'ca.crt'),
        clientCertFile: join(pki, 'admin.crt'),
        clientKeyFile: join(pki, 'admin.key'),
        servingCertFile: real.servingCertFile,
        servingKeyFile: real.servingKeyFile,
        rootDir,
        runtime: 'hollow',
        address: '127.0.0.1',
        port: await freePort(),
        nodeIP: '10.250.99.1',
        podCIDR: '10.199.99.0/24',
        labels: { 'kite-e2e/pool': 'doomed' },
      };
      const configPath = cluster.writeFile('doomed-kubelet.json', JSON.stringify(config));
      kubeletLog = join(cluster.home, 'doomed-kubelet.log');
      const fd = openSync(kubeletLog, 'a');
      kubelet = spawn(process.execPath, [KITE_MAIN, 'kubelet', '--config', configPath], { env: cluster.env(), stdio: ['ignore', fd, fd] });
      closeSync(fd);
      const log = () => readFileSync(kubeletLog, 'utf8');
      await waitFor(
        `node ${doomed} Ready`,
        async () => {
          if (kubelet!.exitCode !== null) throw new Error(`kubelet exited ${kubelet!.exitCode}: ${log()}`);
          const n = JSON.parse(await cluster.k(['get', 'node', doomed, '-o', 'json']));
          return n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
        },
        60_000,
        500,
      ).catch((err) => {
        throw new Error(`${(err as Error).message}\nkubelet log:\n${log()}`);
      });

      await applyYaml(
        cluster,
        'evictee',
        `apiVersion: apps/v1
kind: Deployment
metadata:
  name: evictee
spec:
  replicas: 2
  selector:
    matchLabels: {app: evictee}
  template:
    metadata:
      labels: {app: evictee}
    spec:
      nodeSelector: {kite-e2e/pool: doomed}
      terminationGracePeriodSeconds: 1
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 5}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 5}
      containers:
      - name: app
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["sleep", "3600"]
`,
      );
      const first = await waitFor(
        'two evictee pods running on the doomed node',
        async () => {
          const pods = (await podsOf('app=evictee')).filter(running);
          return pods.length === 2 && pods.every((p) => p.spec.nodeName === doomed) ? pods : undefined;
        },
        60_000,
        500,
      );
      await waitFor('evictee 2/2 available', async () => (await deployStatus('evictee')).availableReplicas === 2, 30_000);

      // Relax the placement (the real node joins the pool), then kill the doomed node's kubelet.
      await cluster.k(['label', 'node', node, 'kite-e2e/pool=doomed']);
      const killedAt = Date.now();
      kubelet.kill('SIGKILL');

      // The node goes Unknown once its Lease is GRACE_SECONDS stale, and is tainted unreachable.
      const lost = await waitFor(
        `${doomed} Unknown and tainted`,
        async () => {
          const n = JSON.parse(await cluster.k(['get', 'node', doomed, '-o', 'json']));
          const ready = n.status?.conditions?.find((c: any) => c.type === 'Ready');
          const tainted = (n.spec?.taints ?? []).some((t: any) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute');
          return ready?.status === 'Unknown' && tainted ? n : undefined;
        },
        (GRACE_SECONDS + 40) * 1000,
        500,
      );
      assert.equal(lost.status.conditions.find((c: any) => c.type === 'Ready').reason, 'NodeStatusUnknown');

      // The pods stay until their 5 s toleration runs out, then are deleted; the ReplicaSet
      // creates replacements, which the scheduler puts on the real node.
      const replaced = await waitFor(
        'evictee pods evicted and replaced on the real node',
        async () => {
          const pods = await podsOf('app=evictee');
          const old = first.map((f) => pods.find((p) => p.metadata.uid === f.metadata.uid));
          const evicted = old.every((p) => p === undefined || p.metadata.deletionTimestamp);
          const live = pods.filter(running);
          return evicted && live.length === 2 && live.every((p) => p.spec.nodeName === node) ? live : undefined;
        },
        90_000,
        500,
      );
      assert.ok(Date.now() - killedAt >= (GRACE_SECONDS + 5) * 1000 - 2000, 'not before grace period + tolerationSeconds');
      for (const p of replaced) assert.ok(!first.some((f) => f.metadata.uid === p.metadata.uid));
      await waitFor('evictee 2/2 available again', async () => (await deployStatus('evictee')).availableReplicas === 2, 30_000);
      const events = JSON.parse(await cluster.k(['get', 'events', '-o', 'json'])).items as { reason: string; involvedObject: { name: string } }[];
      assert.ok(
        events.some((e) => e.reason === 'TaintManagerEviction' && first.some((f) => f.metadata.name === e.involvedObject.name)),
        `a TaintManagerEviction event: ${events.map((e) => e.reason).join(',')}`,
      );
    });
  });
});
