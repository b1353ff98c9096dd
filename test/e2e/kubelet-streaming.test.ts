// Acceptance: logs, exec, attach, port-forward and cp through the API server to the
// kubelet (WebSocket for kubectl 1.30+, SPDY for 1.29, the SPDY-over-WebSocket
// tunnel for port-forward on 1.31+), with the real kubectl. Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Cluster, KUBECTL_DIR, applyYaml, freePort, getPod, nodeDirOf, nodeNameOf, waitFor, waitForNodeReady, waitForPod, type KubectlVersion } from './harness.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = isRoot ? false : 'needs root: runs containers';

const cluster = new Cluster('kstream');
let node = '';

const cstatus = (p: any, name: string) => (p.status?.containerStatuses ?? []).find((c: any) => c.name === name);

function pod(name: string, spec: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  nodeName: ${node}
${spec}`;
}

/** kubectl with stdin from a string, collecting output and the exit code. */
function kubectlWithInput(args: string[], input: string, version: KubectlVersion = '1.33', timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(KUBECTL_DIR, `kubectl.${version}`), ['--kubeconfig', cluster.kubeconfig, ...args], { env: cluster.env() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

function fetchLocal(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('kubelet streaming through the API server', { skip }, () => {
  before(async () => {
    await cluster.up();
    node = nodeNameOf(cluster);
    await waitForNodeReady(cluster, 90_000);
    await applyYaml(
      cluster,
      'pods',
      `${pod(
        'talker',
        `  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "for i in 1 2 3 4 5; do echo line-$i; done; echo to-stderr >&2; i=6; while true; do echo line-$i; i=$((i+1)); sleep 1; done"]
  - name: side
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo side-car; sleep 3600"]
`,
      )}---
${pod(
  'web',
  `  containers:
  - name: httpd
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-pod > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{containerPort: 8080}]
`,
)}---
${pod(
  'echoer',
  `  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "while read line; do echo got:$line; done"]
    stdin: true
`,
)}`,
    );
    for (const name of ['talker', 'web', 'echoer']) {
      await waitForPod(cluster, name, 'Running', (p) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((c: any) => c.ready));
    }
  });

  after(async () => {
    await cluster.down();
  });

  test('kubectl logs: all, --tail, --timestamps, -c, --since', async () => {
    await waitFor('some lines', async () => (await cluster.k(['logs', 'talker', '-c', 'main'])).includes('line-7'), 20_000, 500);
    const all = await cluster.k(['logs', 'talker', '-c', 'main']);
    // stdout and stderr are separate pipes: their relative order is not fixed
    assert.match(all.replace('to-stderr\n', ''), /^line-1\nline-2\nline-3\nline-4\nline-5\nline-6\n/);
    assert.match(all, /(^|\n)to-stderr\n/);
    const tail = await cluster.k(['logs', 'talker', '-c', 'main', '--tail', '2']);
    assert.equal(tail.trim().split('\n').length, 2);
    const ts = await cluster.k(['logs', 'talker', '-c', 'main', '--timestamps', '--tail', '1']);
    assert.match(ts, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z line-\d+\n$/);
    assert.equal((await cluster.k(['logs', 'talker', '-c', 'side'])).trim(), 'side-car');
    assert.match((await cluster.k(['logs', 'talker', '-c', 'main', '--since', '1h'])).replace('to-stderr\n', ''), /^line-1\n/);
    // line-1 is written at start, then one line a second: once line-12 is there, line-1 is over 5 s old
    await waitFor('line-12', async () => (await cluster.k(['logs', 'talker', '-c', 'main'])).includes('line-12'), 20_000, 500);
    const recent = await cluster.k(['logs', 'talker', '-c', 'main', '--since', '2s']);
    assert.ok(recent.length > 0, 'recent lines are shown');
    assert.ok(!recent.includes('line-1\n'), 'since filters old lines');
    // The log file holds stdout and stderr in the order the runtime read them, which may put
    // the stderr line first: the limit cuts the log as stored, so compare with its start.
    const limited = await cluster.k(['logs', 'talker', '-c', 'main', '--limit-bytes', '7']);
    assert.equal(limited, all.slice(0, 7));
    assert.ok(limited === 'line-1\n' || limited === 'to-stde', limited);
    for (const v of ['1.27', '1.29', '1.31'] as const) {
      assert.match(await cluster.k(['logs', 'talker', '-c', 'side'], { version: v }), /side-car/);
    }
    const missing = await cluster.kubectl(['logs', 'talker', '-c', 'nope']);
    assert.notEqual(missing.code, 0);
  });

  test('kubectl logs -f streams new lines and ends when the container exits', async () => {
    await applyYaml(
      cluster,
      'short',
      pod(
        'short',
        `  restartPolicy: Never
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "sleep 2; for i in 1 2 3 4; do echo tick-$i; sleep 1; done"]
`,
      ),
    );
    await waitForPod(cluster, 'short', 'Running', (p) => !!cstatus(p, 'main')?.state?.running);
    const f = cluster.spawnKubectl(['logs', '-f', 'short']);
    const code = await Promise.race([f.exited, new Promise<number>((r) => setTimeout(() => r(-99), 30_000))]);
    f.stop();
    assert.equal(code, 0, f.output());
    assert.equal(f.output(), 'tick-1\ntick-2\ntick-3\ntick-4\n');
  });

  test('kubectl logs --previous shows the container instance before the restart', async () => {
    await applyYaml(
      cluster,
      'restarter',
      pod(
        'restarter',
        `  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "n=$(cat /d/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /d/n; echo run-$n; sleep 8; exit 1"]
    volumeMounts: [{name: d, mountPath: /d}]
  volumes: [{name: d, emptyDir: {}}]
`,
      ),
    );
    await waitForPod(cluster, 'restarter', 'second run', (p) => cstatus(p, 'main')?.restartCount === 1 && !!cstatus(p, 'main')?.state?.running, 40_000);
    assert.equal((await cluster.k(['logs', 'restarter'])).trim(), 'run-2');
    assert.equal((await cluster.k(['logs', 'restarter', '--previous'])).trim(), 'run-1');
    assert.equal((await cluster.k(['logs', 'restarter', '-p'], { version: '1.29' })).trim(), 'run-1');
    const none = await cluster.kubectl(['logs', 'talker', '-c', 'side', '--previous']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /previous terminated container "side" in pod "talker" not found/);
  });

  for (const version of ['1.33', '1.29'] as const) {
    test(`kubectl ${version} exec: output, stderr, exit codes, stdin`, async () => {
      const r = await cluster.kubectl(['exec', 'talker', '-c', 'side', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { version });
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stdout, 'out\n');
      assert.match(r.stderr, /err\n/);
      assert.match(r.stderr, /command terminated with exit code 3/);
      assert.equal((await cluster.kubectl(['exec', 'talker', '-c', 'side', '--', 'true'], { version })).code, 0);
      const payload = Array.from({ length: 2000 }, (_, i) => `row ${i}`).join('\n') + '\n';
      const cat = await kubectlWithInput(['exec', '-i', 'talker', '-c', 'side', '--', 'sh', '-c', 'cat; echo done'], payload, version);
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.stdout, payload + 'done\n');
      const missing = await cluster.kubectl(['exec', 'talker', '-c', 'side', '--', '/no/such/binary'], { version });
      assert.notEqual(missing.code, 0);
    });
  }

  test('kubectl exec -it with a pipe as stdin (no pty) propagates the exit code', async () => {
    const r = await kubectlWithInput(['exec', '-it', 'talker', '-c', 'side', '--', 'sh'], 'echo via-shell\nexit 7\n');
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stdout, /via-shell/);
    assert.match(r.stderr, /Unable to use a TTY/);
  });

  test('kubectl attach -i reaches the container process (1.33 and 1.29)', async () => {
    const a = await kubectlWithInput(['attach', '-i', 'echoer'], 'first\n', '1.33', 15_000);
    assert.equal(a.code, 0, a.stderr);
    await waitFor('the echo in the logs', async () => (await cluster.k(['logs', 'echoer'])).includes('got:first'), 10_000, 300);
    const b = await kubectlWithInput(['attach', '-i', 'echoer'], 'second\n', '1.29', 15_000);
    assert.equal(b.code, 0, b.stderr);
    await waitFor('the echo in the logs', async () => (await cluster.k(['logs', 'echoer'])).includes('got:second'), 10_000, 300);
  });

  for (const version of ['1.33', '1.29'] as const) {
    test(`kubectl ${version} port-forward pod/NAME`, async () => {
      const port = await freePort();
      const pf = cluster.spawnKubectl(['port-forward', 'pod/web', `${port}:8080`], version);
      try {
        await waitFor('port-forward to listen', () => pf.output().includes('Forwarding from 127.0.0.1'), 20_000, 100);
        for (let i = 0; i < 3; i++) assert.equal((await fetchLocal(port, '/index.html')).trim(), 'hello-from-pod');
        const bodies = await Promise.all([1, 2, 3, 4].map(() => fetchLocal(port, '/index.html')));
        assert.deepEqual(bodies.map((b) => b.trim()), ['hello-from-pod', 'hello-from-pod', 'hello-from-pod', 'hello-from-pod']);
        assert.match(pf.output(), /Handling connection for/);
      } finally {
        pf.stop();
        await pf.exited;
      }
    });
  }

  test('kubectl cp copies files in and out (tar over exec)', async () => {
    const data = randomBytes(512 * 1024);
    const src = join(cluster.home, 'blob.bin');
    writeFileSync(src, data);
    await cluster.k(['cp', src, 'talker:/tmp/blob.bin', '-c', 'side']);
    const sum = createHash('md5').update(data).digest('hex');
    assert.match(await cluster.k(['exec', 'talker', '-c', 'side', '--', 'md5sum', '/tmp/blob.bin']), new RegExp(`^${sum}`));
    const back = join(cluster.home, 'blob-back.bin');
    await cluster.k(['cp', 'talker:/tmp/blob.bin', back, '-c', 'side']);
    assert.ok(readFileSync(back).equals(data));
    const back29 = join(cluster.home, 'blob-back-29.bin');
    await cluster.k(['cp', 'talker:/tmp/blob.bin', back29, '-c', 'side'], { version: '1.29' });
    assert.ok(readFileSync(back29).equals(data));
  });

  test('the kubelet API authenticates (certificates, TokenReview) and authorizes (SubjectAccessReview) every request', async () => {
    const cfg = JSON.parse(readFileSync(join(nodeDirOf(cluster), 'kubelet.json'), 'utf8'));
    const n = JSON.parse(await cluster.k(['get', 'node', node, '-o', 'json']));
    const port = n.status.daemonEndpoints.kubeletEndpoint.Port;
    const pki = join(cluster.home, cluster.name, 'pki');
    // The API server's own identity towards kubelets (system:masters).
    const tls = { ca: readFileSync(cfg.caFile), cert: readFileSync(join(pki, 'apiserver-kubelet-client.crt')), key: readFileSync(join(pki, 'apiserver-kubelet-client.key')) };
    const call = (path: string, auth: { cert?: boolean; token?: string }) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port, path, ca: tls.ca, ...(auth.cert ? { cert: tls.cert, key: tls.key } : {}), headers: auth.token ? { Authorization: `Bearer ${auth.token}` } : {}, rejectUnauthorized: false },
          (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    assert.deepEqual(await call('/healthz', { cert: true }), { status: 200, body: 'ok' });
    const pods = JSON.parse((await call('/pods', { cert: true })).body);
    assert.equal(pods.kind, 'PodList');
    assert.ok(pods.items.some((p: any) => p.metadata.name === 'web'));
    // Anonymous and unknown tokens: 401 as upstream.
    assert.deepEqual(await call('/healthz', {}), { status: 401, body: 'Unauthorized\n' });
    assert.deepEqual(await call('/pods', { token: 'not-a-token' }), { status: 401, body: 'Unauthorized\n' });
    // A service account's token is reviewed by the API server; whether it may use
    // nodes/proxy is the authorizer's call (403 with upstream's wording under RBAC).
    const token = (await cluster.k(['create', 'token', 'default'])).trim();
    const sa = await call('/pods', { token });
    assert.ok(sa.status === 200 || sa.status === 403, `status ${sa.status}: ${sa.body}`);
    if (sa.status === 403) assert.equal(sa.body, 'Forbidden (user=system:serviceaccount:default:default, verb=get, resource=nodes, subresource=proxy)\n');
    else assert.equal(JSON.parse(sa.body).kind, 'PodList');
    const p = await getPod(cluster, 'web');
    assert.ok(p);
  });
});
