// The kube-api-access projected volume on the node: the token manager's renewal
// schedule, the atomic `..data` swap when a token is renewed, file modes, and a
// volume that fails (no placeholder) when no token can be had.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigMap, Pod } from 'kubernetes-types/core/v1.js';
import { TokenManager, type TokenRequestSpec } from '../../kubelet/token-manager.js';
import { VolumeManager, type VolumeSources } from '../../kubelet/volumes.js';

const CA = '-----BEGIN CERTIFICATE-----\nkite\n-----END CERTIFICATE-----\n';
const H = 3600_000;

function apiAccessPod(extra: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'team', uid: 'pod-uid-1' },
    spec: {
      serviceAccountName: 'builder',
      containers: [{ name: 'c', image: 'busybox' }],
      volumes: [
        {
          name: 'kube-api-access-abcde',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            ],
          },
        },
      ],
      ...extra,
    },
  };
}

interface FakeApi {
  now: number;
  issued: Array<{ namespace: string; sa: string; spec: TokenRequestSpec }>;
  fail?: Error;
  manager: TokenManager;
}

function fakeApi(): FakeApi {
  const api: FakeApi = { now: Date.parse('2026-01-01T00:00:00Z'), issued: [], manager: undefined as unknown as TokenManager };
  api.manager = new TokenManager(
    async (namespace, sa, spec) => {
      if (api.fail) throw api.fail;
      api.issued.push({ namespace, sa, spec });
      return { token: `token-${api.issued.length}`, expiresAtMs: api.now + spec.expirationSeconds * 1000 };
    },
    { now: () => api.now, random: () => 0 },
  );
  return api;
}

function sources(api: FakeApi, configMaps: Record<string, ConfigMap> = { 'kube-root-ca.crt': { data: { 'ca.crt': CA } } }): VolumeSources {
  return {
    configMap: async (_ns, name) => configMaps[name],
    secret: async () => undefined,
    serviceAccountToken: (pod, audience, exp) => api.manager.get(pod, audience, exp),
    allocatable: { cpuMilli: 1000, memoryBytes: 1 << 30, ephemeralStorageBytes: 1 << 30 },
  };
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kite-vol-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const facts = { podIPs: ['10.244.0.5'], hostIPs: ['192.168.1.2'] };

test('the token manager renews at 80 % of the requested lifetime, or after 24 h', async () => {
  const api = fakeApi();
  const pod = apiAccessPod();
  assert.equal(await api.manager.get(pod, undefined, 3607), 'token-1');
  assert.deepEqual(api.issued[0], {
    namespace: 'team',
    sa: 'builder',
    spec: { audiences: [], expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'pod-uid-1' } },
  });
  const start = api.now;
  assert.equal(api.manager.nextRefresh('pod-uid-1'), start + 3607 * 800);
  api.now = start + 3607 * 800 - 1000;
  assert.equal(await api.manager.get(pod, undefined, 3607), 'token-1', 'still fresh');
  api.now = start + 3607 * 800 + 1;
  assert.equal(await api.manager.get(pod, undefined, 3607), 'token-2', 'renewed');

  // A two-day token is renewed after a day.
  const day2 = 2 * 24 * 3600;
  await api.manager.get(pod, 'vault', day2);
  assert.deepEqual(api.issued.at(-1)!.spec.audiences, ['vault']);
  assert.equal(TokenManager.refreshAt({ expiresAtMs: api.now + day2 * 1000, expirationSeconds: day2 }), api.now + 24 * H);

  // Renewal failing: the old token serves until it expires, then the error surfaces.
  api.fail = new Error('connection refused');
  api.now = start + 3607 * 1700;
  const last = await api.manager.get(pod, undefined, 3607).catch((e: Error) => e.message);
  assert.equal(last, 'token-2');
  api.now = start + 3607 * 1900;
  await assert.rejects(api.manager.get(pod, undefined, 3607), /expired and refresh failed: connection refused/);
  api.manager.forget('pod-uid-1');
  assert.equal(api.manager.nextRefresh('pod-uid-1'), undefined);
});

test(
  'kube-api-access: token, ca.crt and namespace written atomically; a renewed token swaps ..data',
  withDir(async (dir) => {
    const api = fakeApi();
    const vm = new VolumeManager({ podsDir: dir });
    const pod = apiAccessPod();
    const mounted = await vm.setUp(pod, facts, sources(api));
    const vol = mounted.get('kube-api-access-abcde')!;
    assert.equal(vol.readOnly, true);
    assert.equal(readFileSync(join(vol.hostPath, 'token'), 'utf8'), 'token-1');
    assert.equal(readFileSync(join(vol.hostPath, 'ca.crt'), 'utf8'), CA);
    assert.equal(readFileSync(join(vol.hostPath, 'namespace'), 'utf8'), 'team');
    assert.equal(statSync(join(vol.hostPath, 'token')).mode & 0o777, 0o644, 'defaultMode 420');
    assert.ok(lstatSync(join(vol.hostPath, 'token')).isSymbolicLink());
    assert.equal(readlinkSync(join(vol.hostPath, 'token')), '..data/token');
    const firstTarget = readlinkSync(join(vol.hostPath, '..data'));

    // A resync before renewal time changes nothing on disk.
    api.now += 60_000;
    await vm.setUp(pod, facts, sources(api), mounted);
    assert.equal(readlinkSync(join(vol.hostPath, '..data')), firstTarget);
    assert.equal(api.issued.length, 1);

    // Past 80 %: a new token, a new timestamped directory, the old one removed.
    api.now += 3607 * 800;
    await vm.setUp(pod, facts, sources(api), mounted);
    assert.equal(api.issued.length, 2);
    assert.equal(readFileSync(join(vol.hostPath, 'token'), 'utf8'), 'token-2');
    const secondTarget = readlinkSync(join(vol.hostPath, '..data'));
    assert.notEqual(secondTarget, firstTarget);
    const entries = readdirSync(vol.hostPath).sort();
    assert.deepEqual(entries, [secondTarget, '..data', 'ca.crt', 'namespace', 'token'].sort());
  }),
);

test(
  'with an fsGroup the token is 0600 opened to the group (0640), files owned by the group',
  withDir(async (dir) => {
    const api = fakeApi();
    const vm = new VolumeManager({ podsDir: dir });
    const gid = process.getgid?.() ?? 0;
    const pod = apiAccessPod({ securityContext: { fsGroup: gid } });
    const vol = (await vm.setUp(pod, facts, sources(api))).get('kube-api-access-abcde')!;
    const st = statSync(join(vol.hostPath, 'token'));
    assert.equal(st.mode & 0o777, 0o640);
    assert.equal(st.gid, gid);
    assert.equal(statSync(join(vol.hostPath, 'ca.crt')).mode & 0o777, 0o644);
  }),
);

test(
  'no token from the API: the volume fails with upstream wording and no token file is written',
  withDir(async (dir) => {
    const api = fakeApi();
    api.fail = new Error('serviceaccounts "builder" not found');
    const vm = new VolumeManager({ podsDir: dir });
    const pod = apiAccessPod();
    await assert.rejects(vm.setUp(pod, facts, sources(api)), {
      message: 'MountVolume.SetUp failed for volume "kube-api-access-abcde" : failed to fetch token: serviceaccounts "builder" not found',
    });
    // Both the token and the CA missing: upstream's aggregate.
    await assert.rejects(vm.setUp(pod, facts, sources(api, {})), {
      message: 'MountVolume.SetUp failed for volume "kube-api-access-abcde" : [failed to fetch token: serviceaccounts "builder" not found, configmap "kube-root-ca.crt" not found]',
    });
    const volDir = vm.volumeDir('pod-uid-1', pod.spec!.volumes![0]!);
    const files = (() => {
      try {
        return readdirSync(volDir);
      } catch {
        return [];
      }
    })();
    assert.ok(!files.includes('token'));
  }),
);

test('every pod in every namespace gets the kubernetes Service variables; service links only from its own namespace', async () => {
  const { serviceEnvMap } = await import('../../kubelet/env.js');
  const kube = { metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] } };
  const local = { metadata: { name: 'db', namespace: 'team' }, spec: { clusterIP: '10.96.0.40', ports: [{ port: 5432 }] } };
  const elsewhere = { metadata: { name: 'cache', namespace: 'other' }, spec: { clusterIP: '10.96.0.41', ports: [{ port: 6379 }] } };
  const expected = {
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    KUBERNETES_SERVICE_PORT: '443',
    KUBERNETES_SERVICE_PORT_HTTPS: '443',
    KUBERNETES_PORT: 'tcp://10.96.0.1:443',
    KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_PORT: '443',
    KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
  };
  const noLinks = serviceEnvMap([kube, local, elsewhere], 'team', false);
  assert.deepEqual(Object.fromEntries(noLinks), expected);
  const links = serviceEnvMap([kube, local, elsewhere], 'team', true);
  assert.equal(links.get('DB_SERVICE_HOST'), '10.96.0.40');
  assert.equal(links.get('KUBERNETES_SERVICE_HOST'), '10.96.0.1');
  assert.ok(![...links.keys()].some((k) => k.startsWith('CACHE_')));
});
