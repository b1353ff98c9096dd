// Acceptance: a node joining from another machine (`kite token`, `kite join`), driven by
// the real kubectl. The other machine is a network namespace of its own with an address
// on a different subnet (a veth pair to the host, not the cluster's underlay bridge),
// which reaches the control plane at the host's address as a machine on the LAN would.
// The join runs there under `nsenter --net` (`ip netns exec` would remount /sys and hide
// the cgroup filesystem from runc). Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Cluster, KITE_MAIN, KUBECTL_DIR, applyYaml, run, waitFor } from './harness.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = isRoot ? false : 'needs root: runs containers and programs the kernel';

const suffix = Math.random().toString(36).slice(2, 7);
const cluster = new Cluster(`jn${suffix}`, {
  // A stopped node is noticed quickly.
  KITE_NODE_MONITOR_GRACE_SECONDS: '12',
  KITE_NODE_MONITOR_PERIOD_SECONDS: '2',
});
const machine = `${cluster.name}-m2`;
const netns = `kj${suffix}`;
const hostVeth = `kjh${suffix}`;
// A /30-ish corner of 172.31.0.0/16 picked per run; the machine is .2, the host .1.
const third = 200 + Math.floor(Math.random() * 50);
const hostIP = `172.31.${third}.1`;
const machineIP = `172.31.${third}.2`;

let joinProc: ChildProcess | undefined;
let joinExited: Promise<number> | undefined;

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `kite join` from the other machine (its network namespace). */
function joinArgs(server: string, token: string, hash: string): string[] {
  return [`--net=/run/netns/${netns}`, process.execPath, KITE_MAIN, 'join', '--server', server, '--token', token, '--ca-cert-hash', hash, '--name', machine, '--data-dir', join(cluster.home, 'm2')];
}

async function json(args: string[]): Promise<any> {
  return JSON.parse(await cluster.k([...args, '-o', 'json']));
}

async function fetchFrom(pod: string, url: string): Promise<string> {
  const r = await cluster.kubectl(['exec', pod, '--', 'wget', '-qO-', url], { timeoutMs: 20_000 });
  return r.code === 0 ? r.stdout.trim() : `ERR ${r.code} ${r.stderr.trim()}`;
}

/** The printed join command's parts. */
function parseJoin(line: string): { server: string; token: string; hash: string } {
  const m = /^kite join --server (\S+) --token (\S+) --ca-cert-hash (sha256:[0-9a-f]{64})$/.exec(line.trim());
  assert.ok(m, `unexpected join command: ${line}`);
  return { server: m[1], token: m[2], hash: m[3] };
}

describe('a node joining from another machine', { skip, timeout: 900_000 }, () => {
  before(async () => {
    await cluster.up();
    await must('ip', ['netns', 'add', netns]);
    await must('ip', ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    await must('ip', ['addr', 'add', `${hostIP}/24`, 'dev', hostVeth]);
    await must('ip', ['link', 'set', hostVeth, 'up']);
    await must('ip', ['-n', netns, 'addr', 'add', `${machineIP}/24`, 'dev', 'eth0']);
    await must('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    await must('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    await must('ip', ['-n', netns, 'route', 'add', 'default', 'via', hostIP]);
  });

  after(async () => {
    if (joinProc && joinProc.exitCode === null) {
      joinProc.kill('SIGTERM');
      await Promise.race([joinExited, new Promise((r) => setTimeout(r, 60_000))]);
    }
    await run('ip', ['link', 'del', hostVeth]);
    await run('ip', ['netns', 'del', netns]);
    await cluster.down();
  });

  test('kite token create, list and delete: Secrets of type bootstrap.kubernetes.io/token in kube-system', async () => {
    const created = await cluster.kite(['token', 'create', '--name', cluster.name, '--ttl', '2h', '--description', 'for the test']);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const id = token.split('.')[0];
    const secret = await json(['get', 'secret', '-n', 'kube-system', `bootstrap-token-${id}`]);
    assert.equal(secret.type, 'bootstrap.kubernetes.io/token');
    const data = (k: string) => Buffer.from(secret.data[k] ?? '', 'base64').toString();
    assert.equal(data('token-id'), id);
    assert.equal(data('token-secret'), token.split('.')[1]);
    assert.equal(data('usage-bootstrap-authentication'), 'true');
    assert.equal(data('auth-extra-groups'), 'system:bootstrappers:kubeadm:default-node-token');
    const expires = Date.parse(data('expiration'));
    assert.ok(expires > Date.now() + 3600_000 && expires <= Date.now() + 7200_000, data('expiration'));

    const listed = await cluster.kite(['token', 'list', '--name', cluster.name]);
    assert.equal(listed.code, 0, listed.stderr);
    const row = listed.stdout.split('\n').find((l) => l.startsWith(token));
    assert.ok(row, listed.stdout);
    assert.match(row, /authentication,signing\s+for the test\s+system:bootstrappers:kubeadm:default-node-token/);

    // The token authenticates as system:bootstrap:<id> in system:bootstrappers.
    const whoami = await run(join(KUBECTL_DIR, 'kubectl.1.33'), [
      '--kubeconfig', '/dev/null', '--server', `https://127.0.0.1:${cluster.port}`, '--certificate-authority', join(cluster.home, cluster.name, 'pki', 'ca.crt'), '--token', token,
      'auth', 'whoami', '-o', 'json',
    ], { env: cluster.env() });
    assert.equal(whoami.code, 0, whoami.stderr);
    const userInfo = JSON.parse(whoami.stdout).status.userInfo;
    assert.equal(userInfo.username, `system:bootstrap:${id}`);
    assert.deepEqual(userInfo.groups, ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token', 'system:authenticated']);

    const deleted = await cluster.kite(['token', 'delete', '--name', cluster.name, id]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, new RegExp(`bootstrap token "${id}" deleted`));
    const after = await cluster.kite(['token', 'list', '--name', cluster.name]);
    assert.ok(!after.stdout.includes(token), after.stdout);
    const again = await cluster.kite(['token', 'delete', '--name', cluster.name, id]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /not found/);
  });

  test('cluster-info is readable anonymously (that path only), signed per token', async () => {
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const r = httpsRequest({ host: '127.0.0.1', port: cluster.port, path, rejectUnauthorized: false }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
        });
        r.on('error', reject);
        r.end();
      });
    const token = (await cluster.kite(['token', 'create', '--name', cluster.name])).stdout.trim();
    const info = await waitFor(
      'a signature for the new token',
      async () => {
        const r = await get('/api/v1/namespaces/kube-public/configmaps/cluster-info');
        assert.equal(r.status, 200, r.body);
        const data = JSON.parse(r.body).data;
        return data[`jws-kubeconfig-${token.split('.')[0]}`] ? data : undefined;
      },
      30_000,
      300,
    );
    assert.match(info.kubeconfig, /certificate-authority-data: /);
    assert.equal((await get('/api/v1/namespaces/kube-public/configmaps')).status, 401);
    assert.equal((await get('/api/v1/namespaces/kube-system/configmaps/cluster-info')).status, 401);
  });

  test('an expired token is refused and removed by the token cleaner', async () => {
    const created = await cluster.kite(['token', 'create', '--name', cluster.name, '--ttl', '2s']);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    const id = token.split('.')[0];
    await waitFor(
      'the expired token to be deleted',
      async () => {
        const r = await cluster.kubectl(['get', 'secret', '-n', 'kube-system', `bootstrap-token-${id}`]);
        return r.code !== 0 && /NotFound/.test(r.stderr) ? true : undefined;
      },
      30_000,
      500,
    );
  });

  test('kite join with a wrong CA hash fails and says the CA is not pinned', async () => {
    const line = (await cluster.kite(['token', 'create', '--name', cluster.name, '--print-join-command'])).stdout;
    const { server, token, hash } = parseJoin(line);
    const wrong = `sha256:${hash.slice(7).split('').reverse().join('')}`;
    const r = await run('nsenter', joinArgs(server, token, wrong), { env: cluster.env(), timeoutMs: 60_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "sha256:[0-9a-f]{64}" are pinned/);
    const nodes = await json(['get', 'nodes']);
    assert.ok(!nodes.items.some((n: any) => n.metadata.name === machine));
  });

  test('kite join with a good token: the node is Ready with a client certificate issued through an approved CSR', async () => {
    const line = (await cluster.kite(['token', 'create', '--name', cluster.name, '--print-join-command'])).stdout;
    const { server, token } = parseJoin(line);
    const hash = parseJoin(line).hash;
    // The machine reaches the control plane at the host's own address, not the underlay.
    assert.ok(!server.includes('127.0.0.1'), server);
    const logPath = join(cluster.home, 'join.log');
    const out = openSync(logPath, 'a');
    joinProc = spawn('nsenter', joinArgs(server, token, hash), { env: cluster.env(), stdio: ['ignore', out, out] });
    joinExited = new Promise((r) => joinProc!.once('exit', (c) => r(c ?? -1)));
    const node = await waitFor(
      `node ${machine} Ready`,
      async () => {
        if (joinProc!.exitCode !== null) throw new Error(`kite join exited (${joinProc!.exitCode}):\n${readFileSync(logPath, 'utf8')}`);
        const r = await cluster.kubectl(['get', 'node', machine, '-o', 'json']);
        if (r.code !== 0) return undefined;
        const n = JSON.parse(r.stdout);
        return n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
      },
      240_000,
      1000,
    );
    assert.equal(node.status.addresses.find((a: any) => a.type === 'InternalIP').address, machineIP);
    const csrs = (await json(['get', 'csr'])).items;
    const client = csrs.find((c: any) => c.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet' && c.spec.username === `system:bootstrap:${token.split('.')[0]}`);
    assert.ok(client, JSON.stringify(csrs.map((c: any) => [c.metadata.name, c.spec.signerName, c.spec.username])));
    assert.ok(client.spec.groups.includes('system:bootstrappers'));
    const approved = client.status.conditions.find((c: any) => c.type === 'Approved');
    assert.equal(approved?.reason, 'AutoApproved');
    assert.ok(client.status.certificate);
    const table = await cluster.k(['get', 'csr', client.metadata.name]);
    assert.match(table, /Approved,Issued/);
    // The certificate the node runs with is the one the CSR was issued.
    const issued = Buffer.from(client.status.certificate, 'base64').toString();
    assert.equal(readFileSync(join(cluster.home, 'm2', 'pki', 'kubelet-client.crt'), 'utf8').trim(), issued.trim());
  });

  test("a pod on the joined node runs and is reached from the first node's pod by pod IP and ClusterIP", async () => {
    await applyYaml(
      cluster,
      'far',
      `apiVersion: v1
kind: Pod
metadata: {name: far, labels: {app: far}}
spec:
  nodeName: ${machine}
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo hello-from-far > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: near}
spec:
  nodeName: ${cluster.name}-control-plane
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
---
apiVersion: v1
kind: Service
metadata: {name: far}
spec:
  selector: {app: far}
  ports: [{port: 80, targetPort: 8080}]
`,
    );
    await cluster.k(['wait', '--for=condition=Ready', 'pod/far', 'pod/near', '--timeout=180s'], { timeoutMs: 200_000 });
    const far = await json(['get', 'pod', 'far']);
    assert.equal(far.spec.nodeName, machine);
    const joined = await json(['get', 'node', machine]);
    // The pod's address is from the joined node's pod CIDR.
    const prefix = joined.spec.podCIDR.split('.').slice(0, 3).join('.') + '.';
    assert.ok(far.status.podIP.startsWith(prefix), `${far.status.podIP} not in ${joined.spec.podCIDR}`);
    // The pod network is VXLAN (kite up's default): both nodes announce a VTEP as flannel
    // does, and the host reaches the joined node's pods through its VXLAN device.
    for (const n of [joined, await json(['get', 'node', `${cluster.name}-control-plane`])]) {
      assert.equal(n.metadata.annotations['flannel.alpha.coreos.com/backend-type'], 'vxlan');
      assert.match(JSON.parse(n.metadata.annotations['flannel.alpha.coreos.com/backend-data']).VtepMAC, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    }
    assert.equal(joined.metadata.annotations['flannel.alpha.coreos.com/public-ip'], machineIP);
    assert.match(await must('ip', ['route', 'get', far.status.podIP]), / dev kvx\d+ /);
    assert.equal(await waitFor('pod IP across machines', async () => ((await fetchFrom('near', `http://${far.status.podIP}:8080/`)) === 'hello-from-far' ? 'hello-from-far' : undefined), 60_000, 1000), 'hello-from-far');
    assert.equal(await waitFor('ClusterIP across machines', async () => ((await fetchFrom('near', 'http://far.default.svc.cluster.local/')) === 'hello-from-far' ? 'hello-from-far' : undefined), 60_000, 1000), 'hello-from-far');
    // And from the joined node's side: its own proxy and the cluster DNS (the FQDN: the
    // bare name is the pod's own hostname in its /etc/hosts).
    assert.equal(await fetchFrom('far', 'http://far.default.svc.cluster.local/'), 'hello-from-far');
    // Logs and exec reach the joined kubelet (its serving certificate came from a CSR too).
    assert.equal((await cluster.kubectl(['logs', 'far'])).code, 0);
  });

  test('kite node stop: the worker goes NotReady and keeps its Node; kite node start: Ready again', async () => {
    const worker = `${cluster.name}-worker`;
    const added = await cluster.kite(['node', 'add', '--name', cluster.name]);
    assert.equal(added.code, 0, added.stderr);
    const stopped = await cluster.kite(['node', 'stop', '--name', cluster.name, worker]);
    assert.equal(stopped.code, 0, stopped.stderr);
    const node = await json(['get', 'node', worker]);
    assert.notEqual(node.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    const again = await cluster.kite(['node', 'stop', '--name', cluster.name, worker]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already stopped/);
    const started = await cluster.kite(['node', 'start', '--name', cluster.name, worker]);
    assert.equal(started.code, 0, started.stderr);
    const ready = await json(['get', 'node', worker]);
    assert.equal(ready.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
    assert.equal(ready.metadata.uid, node.metadata.uid, 'the same Node object');
    const controlPlane = await cluster.kite(['node', 'stop', '--name', cluster.name, `${cluster.name}-control-plane`]);
    assert.notEqual(controlPlane.code, 0);
  });

  test('kite token delete, then a join with that token fails with 401', async () => {
    const line = (await cluster.kite(['token', 'create', '--name', cluster.name, '--print-join-command'])).stdout;
    const { server, token, hash } = parseJoin(line);
    const del = await cluster.kite(['token', 'delete', '--name', cluster.name, token]);
    assert.equal(del.code, 0, del.stderr);
    const r = await run('nsenter', [...joinArgs(server, token, hash).slice(0, -2), '--data-dir', join(cluster.home, 'm3')], { env: cluster.env(), timeoutMs: 60_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /401 Unauthorized/);

    // The machine that joined keeps its identity: stopped and started again (its token
    // gone), it runs as the same node.
    joinProc!.kill('SIGTERM');
    assert.equal(await joinExited, 0);
    const logPath = join(cluster.home, 'rejoin.log');
    const out = openSync(logPath, 'a');
    joinProc = spawn('nsenter', joinArgs(server, token, hash), { env: cluster.env(), stdio: ['ignore', out, out] });
    joinExited = new Promise((r) => joinProc!.once('exit', (c) => r(c ?? -1)));
    await waitFor(
      `node ${machine} Ready again`,
      async () => {
        if (joinProc!.exitCode !== null) throw new Error(`kite join exited (${joinProc!.exitCode}):\n${readFileSync(logPath, 'utf8')}`);
        const n = await json(['get', 'node', machine]);
        const ready = n.status?.conditions?.find((c: any) => c.type === 'Ready');
        // Ready, and the restarted join has its kubelet, containerd and networking running.
        return ready?.status === 'True' && readFileSync(logPath, 'utf8').includes('has joined the cluster') ? true : undefined;
      },
      120_000,
      1000,
    );
    assert.match(readFileSync(logPath, 'utf8'), /joined before: using its identity/);
  });
});
