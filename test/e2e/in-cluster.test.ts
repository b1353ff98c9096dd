// Acceptance: pods talk to the API as upstream's do — the ServiceAccount admission
// plugin mounts a bound, expiring token with the cluster CA and namespace; the kubelet
// projects them; the `kubernetes` Service reaches the API server. The official Python
// client (Debian's python3-kubernetes, run from the host's /usr inside a busybox pod)
// uses `load_incluster_config()`: 403 with upstream's message before a RoleBinding,
// the pod list after it. A token dies with its pod.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, waitFor, waitForNodeReady } from './harness.js';
import { PYTHON, hostPythonModuleSkip, hostPythonPodSpec } from './host-python.js';

const cluster = new Cluster('incluster');
let skip: string | false = false;

before(async () => {
  skip = await hostPythonModuleSkip('kubernetes');
  if (skip) return;
  await cluster.up();
  await waitForNodeReady(cluster, 120_000);
  await cluster.k(['create', 'namespace', 'ops']);
  await cluster.k(['create', 'serviceaccount', 'lister', '-n', 'ops']);
  await cluster.k(['create', 'configmap', 'script', '-n', 'ops', '--from-literal=list.py=' + SCRIPT]);
});

after(async () => {
  if (!skip) await cluster.down();
});

const SCRIPT = `
import json, os
from kubernetes import client, config
from kubernetes.client.rest import ApiException
config.load_incluster_config()
ns = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read()
out = {"host": os.environ.get("KUBERNETES_SERVICE_HOST"), "port": os.environ.get("KUBERNETES_SERVICE_PORT"), "namespace": ns,
       "files": sorted(f for f in os.listdir("/var/run/secrets/kubernetes.io/serviceaccount") if not f.startswith(".."))}
try:
    out["pods"] = sorted(p.metadata.name for p in client.CoreV1Api().list_namespaced_pod(ns).items)
except ApiException as e:
    out["status"] = e.status
    out["message"] = json.loads(e.body)["message"]
out["token"] = open("/var/run/secrets/kubernetes.io/serviceaccount/token").read()
print(json.dumps(out))
`;

/** A pod running SCRIPT with the host's python3 as the ServiceAccount `lister`. */
function pythonPod(name: string): string {
  const spec = hostPythonPodSpec({
    containerName: 'py',
    command: [PYTHON, '/script/list.py'],
    files: [{ name: 'script', mountPath: '/script', configMap: 'script' }],
    pod: { serviceAccountName: 'lister', restartPolicy: 'Never' },
  });
  return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ops' }, spec });
}

async function runToCompletion(name: string): Promise<any> {
  await cluster.k(['apply', '-f', '-'], { stdin: pythonPod(name) });
  await waitFor(
    `pod ${name} to finish`,
    async () => {
      const phase = (await cluster.kubectl(['get', 'pod', name, '-n', 'ops', '-o', 'jsonpath={.status.phase}'])).stdout;
      return phase === 'Succeeded' || phase === 'Failed' ? phase : undefined;
    },
    120_000,
    500,
  );
  const logs = await cluster.k(['logs', name, '-n', 'ops']);
  const line = logs.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`pod ${name} printed no result:\n${logs}\n${await cluster.k(['describe', 'pod', name, '-n', 'ops'])}`);
  }
}

async function tokenReview(token: string): Promise<any> {
  const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } });
  return JSON.parse(await cluster.k(['create', '-f', '-', '-o', 'json'], { stdin: body })).status;
}

describe('a pod using the official Python client in-cluster', () => {
  let firstToken = '';

  test('the pod gets the kube-api-access volume, the kubernetes Service env, and 403 before a RoleBinding', async (t) => {
    if (skip) return t.skip(skip);
    const out = await runToCompletion('py1');
    const pod = JSON.parse(await cluster.k(['get', 'pod', 'py1', '-n', 'ops', '-o', 'json']));
    const vol = pod.spec.volumes.find((v: any) => v.name.startsWith('kube-api-access-'));
    assert.ok(vol, 'the ServiceAccount admission plugin added the projected volume');
    assert.deepEqual(vol.projected.sources.map((s: any) => Object.keys(s)[0]), ['serviceAccountToken', 'configMap', 'downwardAPI']);
    assert.equal(out.host, '10.96.0.1');
    assert.equal(out.port, '443');
    assert.equal(out.namespace, 'ops');
    assert.deepEqual(out.files, ['ca.crt', 'namespace', 'token']);
    assert.equal(out.status, 403);
    assert.equal(out.message, 'pods is forbidden: User "system:serviceaccount:ops:lister" cannot list resource "pods" in API group "" in the namespace "ops"');
    firstToken = out.token;
    const review = await tokenReview(firstToken);
    assert.equal(review.authenticated, true);
    assert.equal(review.user.username, 'system:serviceaccount:ops:lister');
    assert.deepEqual(review.user.extra['authentication.kubernetes.io/pod-name'], ['py1']);
  });

  test('after a RoleBinding the pod lists pods in its namespace', async (t) => {
    if (skip) return t.skip(skip);
    await cluster.k(['create', 'role', 'pod-reader', '--verb=get,list,watch', '--resource=pods', '-n', 'ops']);
    await cluster.k(['create', 'rolebinding', 'lister-reads', '--role=pod-reader', '--serviceaccount=ops:lister', '-n', 'ops']);
    const out = await runToCompletion('py2');
    assert.equal(out.status, undefined, out.message);
    assert.ok(out.pods.includes('py1') && out.pods.includes('py2'), JSON.stringify(out.pods));
  });

  test('a token is invalid once its pod is gone', async (t) => {
    if (skip) return t.skip(skip);
    assert.ok(firstToken);
    await cluster.k(['delete', 'pod', 'py1', '-n', 'ops', '--wait=true']);
    const review = await waitFor('the token to be rejected', async () => {
      const r = await tokenReview(firstToken);
      return r.authenticated ? undefined : r;
    }, 90_000, 1000);
    assert.notEqual(review.authenticated, true);
  });

  test('automountServiceAccountToken: false mounts nothing', async (t) => {
    if (skip) return t.skip(skip);
    await cluster.k(['run', 'nomount', '-n', 'ops', '--image=busybox', '--image-pull-policy=IfNotPresent', '--restart=Never', '--overrides={"spec":{"automountServiceAccountToken":false}}', '--', 'true']);
    const pod = JSON.parse(await cluster.k(['get', 'pod', 'nomount', '-n', 'ops', '-o', 'json']));
    assert.equal((pod.spec.volumes ?? []).some((v: any) => v.name.startsWith('kube-api-access-')), false);
    assert.equal((pod.spec.containers[0].volumeMounts ?? []).length, 0);
  });

  test('every namespace gets the kube-root-ca.crt ConfigMap', async (t) => {
    if (skip) return t.skip(skip);
    const ca = await cluster.k(['get', 'configmap', 'kube-root-ca.crt', '-n', 'ops', '-o', 'jsonpath={.data.ca\\.crt}']);
    assert.match(ca, /BEGIN CERTIFICATE/);
  });
});
