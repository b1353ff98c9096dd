// Acceptance: the node pulls images through its private containerd from a plain-HTTP
// registry on loopback (Debian's docker-registry), directly and as a docker.io mirror,
// configured by the cluster's registries.yaml (k3s format). Needs root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, applyYaml, freePort, nodeDirOf, nodeNameOf, run, waitFor, waitForNodeReady, waitForPod } from './harness.js';
import { buildBusyboxImage } from '../../kubelet/images/busybox.js';
import { buildDockerArchive, DEFAULT_PATH_ENV } from '../../kubelet/images/archive.js';
import { readTar } from '../../kubelet/images/tar.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = isRoot ? false : 'needs root: installs docker-registry/skopeo with apt-get and runs containers';

const cluster = new Cluster('registry');
let work = '';
let registry: ChildProcess | undefined;
let registryLog = '';
let port = 0;
let host = '';
const digests: Record<string, string> = {};

async function ensurePackages(): Promise<void> {
  const missing = [
    ['docker-registry', '/usr/bin/docker-registry'],
    ['skopeo', '/usr/bin/skopeo'],
  ].filter(([, bin]) => !existsSync(bin)).map(([pkg]) => pkg);
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = await run('apt-get', ['install', '-y', '-q', ...missing], { env, timeoutMs: 15 * 60_000 });
  if (r.code !== 0) {
    await run('apt-get', ['update', '-q'], { env, timeoutMs: 15 * 60_000 });
    r = await run('apt-get', ['install', '-y', '-q', ...missing], { env, timeoutMs: 15 * 60_000 });
  }
  if (r.code !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${r.stderr.slice(-2000)}`);
}

async function push(archive: string, ref: string): Promise<void> {
  const r = await run('skopeo', ['copy', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${ref}`], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`skopeo copy to ${ref} failed:\n${r.stderr}`);
  const i = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], { timeoutMs: 60_000 });
  if (i.code !== 0) throw new Error(`skopeo inspect ${ref} failed:\n${i.stderr}`);
  digests[ref] = JSON.parse(i.stdout).Digest;
}

function pod(name: string, image: string, text: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  nodeName: ${nodeNameOf(cluster)}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${image}
    command: ["sh", "-c", "echo ${text}; exec sleep 3600"]
`;
}

async function runsAndLogs(name: string, text: string): Promise<any> {
  const p = await waitForPod(cluster, name, 'Running', (p) => p.status?.phase === 'Running', 120_000);
  const logs = await waitFor(`logs of ${name}`, async () => {
    const r = await cluster.kubectl(['logs', name]);
    return r.code === 0 && r.stdout.includes(text) ? r.stdout : undefined;
  }, 30_000, 300);
  assert.match(logs, new RegExp(text));
  return p;
}

describe('kubelet: pulls from a plain-HTTP registry and a docker.io mirror (registries.yaml)', { skip }, () => {
  before(async () => {
    await ensurePackages();
    work = mkdtempSync(join(tmpdir(), 'kite-e2e-registry-'));
    port = await freePort();
    host = `127.0.0.1:${port}`;
    mkdirSync(join(work, 'storage'));
    writeFileSync(
      join(work, 'config.yml'),
      `version: 0.1\nlog: {level: info}\nstorage: {filesystem: {rootdirectory: ${join(work, 'storage')}}, delete: {enabled: true}}\nhttp: {addr: "${host}"}\n`,
    );
    registry = spawn('docker-registry', ['serve', join(work, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    registry.stdout!.on('data', (d) => (registryLog += d));
    registry.stderr!.on('data', (d) => (registryLog += d));
    await waitFor('docker-registry answering /v2/', async () => {
      try {
        return (await fetch(`http://${host}/v2/`)).ok;
      } catch {
        return false;
      }
    }, 30_000, 200);

    const img = await buildBusyboxImage('kite.test/busybox:1', { outPath: join(work, 'busybox.tar') });
    await push(img.path, `${host}/test/busybox:1`);
    // A distinct image (same layer, another config) so the two pods' images, and so
    // their status image and imageID, cannot be confused. Only this registry has
    // library/mirrored: docker.io would answer 401/404.
    const layer = readTar(readFileSync(img.path)).find((e) => e.name.endsWith('/layer.tar'))!.data;
    const mirrored = buildDockerArchive({
      repoTags: ['kite.test/mirrored:1'],
      layers: [layer],
      config: { Cmd: ['sh'], Env: [DEFAULT_PATH_ENV, 'KITE_TEST=mirrored'] },
    });
    writeFileSync(join(work, 'mirrored.tar'), mirrored.tar);
    await push(join(work, 'mirrored.tar'), `${host}/library/mirrored:1`);

    // The cluster's default registries file: $KITE_HOME/NAME/registries.yaml.
    mkdirSync(join(cluster.home, cluster.name), { recursive: true, mode: 0o700 });
    writeFileSync(
      join(cluster.home, cluster.name, 'registries.yaml'),
      `mirrors:\n  docker.io:\n    endpoint:\n      - "http://${host}"\n  "${host}":\n    endpoint:\n      - "http://${host}"\nconfigs:\n  "${host}":\n    tls:\n      insecure_skip_verify: true\n`,
    );
    await cluster.up();
    await waitForNodeReady(cluster, 120_000);
  });

  after(async () => {
    await cluster.down().catch(() => undefined);
    if (registry && registry.exitCode === null) {
      registry.kill('SIGTERM');
      await new Promise((r) => registry!.once('exit', r));
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('hosts.toml files are written under the containerd certs.d and config.toml points at them', () => {
    const containerdDir = join(nodeDirOf(cluster), 'containerd');
    const docker = readFileSync(join(containerdDir, 'certs.d', 'docker.io', 'hosts.toml'), 'utf8');
    assert.match(docker, /server = "https:\/\/registry-1\.docker\.io"/);
    assert.ok(docker.includes(`[host."http://${host}"]`), docker);
    assert.match(docker, /capabilities = \["pull", "resolve"\]/);
    const own = readFileSync(join(containerdDir, 'certs.d', host, 'hosts.toml'), 'utf8');
    assert.ok(own.includes(`[host."http://${host}"]`), own);
    assert.match(readFileSync(join(containerdDir, 'config.toml'), 'utf8'), /config_path = ".*\/certs\.d"/);
  });

  test('a pod with an image named by the registry host is pulled over plain HTTP and runs', async () => {
    const ref = `${host}/test/busybox:1`;
    const logFrom = registryLog.length;
    await applyYaml(cluster, 'direct', pod('direct', ref, 'hello-from-registry'));
    const p = await runsAndLogs('direct', 'hello-from-registry');
    assert.equal(p.status.containerStatuses[0].image, ref);
    const imageID = await cluster.k(['get', 'pod', 'direct', '-o', 'jsonpath={.status.containerStatuses[0].imageID}']);
    assert.ok(digests[ref]?.startsWith('sha256:'), JSON.stringify(digests));
    assert.equal(imageID, `${host}/test/busybox@${digests[ref]}`);
    assert.match(registryLog.slice(logFrom), /\/v2\/test\/busybox\/manifests\/1/);
  });

  test('a docker.io image is pulled through the mirror', async () => {
    const logFrom = registryLog.length;
    await applyYaml(cluster, 'mirrored', pod('mirrored', 'mirrored:1', 'hello-through-mirror'));
    const p = await runsAndLogs('mirrored', 'hello-through-mirror');
    assert.match(p.status.containerStatuses[0].image, /^(docker\.io\/library\/)?mirrored:1$/);
    const imageID = await cluster.k(['get', 'pod', 'mirrored', '-o', 'jsonpath={.status.containerStatuses[0].imageID}']);
    const digest = digests[`${host}/library/mirrored:1`];
    assert.ok(digest?.startsWith('sha256:') && digest !== digests[`${host}/test/busybox:1`], JSON.stringify(digests));
    assert.equal(imageID, `docker.io/library/mirrored@${digest}`);
    // the mirror was asked (containerd adds ?ns=docker.io for a mirror)
    assert.match(registryLog.slice(logFrom), /\/v2\/library\/mirrored\/manifests\/1\?ns=docker\.io/);
  });

  test('an image the registry lacks fails with ErrImagePull/ImagePullBackOff', async () => {
    await applyYaml(cluster, 'missing', pod('missing', `${host}/test/nothing:1`, 'never'));
    const p = await waitForPod(cluster, 'missing', 'image pull error', (p) => {
      const reason = p.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      return reason === 'ErrImagePull' || reason === 'ImagePullBackOff';
    }, 120_000);
    assert.equal(p.status.phase, 'Pending');
  });
});
