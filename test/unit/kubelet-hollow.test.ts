// The kubelet with the simulated (hollow) runtime against an in-process control
// plane: registration and Lease, pods going Running with upstream status, and
// graceful deletion ending with the kubelet removing the pod. No root needed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { startTestControlPlane, type TestControlPlane } from './control-plane-fixture.js';
import { HttpTransport } from '../../client/http-transport.js';
import { isNotFound } from '../../client/transport.js';
import { issueClientCert } from '../../machinery/pki.js';
import { resourceByPath } from '../../machinery/resources.js';
import { defaultKubeletConfig } from '../../kubelet/config.js';
import { HollowRuntime } from '../../kubelet/hollow.js';
import { Kubelet } from '../../kubelet/kubelet.js';

const PODS = resourceByPath('', 'v1', 'pods')!;
const NODES = resourceByPath('', 'v1', 'nodes')!;
const LEASES = resourceByPath('coordination.k8s.io', 'v1', 'leases')!;

let t: TestControlPlane;
let admin: HttpTransport;
let kubelet: Kubelet;

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  t = await startTestControlPlane('hollow');
  const { ca, dir, server } = t;
  const adminCert = await issueClientCert(ca, { commonName: 'kubernetes-admin', organizations: ['system:masters'] });
  admin = new HttpTransport({ server, caData: ca.cert, certData: adminCert.cert, keyData: adminCert.key }, { component: 'test' });
  const nodeCert = await issueClientCert(ca, { commonName: 'system:node:hollow-1', organizations: ['system:nodes'] });
  for (const [f, v] of [['ca.crt', ca.cert], ['node.crt', nodeCert.cert], ['node.key', nodeCert.key]]) writeFileSync(join(dir, f!), v!);
  const config = defaultKubeletConfig({
    nodeName: 'hollow-1',
    apiServer: server,
    caFile: join(dir, 'ca.crt'),
    clientCertFile: join(dir, 'node.crt'),
    clientKeyFile: join(dir, 'node.key'),
    servingCertFile: join(dir, 'node.crt'),
    servingKeyFile: join(dir, 'node.key'),
    rootDir: join(dir, 'kubelet'),
    runtime: 'hollow',
    nodeIP: '192.0.2.77',
    podCIDR: '10.250.7.0/24',
    port: 10250,
  });
  kubelet = new Kubelet({ config, runtime: new HollowRuntime({ nodeName: 'hollow-1' }), hollow: true, log: () => {} });
  await kubelet.start();
});

after(async () => {
  await kubelet?.stop();
  admin?.close();
  await t?.close();
});

test('a hollow node registers Ready with its Lease', async () => {
  const node = await admin.get<Node>(NODES, undefined, 'hollow-1');
  assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  assert.equal(node.status?.nodeInfo?.containerRuntimeVersion, 'hollow://1.0.0');
  assert.equal(node.spec?.podCIDR, '10.250.7.0/24');
  assert.equal(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address, '192.0.2.77');
  assert.equal(node.status?.daemonEndpoints?.kubeletEndpoint?.Port, 10250);
  const lease = await eventually('the lease', () => admin.get<{ kind?: string; spec?: { holderIdentity?: string } }>(LEASES, 'kube-node-lease', 'hollow-1'));
  assert.equal(lease.spec?.holderIdentity, 'hollow-1');
});

test('pods bound to the hollow node go Running with upstream status, and are removed after graceful deletion', async () => {
  await admin.create<Pod>(PODS, 'default', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'h1' },
    spec: {
      nodeName: 'hollow-1',
      initContainers: [{ name: 'init', image: 'busybox' }],
      containers: [
        { name: 'a', image: 'busybox' },
        { name: 'b', image: 'busybox' },
      ],
    },
  });
  const pod = await eventually('h1 Running', async () => {
    const p = await admin.get<Pod>(PODS, 'default', 'h1');
    return p.status?.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? p : undefined;
  });
  assert.deepEqual(
    pod.status!.conditions!.map((c) => c.type),
    ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'],
  );
  assert.match(pod.status!.podIP!, /^10\.\d+\.\d+\.\d+$/);
  assert.equal(pod.status!.hostIP, '192.0.2.77');
  assert.equal(pod.status!.initContainerStatuses![0]!.state!.terminated!.reason, 'Completed');
  assert.ok(pod.status!.containerStatuses!.every((c) => c.ready && c.started && /^hollow:\/\//.test(c.containerID ?? '')));
  assert.ok(pod.status!.startTime);

  await admin.delete(PODS, 'default', 'h1', { gracePeriodSeconds: 30 });
  await eventually('h1 removed by the kubelet', async () => {
    try {
      await admin.get<Pod>(PODS, 'default', 'h1');
      return undefined;
    } catch (err) {
      return isNotFound(err) ? true : undefined;
    }
  });
});
