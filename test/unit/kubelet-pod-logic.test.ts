// The kubelet's pure pod logic: $(VAR) expansion and the environment, status and
// phase computation, back-off, QoS and Linux resources, DNS, hosts file, CRI log
// parsing, the atomic volume writer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readlinkSync, readdirSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { containerEnv, expand, expandCommand, mappingFuncFor, serviceEnvVars, type EnvSources } from '../../kubelet/env.js';
import { generatePodStatus, podPhase, normalizeStatus } from '../../kubelet/status.js';
import { Backoff } from '../../kubelet/backoff.js';
import { containerLinuxResources, milliCPU, podQOS, quantityValue } from '../../kubelet/resources.js';
import { managedHostsFile, parseResolvConf, podDnsConfig } from '../../kubelet/pod-helpers.js';
import { parseCriLogLine, rfc3339ToNanos, tailStart, writeContainerLog } from '../../kubelet/logs.js';
import { writeAtomically } from '../../kubelet/volumes.js';
import { goDuration } from '../../kubelet/util.js';
import type { RuntimeContainer, RuntimePodStatus } from '../../kubelet/types.js';
import { fullImageReference } from '../../kubelet/kuberuntime.js';

test('$(VAR) expansion follows upstream: defined names, $$ escapes, unknown and unterminated references stay', () => {
  const m = mappingFuncFor(new Map([['A', 'x'], ['B', 'y']]));
  assert.equal(expand('$(A)-$(B)', m), 'x-y');
  assert.equal(expand('$(C)', m), '$(C)');
  assert.equal(expand('$$(A)', m), '$(A)');
  assert.equal(expand('$$', m), '$');
  assert.equal(expand('a$', m), 'a$');
  assert.equal(expand('$(A', m), '$(A');
  assert.equal(expand('$A', m), '$A');
  assert.equal(expand('$(A)$(A)', m), 'xx');
});

const basePod = (spec: Partial<NonNullable<Pod['spec']>> = {}, meta: Partial<NonNullable<Pod['metadata']>> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'ns', uid: 'u-1', labels: { b: '2', a: '1' }, ...meta },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

function sources(extra: Partial<EnvSources> = {}): EnvSources {
  return {
    configMap: async (ns, name) => (ns === 'ns' && name === 'cm' ? { data: { K1: 'v1', 'bad key': 'x', SHARED: 'from-cm' } } : undefined),
    secret: async (ns, name) => (name === 'sec' ? { data: { PASS: Buffer.from('hunter2').toString('base64') } } : undefined),
    services: () => [],
    allocatable: { cpuMilli: 2000, memoryBytes: 4 * 2 ** 30, ephemeralStorageBytes: 10 * 2 ** 30 },
    ...extra,
  };
}

test('the environment: envFrom with prefix, env overriding, valueFrom sources, expansion order, services last', async () => {
  const svc: Service = { metadata: { name: 'my-db', namespace: 'ns' }, spec: { clusterIP: '10.96.0.20', ports: [{ name: 'sql', port: 5432, protocol: 'TCP' }] } };
  const kube: Service = { metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] } };
  const pod = basePod({
    nodeName: 'n1',
    serviceAccountName: 'sa',
    containers: [
      {
        name: 'c',
        image: 'busybox',
        envFrom: [{ configMapRef: { name: 'cm' } }, { secretRef: { name: 'sec' }, prefix: 'S_' }],
        env: [
          { name: 'SHARED', value: 'from-env' },
          { name: 'MSG', value: '$(K1)+$(LATER)+$(MY_DB_SERVICE_HOST)' },
          { name: 'LATER', value: 'z' },
          { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
          { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'LBL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['a']" } } },
          { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
          { name: 'MEMREQ', valueFrom: { resourceFieldRef: { resource: 'requests.memory', divisor: '1Mi' } } },
          { name: 'PW', valueFrom: { secretKeyRef: { name: 'sec', key: 'PASS' } } },
          { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'missing', key: 'x', optional: true } } },
        ],
        resources: { requests: { memory: '100Mi' } },
      },
    ],
  });
  const warnings: string[] = [];
  const env = await containerEnv(pod, pod.spec!.containers[0]!, { podIPs: ['10.244.0.5'], hostIPs: ['192.0.2.2'] }, sources({ services: () => [svc, kube], warn: (_r, m) => warnings.push(m) }));
  const m = new Map(env.map((e) => [e.name, e.value]));
  assert.equal(m.get('K1'), 'v1');
  assert.equal(m.get('S_PASS'), 'hunter2');
  assert.equal(m.get('SHARED'), 'from-env');
  assert.equal(m.get('MSG'), 'v1+$(LATER)+10.96.0.20');
  assert.equal(m.get('NODE'), 'n1');
  assert.equal(m.get('SA'), 'sa');
  assert.equal(m.get('IP'), '10.244.0.5');
  assert.equal(m.get('LBL'), '1');
  assert.equal(m.get('CPU'), '2');
  assert.equal(m.get('MEMREQ'), '100');
  assert.equal(m.get('PW'), 'hunter2');
  assert.equal(m.has('OPT'), false);
  assert.equal(m.has('bad key'), false);
  assert.match(warnings[0]!, /Keys \[bad key\] from the EnvFrom configMap ns\/cm were skipped/);
  assert.equal(m.get('MY_DB_SERVICE_HOST'), '10.96.0.20');
  assert.equal(m.get('MY_DB_PORT_5432_TCP'), 'tcp://10.96.0.20:5432');
  assert.equal(m.get('KUBERNETES_SERVICE_HOST'), '10.96.0.1');
  // envFrom and env come first, service variables last
  assert.ok(env.findIndex((e) => e.name === 'PW') < env.findIndex((e) => e.name === 'MY_DB_SERVICE_HOST'));
  assert.deepEqual(expandCommand({ name: 'c', command: ['echo', '$(K1)'], args: ['$(NOPE)', '$$(K1)'] }, env), { command: ['echo', 'v1'], args: ['$(NOPE)', '$(K1)'] });
});

test('missing sources: a required ConfigMap fails the container config; enableServiceLinks=false keeps only master services', async () => {
  const pod = basePod({ containers: [{ name: 'c', envFrom: [{ configMapRef: { name: 'nope' } }] }] });
  await assert.rejects(containerEnv(pod, pod.spec!.containers[0]!, { podIPs: [], hostIPs: [] }, sources()), /configmap "nope" not found/);
  const key = basePod({ containers: [{ name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'missing' } } }] }] });
  await assert.rejects(containerEnv(key, key.spec!.containers[0]!, { podIPs: [], hostIPs: [] }, sources()), /couldn't find key missing in ConfigMap ns\/cm/);
  const svc: Service = { metadata: { name: 'other', namespace: 'ns' }, spec: { clusterIP: '10.96.0.30', ports: [{ port: 80 }] } };
  const kube: Service = { metadata: { name: 'kubernetes', namespace: 'default' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] } };
  const noLinks = basePod({ enableServiceLinks: false });
  const env = await containerEnv(noLinks, noLinks.spec!.containers[0]!, { podIPs: [], hostIPs: [] }, sources({ services: () => [svc, kube] }));
  const names = env.map((e) => e.name);
  assert.ok(names.includes('KUBERNETES_SERVICE_HOST'));
  assert.ok(!names.includes('OTHER_SERVICE_HOST'));
});

test('service variables: host, ports, docker link variables; headless services have none', () => {
  const vars = serviceEnvVars([
    { metadata: { name: 'web-app' }, spec: { clusterIP: '10.0.0.1', ports: [{ port: 80, name: 'http' }, { port: 53, protocol: 'UDP', name: 'dns' }] } },
    { metadata: { name: 'headless' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
  ]);
  const m = new Map(vars.map((v) => [v.name, v.value]));
  assert.equal(m.get('WEB_APP_SERVICE_HOST'), '10.0.0.1');
  assert.equal(m.get('WEB_APP_SERVICE_PORT'), '80');
  assert.equal(m.get('WEB_APP_SERVICE_PORT_HTTP'), '80');
  assert.equal(m.get('WEB_APP_SERVICE_PORT_DNS'), '53');
  assert.equal(m.get('WEB_APP_PORT'), 'tcp://10.0.0.1:80');
  assert.equal(m.get('WEB_APP_PORT_53_UDP'), 'udp://10.0.0.1:53');
  assert.equal(m.get('WEB_APP_PORT_53_UDP_PROTO'), 'udp');
  assert.equal(m.get('WEB_APP_PORT_53_UDP_ADDR'), '10.0.0.1');
  assert.ok(![...m.keys()].some((k) => k.startsWith('HEADLESS')));
});

function rc(partial: Partial<RuntimeContainer> & { name: string }): RuntimeContainer {
  return {
    id: `${partial.name}-${partial.restartCount ?? 0}`,
    containerID: `containerd://${partial.name}-${partial.restartCount ?? 0}`,
    state: 'running',
    createdAt: 1000,
    startedAt: 1_700_000_000_000,
    finishedAt: 0,
    exitCode: 0,
    reason: '',
    message: '',
    image: 'docker.io/library/busybox:latest',
    imageRef: 'sha256:abc',
    hash: '',
    restartCount: 0,
    logPath: '',
    sandboxId: 'sb',
    ...partial,
  };
}

function rs(containers: RuntimeContainer[], ready = true): RuntimePodStatus {
  return { uid: 'u-1', name: 'p', namespace: 'ns', ips: ready ? ['10.244.0.9'] : [], sandboxes: ready ? [{ id: 'sb', ready: true, createdAt: 1, attempt: 0, ip: '10.244.0.9', additionalIps: [], hostNetwork: false }] : [], containers };
}

const noProbes = { started: () => true, ready: () => undefined };

test('status of a fresh pod: Pending, ContainerCreating, sandbox not ready, conditions in upstream order', () => {
  const pod = basePod();
  const s = generatePodStatus({ pod, runtime: rs([], false), oldStatus: {}, podIsTerminal: false, startFailure: () => undefined, probes: noProbes, hostIPs: ['192.0.2.2'] });
  assert.equal(s.phase, 'Pending');
  assert.deepEqual(s.containerStatuses![0]!.state, { waiting: { reason: 'ContainerCreating' } });
  assert.deepEqual(
    s.conditions!.map((c) => [c.type, c.status]),
    [
      ['PodReadyToStartContainers', 'False'],
      ['Initialized', 'True'],
      ['Ready', 'False'],
      ['ContainersReady', 'False'],
      ['PodScheduled', 'True'],
    ],
  );
  assert.equal(s.conditions![2]!.message, 'containers with unready status: [c]');
  assert.equal(s.hostIP, '192.0.2.2');
  assert.equal(s.qosClass, 'BestEffort');
});

test('status: running and ready, then crash-looping with lastState, then init containers pending', () => {
  const pod = basePod();
  const running = generatePodStatus({ pod, runtime: rs([rc({ name: 'c' })]), oldStatus: {}, podIsTerminal: false, startFailure: () => undefined, probes: noProbes, hostIPs: ['192.0.2.2'] });
  assert.equal(running.phase, 'Running');
  assert.equal(running.podIP, '10.244.0.9');
  const c = running.containerStatuses![0]!;
  assert.equal(c.ready, true);
  assert.equal(c.started, true);
  assert.equal(c.containerID, 'containerd://c-0');
  assert.ok(running.conditions!.every((x) => x.status === 'True'));

  const crashed = generatePodStatus({
    pod,
    runtime: rs([rc({ name: 'c', restartCount: 1, state: 'exited', exitCode: 1, reason: 'Error', createdAt: 2000, finishedAt: 1_700_000_001_000 }), rc({ name: 'c', state: 'exited', exitCode: 1, reason: 'Error' })]),
    oldStatus: running,
    podIsTerminal: false,
    startFailure: () => ({ reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=c pod=p_ns(u-1)' }),
    probes: noProbes,
    hostIPs: ['192.0.2.2'],
  });
  const cc = crashed.containerStatuses![0]!;
  assert.equal(cc.state!.waiting!.reason, 'CrashLoopBackOff');
  assert.equal(cc.lastState!.terminated!.exitCode, 1);
  assert.equal(cc.lastState!.terminated!.containerID, 'containerd://c-1');
  assert.equal(cc.restartCount, 1);
  assert.equal(crashed.phase, 'Running');

  const withInit = basePod({ initContainers: [{ name: 'init', image: 'busybox' }] });
  const pending = generatePodStatus({ pod: withInit, runtime: rs([rc({ name: 'init' })]), oldStatus: {}, podIsTerminal: false, startFailure: () => undefined, probes: noProbes, hostIPs: [] });
  assert.equal(pending.phase, 'Pending');
  assert.equal(pending.containerStatuses![0]!.state!.waiting!.reason, 'PodInitializing');
  const init = pending.conditions!.find((x) => x.type === 'Initialized')!;
  assert.equal(init.status, 'False');
  assert.equal(init.reason, 'ContainersNotInitialized');
  assert.equal(init.message, 'containers with incomplete status: [init]');
});

test('phase: Never/OnFailure completions, readiness probes drive Ready', () => {
  const never = basePod({ restartPolicy: 'Never' });
  const ok = generatePodStatus({ pod: never, runtime: rs([rc({ name: 'c', state: 'exited', exitCode: 0, reason: 'Completed' })]), oldStatus: {}, podIsTerminal: false, startFailure: () => undefined, probes: noProbes, hostIPs: [] });
  assert.equal(ok.phase, 'Succeeded');
  assert.equal(ok.conditions!.find((c) => c.type === 'Ready')!.reason, 'PodCompleted');
  const bad = generatePodStatus({ pod: never, runtime: rs([rc({ name: 'c', state: 'exited', exitCode: 137, reason: 'OOMKilled' })]), oldStatus: {}, podIsTerminal: false, startFailure: () => undefined, probes: noProbes, hostIPs: [] });
  assert.equal(bad.phase, 'Failed');
  const onFailure = basePod({ restartPolicy: 'OnFailure' });
  assert.equal(podPhase(onFailure, [{ name: 'c', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1 } } }], false, true), 'Running');
  const unready = generatePodStatus({ pod: basePod(), runtime: rs([rc({ name: 'c' })]), oldStatus: {}, podIsTerminal: false, startFailure: () => undefined, probes: { started: () => true, ready: () => false }, hostIPs: [] });
  assert.equal(unready.containerStatuses![0]!.ready, false);
  assert.equal(unready.conditions!.find((c) => c.type === 'Ready')!.status, 'False');
  const notStarted = generatePodStatus({ pod: basePod(), runtime: rs([rc({ name: 'c' })]), oldStatus: {}, podIsTerminal: false, startFailure: () => undefined, probes: { started: () => false, ready: () => true }, hostIPs: [] });
  assert.equal(notStarted.containerStatuses![0]!.started, false);
  assert.equal(notStarted.containerStatuses![0]!.ready, false);
});

test('lastTransitionTime is kept while a condition keeps its status; startTime is set once', () => {
  const a = normalizeStatus({ conditions: [{ type: 'Ready', status: 'False' }] }, undefined, undefined, Date.parse('2030-01-01T00:00:00Z'));
  assert.equal(a.conditions![0]!.lastTransitionTime, '2030-01-01T00:00:00Z');
  assert.equal(a.startTime, '2030-01-01T00:00:00Z');
  const b = normalizeStatus({ conditions: [{ type: 'Ready', status: 'False' }] }, a, undefined, Date.parse('2030-01-01T00:01:00Z'));
  assert.equal(b.conditions![0]!.lastTransitionTime, '2030-01-01T00:00:00Z');
  const c = normalizeStatus({ conditions: [{ type: 'Ready', status: 'True' }] }, b, undefined, Date.parse('2030-01-01T00:02:00Z'));
  assert.equal(c.conditions![0]!.lastTransitionTime, '2030-01-01T00:02:00Z');
  assert.equal(c.startTime, '2030-01-01T00:00:00Z');
});

test('back-off: immediate first retry, then 10s doubling to 5m, forgotten after 2×max quiet', () => {
  let now = 0;
  const b = new Backoff({ now: () => now });
  assert.equal(b.isInBackOffSince('k', 0), false);
  b.next('k', 0);
  assert.equal(b.get('k'), 10_000);
  now = 5000;
  assert.equal(b.isInBackOffSince('k', 0), true);
  now = 10_001;
  assert.equal(b.isInBackOffSince('k', 0), false);
  const seq: string[] = [];
  for (let i = 0; i < 7; i++) {
    b.next('k', now);
    seq.push(goDuration(b.get('k')));
  }
  assert.deepEqual(seq, ['20s', '40s', '1m20s', '2m40s', '5m0s', '5m0s', '5m0s']);
  now += 11 * 60_000;
  b.next('k', now);
  assert.equal(b.get('k'), 10_000);
});

test('quantities, QoS classes and the CRI resources of a container', () => {
  assert.equal(quantityValue('64Mi'), 64 * 2 ** 20);
  assert.equal(quantityValue('1.5G'), 1.5e9);
  assert.equal(milliCPU('250m'), 250);
  assert.equal(milliCPU('1'), 1000);
  assert.equal(milliCPU('0.1'), 100);
  const guaranteed = basePod({ containers: [{ name: 'c', resources: { limits: { cpu: '500m', memory: '64Mi' } } }] });
  assert.equal(podQOS(basePod()), 'BestEffort');
  assert.equal(podQOS({ ...guaranteed, spec: { containers: [{ name: 'c', resources: { requests: { cpu: '500m', memory: '64Mi' }, limits: { cpu: '500m', memory: '64Mi' } } }] } }), 'Guaranteed');
  assert.equal(podQOS(basePod({ containers: [{ name: 'c', resources: { requests: { cpu: '100m' } } }] })), 'Burstable');
  const r = containerLinuxResources(guaranteed, guaranteed.spec!.containers[0]!, 4 * 2 ** 30);
  assert.equal(r.cpuShares, 512);
  assert.equal(r.cpuQuota, 50_000);
  assert.equal(r.cpuPeriod, 100_000);
  assert.equal(r.memoryLimitInBytes, 64 * 2 ** 20);
  const be = containerLinuxResources(basePod(), basePod().spec!.containers[0]!, 4 * 2 ** 30);
  assert.equal(be.cpuShares, 2);
  assert.equal(be.oomScoreAdj, 1000);
});

test('DNS per dnsPolicy, and the managed hosts file', () => {
  const settings = { clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', resolvConf: join(mkdtempSync(join(tmpdir(), 'kite-dns-')), 'resolv.conf') };
  writeFileSync(settings.resolvConf, 'nameserver 192.0.2.53\nsearch example.org\noptions edns0\n');
  assert.deepEqual(parseResolvConf(readFileSync(settings.resolvConf, 'utf8')), { servers: ['192.0.2.53'], searches: ['example.org'], options: ['edns0'] });
  assert.deepEqual(podDnsConfig(basePod(), settings), {
    servers: ['10.96.0.10'],
    searches: ['ns.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'example.org'],
    options: ['ndots:5'],
  });
  assert.deepEqual(podDnsConfig(basePod({ dnsPolicy: 'Default' }), settings).servers, ['192.0.2.53']);
  assert.deepEqual(podDnsConfig(basePod({ hostNetwork: true }), settings).servers, ['192.0.2.53']);
  assert.deepEqual(podDnsConfig(basePod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), settings).servers, ['10.96.0.10']);
  const none = podDnsConfig(basePod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a.b'], options: [{ name: 'ndots', value: '2' }, { name: 'rotate' }] } }), settings);
  assert.deepEqual(none, { servers: ['1.1.1.1'], searches: ['a.b'], options: ['ndots:2', 'rotate'] });
  const hosts = managedHostsFile(basePod({ hostname: 'h', subdomain: 'sub', hostAliases: [{ ip: '1.2.3.4', hostnames: ['x', 'y'] }] }), ['10.244.0.9'], 'cluster.local');
  assert.match(hosts, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
  assert.match(hosts, /10\.244\.0\.9\th\.sub\.ns\.svc\.cluster\.local\th\n/);
  assert.match(hosts, /# Entries added by HostAliases\.\n1\.2\.3\.4\tx\ty\n$/);
});

test('CRI log lines: parsing, partial lines, tail, since, timestamps, limit', async () => {
  const e = parseCriLogLine(Buffer.from('2024-05-01T10:00:00.123456789Z stdout F hello world'))!;
  assert.equal(e.stream, 'stdout');
  assert.equal(e.partial, false);
  assert.equal(e.message.toString(), 'hello world');
  assert.equal(e.nanos, rfc3339ToNanos('2024-05-01T10:00:00.123456789Z'));
  assert.equal(parseCriLogLine(Buffer.from('2024-05-01T10:00:00Z stderr F'))!.message.toString(), '');
  assert.equal(tailStart(Buffer.from('a\nb\nc\n'), 2), 2);
  assert.equal(tailStart(Buffer.from('a\nb\nc\n'), 5), 0);
  const dir = mkdtempSync(join(tmpdir(), 'kite-logs-'));
  const file = join(dir, '0.log');
  writeFileSync(
    file,
    [
      '2024-05-01T10:00:00.1Z stdout F one',
      '2024-05-01T10:00:01.1Z stderr F two',
      '2024-05-01T10:00:02.1Z stdout P thr',
      '2024-05-01T10:00:02.2Z stdout F ee',
      '2024-05-01T10:00:03.1Z stdout F four',
      '',
    ].join('\n'),
  );
  const read = async (opts: Parameters<typeof writeContainerLog>[1]) => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await writeContainerLog(file, opts, out);
    return Buffer.concat(chunks).toString();
  };
  assert.equal(await read({}), 'one\ntwo\nthree\nfour\n');
  assert.equal(await read({ tailLines: 1 }), 'four\n');
  assert.equal(await read({ sinceNanos: rfc3339ToNanos('2024-05-01T10:00:02.15Z') }), 'ee\nfour\n');
  assert.equal(await read({ timestamps: true, tailLines: 1 }), '2024-05-01T10:00:03.1Z four\n');
  assert.equal(await read({ limitBytes: 6 }), 'one\ntw');
  assert.equal(await read({ stream: 'stderr' }), 'two\n');
});

test('the atomic writer: ..data symlink swap, top-level links, removed keys disappear, no-op when unchanged', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'kite-vol-')), 'vol');
  const p = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([k, v]) => [k, { data: Buffer.from(v), mode: 0o644 }]));
  assert.equal(writeAtomically(dir, p({ a: '1', 'sub/b': '2' })), true);
  const first = readlinkSync(join(dir, '..data'));
  assert.match(first, /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d{9}$/);
  assert.equal(readlinkSync(join(dir, 'a')), '..data/a');
  assert.equal(readFileSync(join(dir, 'sub', 'b'), 'utf8'), '2');
  assert.equal(writeAtomically(dir, p({ a: '1', 'sub/b': '2' })), false);
  assert.equal(writeAtomically(dir, p({ a: 'changed' })), true);
  assert.notEqual(readlinkSync(join(dir, '..data')), first);
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'changed');
  assert.throws(() => lstatSync(join(dir, 'sub')));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('..') && f !== '..data').length, 1, 'old timestamped dir removed');
  assert.throws(() => writeAtomically(dir, p({ '../escape': 'x' })));
});

test('image references in full, as the runtime names them (which images may fall back offline)', () => {
  assert.equal(fullImageReference('busybox:latest'), 'docker.io/library/busybox:latest');
  assert.equal(fullImageReference('library/busybox:latest'), 'docker.io/library/busybox:latest');
  assert.equal(fullImageReference('bitnami/nginx:1'), 'docker.io/bitnami/nginx:1');
  assert.equal(fullImageReference('docker.io/library/busybox:latest'), 'docker.io/library/busybox:latest');
  assert.equal(fullImageReference('registry.kite.test/e2e/app:1.0'), 'registry.kite.test/e2e/app:1.0');
  assert.equal(fullImageReference('localhost/app:1'), 'localhost/app:1');
  assert.equal(fullImageReference('127.0.0.1:5000/app:1'), '127.0.0.1:5000/app:1');
});
