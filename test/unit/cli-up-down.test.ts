// End to end: `kite up` / `list` / `kubeconfig` / `down` as subprocesses, in a temporary
// KITE_HOME and KUBECONFIG, against the health-only stub control plane.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { isAlive } from '../../machinery/process.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function kite(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

/** A port p such that p, p+1 and p+2 are currently free. */
async function freePortRun(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = await listen(0);
    const base = (probe.address() as AddressInfo).port;
    probe.close();
    if (base > 65000) continue;
    const held: Server[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(await listen(base + i));
      return base;
    } catch {
      /* try another */
    } finally {
      for (const s of held) s.close();
    }
  }
  throw new Error('no free port run found');
}

interface Creds {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

function credsFrom(kubeconfigText: string, context: string): Creds {
  const doc = YAML.parse(kubeconfigText);
  const ctx = doc.contexts.find((c: { name: string }) => c.name === context).context;
  const cluster = doc.clusters.find((c: { name: string }) => c.name === ctx.cluster).cluster;
  const user = doc.users.find((u: { name: string }) => u.name === ctx.user).user;
  const d = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  return {
    server: cluster.server,
    ca: d(cluster['certificate-authority-data']),
    cert: d(user['client-certificate-data']),
    key: d(user['client-key-data']),
  };
}

function readyz(c: Creds): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${c.server}/readyz`, { ca: c.ca, cert: c.cert, key: c.key }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('kite up / list / kubeconfig / down, two clusters side by side', { timeout: 120_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kite-cli-'));
  const home = join(root, 'kite');
  const kubeconfig = join(root, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'other', cluster: { server: 'https://other.example' } }],
      users: [{ name: 'other', user: { token: 't' } }],
      contexts: [{ name: 'other', context: { cluster: 'other', user: 'other' } }],
      'current-context': 'other',
    }),
  );
  const env = { ...process.env, HOME: root, KITE_HOME: home, KUBECONFIG: kubeconfig, KITE_CONTROL_PLANE: 'stub' };
  const pidOf = (name: string): number | undefined => {
    const f = join(home, name, 'server.pid');
    return existsSync(f) ? Number(readFileSync(f, 'utf8')) : undefined;
  };
  t.after(() => {
    // Never leave a server behind, whatever failed.
    for (const name of ['t1', 't2']) {
      const pid = pidOf(name);
      if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(root, { recursive: true, force: true });
  });

  const port = await freePortRun();

  // --- first cluster
  let r = await kite(env, 'up', '--name', 't1', '--api-port', String(port));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /✓ Writing certificates/);
  assert.match(r.stdout, /✓ Starting control plane/);
  assert.ok(r.stdout.includes(`✓ API server ready at https://127.0.0.1:${port}`), r.stdout);
  assert.match(r.stdout, /kubectl cluster-info --context kite-t1/);
  const pid1 = pidOf('t1')!;
  assert.ok(pid1 && isAlive(pid1));

  const own = readFileSync(join(home, 't1', 'kubeconfig'), 'utf8');
  const c1 = credsFrom(own, 'kite-t1');
  assert.equal(c1.server, `https://127.0.0.1:${port}`);
  assert.deepEqual(await readyz(c1), { status: 200, body: 'ok' });

  let user = YAML.parse(readFileSync(kubeconfig, 'utf8'));
  assert.equal(user['current-context'], 'kite-t1');
  assert.deepEqual(user.contexts.map((c: { name: string }) => c.name).sort(), ['kite-t1', 'other']);
  assert.deepEqual(credsFrom(readFileSync(kubeconfig, 'utf8'), 'kite-t1'), c1);

  r = await kite(env, 'kubeconfig', '--name', 't1');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, own);

  // Again: already running, exit 0, same process.
  r = await kite(env, 'up', '--name', 't1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /already running/);
  assert.equal(pidOf('t1'), pid1);

  // --- second cluster asks for the same port; port+1 is taken by someone else too.
  const blocker = await listen(port + 1);
  t.after(() => blocker.close());
  r = await kite(env, 'up', '--name', 't2', '--api-port', String(port));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes(`Port ${port} is in use; using ${port + 2}`), r.stdout);
  assert.ok(r.stdout.includes(`API server ready at https://127.0.0.1:${port + 2}`), r.stdout);
  const c2 = credsFrom(readFileSync(kubeconfig, 'utf8'), 'kite-t2');
  assert.equal(c2.server, `https://127.0.0.1:${port + 2}`);
  assert.deepEqual(await readyz(c2), { status: 200, body: 'ok' });
  assert.notEqual(c2.ca, c1.ca, 'each cluster has its own CA');
  assert.deepEqual(await readyz(c1), { status: 200, body: 'ok' }, 'first cluster still serving');
  user = YAML.parse(readFileSync(kubeconfig, 'utf8'));
  assert.equal(user['current-context'], 'kite-t2');

  if (hasKubectl) {
    const out = spawnSync('kubectl', ['get', '--raw', '/readyz', '--context', 'kite-t1'], { env, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout.trim(), 'ok');
  }

  r = await kite(env, 'list');
  assert.equal(r.code, 0);
  assert.match(r.stdout, new RegExp(`^t1\\s+running\\s+${port}\\s`, 'm'));
  assert.match(r.stdout, new RegExp(`^t2\\s+running\\s+${port + 2}\\s`, 'm'));

  // --- stop t1, keep its data
  r = await kite(env, 'down', '--name', 't1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /✓ Stopped control plane/);
  assert.equal(isAlive(pid1), false);
  assert.equal(existsSync(join(home, 't1', 'server.pid')), false);
  assert.ok(existsSync(join(home, 't1', 'pki', 'ca.crt')));
  await assert.rejects(readyz(c1));
  r = await kite(env, 'list');
  assert.match(r.stdout, new RegExp(`^t1\\s+stopped\\s+${port}\\s`, 'm'));
  r = await kite(env, 'down', '--name', 't1');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /not running/);

  // --- restart t1 without --api-port: resumes on its remembered port with the same CA.
  r = await kite(env, 'up', '--name', 't1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Starting cluster "t1"/);
  const c1again = credsFrom(readFileSync(kubeconfig, 'utf8'), 'kite-t1');
  assert.equal(c1again.server, `https://127.0.0.1:${port}`);
  assert.equal(c1again.ca, c1.ca);
  assert.deepEqual(await readyz(c1again), { status: 200, body: 'ok' });

  // --- purge both: data and contexts gone, the unrelated context kept.
  for (const name of ['t1', 't2']) {
    const pid = pidOf(name)!;
    r = await kite(env, 'down', '--name', name, '--purge');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(isAlive(pid), false);
    assert.equal(existsSync(join(home, name)), false);
  }
  user = YAML.parse(readFileSync(kubeconfig, 'utf8'));
  assert.deepEqual(user.contexts.map((c: { name: string }) => c.name), ['other']);
  assert.deepEqual(user.clusters.map((c: { name: string }) => c.name), ['other']);
  assert.equal(user['current-context'], '');

  r = await kite(env, 'list');
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /No kite clusters found/);
});

test('kite errors are one line on stderr with exit code 1', { timeout: 60_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kite-cli-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const env = { ...process.env, HOME: root, KITE_HOME: join(root, 'kite'), KUBECONFIG: join(root, 'kubeconfig'), KITE_CONTROL_PLANE: 'stub' };

  const cases: Array<[string[], RegExp]> = [
    [['down', '--name', 'nope'], /^error: no cluster named "nope"/],
    [['kubeconfig', '--name', 'nope'], /^error: no cluster named "nope"/],
    [['up', '--name', 'Bad_Name'], /^error: invalid cluster name "Bad_Name"/],
    [['up', '--api-port', '70000'], /^error: .*invalid port "70000"/],
    [['up', '--name', 'h', '--hollow-nodes', 'many'], /^error: .*invalid node count "many"/],
    [['up', '--name', 'x', '--bind-address', '192.0.2.254', '--api-port', '16999'], /^error: cannot listen on 192\.0\.2\.254:16999/],
    [['frobnicate'], /^error: unknown command 'frobnicate'/],
    [['node', 'add', '--name', 'nope'], /^error: no cluster named "nope"/],
  ];
  for (const [args, want] of cases) {
    const r = await kite(env, ...args);
    assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}`);
    assert.match(r.stderr, want, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
  }
  assert.equal(existsSync(join(root, 'kubeconfig')), false, 'failed commands leave the kubeconfig alone');
});
