// Acceptance: a small operator written for this test — the official Python client
// (Debian's python3-kubernetes, run from the host's /usr inside a busybox pod) with a
// ServiceAccount and a Role — watches a custom resource and reconciles it into a
// ConfigMap owned by the resource, and writes the resource's status through the status
// subresource. kubectl applies, edits and deletes the resource; the ConfigMap follows,
// and the garbage collector removes it once its owner is gone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyYaml, Cluster, waitFor, waitForNodeReady } from './harness.js';
import { PYTHON, hostPythonDeployment, hostPythonModuleSkip } from './host-python.js';

const cluster = new Cluster('helmop-operator');
const NS = 'shop';
let skip: string | false = false;

const CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: greetings.ops.example.com}
spec:
  group: ops.example.com
  scope: Namespaced
  names: {plural: greetings, singular: greeting, kind: Greeting, shortNames: [gr]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [message]
            properties:
              message: {type: string}
              extra:
                type: object
                additionalProperties: {type: string}
          status:
            type: object
            properties:
              configMapName: {type: string}
              observedGeneration: {type: integer}
`;

// The operator: list, reconcile everything, then watch from the list's resourceVersion;
// on any error or the end of a watch, start over (a 410 Gone included). Reconciling is
// idempotent, so the MODIFIED event its own status write causes changes nothing.
const OPERATOR = `
import sys, time
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
config.load_incluster_config()
ns = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read()
core = client.CoreV1Api()
crs = client.CustomObjectsApi()
G, V, P = "ops.example.com", "v1", "greetings"

def reconcile(cr):
    meta = cr["metadata"]
    if meta.get("deletionTimestamp"):
        return
    name = meta["name"] + "-greeting"
    data = {"message": cr["spec"]["message"]}
    data.update(cr["spec"].get("extra") or {})
    owner = client.V1OwnerReference(api_version=G + "/" + V, kind="Greeting", name=meta["name"], uid=meta["uid"], controller=True)
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, namespace=ns, labels={"greeting": meta["name"]}, owner_references=[owner]), data=data)
    try:
        current = core.read_namespaced_config_map(name, ns)
        if current.data != data:
            core.replace_namespaced_config_map(name, ns, body)
            print("updated", name, flush=True)
    except ApiException as e:
        if e.status != 404:
            raise
        core.create_namespaced_config_map(ns, body)
        print("created", name, flush=True)
    status = cr.get("status") or {}
    if status.get("configMapName") != name or status.get("observedGeneration") != meta["generation"]:
        crs.patch_namespaced_custom_object_status(G, V, ns, P, meta["name"], {"status": {"configMapName": name, "observedGeneration": meta["generation"]}})
        print("status", meta["name"], meta["generation"], flush=True)

while True:
    try:
        listed = crs.list_namespaced_custom_object(G, V, ns, P)
        for cr in listed["items"]:
            reconcile(cr)
        w = watch.Watch()
        for ev in w.stream(crs.list_namespaced_custom_object, G, V, ns, P, resource_version=listed["metadata"]["resourceVersion"], timeout_seconds=60):
            if ev["type"] in ("ADDED", "MODIFIED"):
                reconcile(ev["object"])
    except Exception as e:
        print("error:", repr(e), file=sys.stderr, flush=True)
        time.sleep(1)
`;

const RBAC = `apiVersion: v1
kind: ServiceAccount
metadata: {name: greeter, namespace: ${NS}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: greeter, namespace: ${NS}}
rules:
- apiGroups: [ops.example.com]
  resources: [greetings]
  verbs: [get, list, watch]
- apiGroups: [ops.example.com]
  resources: [greetings/status]
  verbs: [get, update, patch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, create, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: greeter, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: greeter}
subjects:
- {kind: ServiceAccount, name: greeter, namespace: ${NS}}
`;

/** The operator's Deployment: the host's python3 running OPERATOR as the ServiceAccount `greeter`. */
const DEPLOYMENT = hostPythonDeployment(NS, 'greeter', {
  containerName: 'operator',
  command: [PYTHON, '-u', '/operator/operator.py'],
  files: [{ name: 'operator', mountPath: '/operator', configMap: 'greeter-code' }],
  pod: { serviceAccountName: 'greeter' },
});

before(async () => {
  skip = await hostPythonModuleSkip('kubernetes');
  if (skip) return;
  await cluster.up();
  await waitForNodeReady(cluster, 120_000);
  await applyYaml(cluster, 'crd', CRD);
  await cluster.k(['wait', '--for=condition=Established', 'crd/greetings.ops.example.com', '--timeout=60s']);
  await cluster.k(['create', 'namespace', NS]);
  await applyYaml(cluster, 'rbac', RBAC);
  await cluster.k(['create', 'configmap', 'greeter-code', '-n', NS, '--from-literal=operator.py=' + OPERATOR]);
  await applyYaml(cluster, 'operator', DEPLOYMENT);
  await cluster.k(['rollout', 'status', 'deployment/greeter', '-n', NS, '--timeout=120s'], { timeoutMs: 130_000 });
});

after(async () => {
  if (!skip) await cluster.down();
});

async function operatorLogs(): Promise<string> {
  const r = await cluster.kubectl(['logs', 'deployment/greeter', '-n', NS, '--tail=40']);
  return r.stdout + r.stderr;
}

async function getJson(args: string[]): Promise<any | undefined> {
  const r = await cluster.kubectl(['get', ...args, '-n', NS, '-o', 'json']);
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

/** Polls until `pred` holds for the object; on timeout, says what the operator printed. */
async function waitForObject(what: string, args: string[], pred: (o: any) => boolean): Promise<any> {
  try {
    return await waitFor(what, async () => {
      const o = await getJson(args);
      return o && pred(o) ? o : undefined;
    }, 90_000, 500);
  } catch (err) {
    throw new Error(`${(err as Error).message}\noperator logs:\n${await operatorLogs()}`, { cause: err });
  }
}

describe('an operator using the official Python client in a pod', () => {
  test('applying a Greeting makes an owned ConfigMap from its spec and writes its status', async (t) => {
    if (skip) return t.skip(skip);
    await applyYaml(cluster, 'hello', `apiVersion: ops.example.com/v1
kind: Greeting
metadata: {name: hello, namespace: ${NS}}
spec:
  message: hello world
  extra: {lang: en}
`);
    const cm = await waitForObject('ConfigMap hello-greeting', ['configmap', 'hello-greeting'], () => true);
    assert.deepEqual(cm.data, { message: 'hello world', lang: 'en' });
    const cr = await getJson(['greeting', 'hello']);
    assert.deepEqual(cm.metadata.ownerReferences, [{ apiVersion: 'ops.example.com/v1', kind: 'Greeting', name: 'hello', uid: cr.metadata.uid, controller: true }]);
    const done = await waitForObject('Greeting hello status', ['greeting', 'hello'], (o) => o.status?.observedGeneration === 1);
    assert.deepEqual(done.status, { configMapName: 'hello-greeting', observedGeneration: 1 });
    assert.equal(done.metadata.generation, 1, 'a status write does not bump the generation');
    // kubectl reads the status through the status subresource as well.
    assert.equal(await cluster.k(['get', 'greeting', 'hello', '-n', NS, '--subresource=status', '-o', 'jsonpath={.status.configMapName}']), 'hello-greeting');
  });

  test('editing the Greeting updates the ConfigMap and the observed generation', async (t) => {
    if (skip) return t.skip(skip);
    await cluster.k(['patch', 'greeting', 'hello', '-n', NS, '--type=merge', '-p', '{"spec":{"message":"hello again","extra":{"lang":"fr"}}}']);
    const cm = await waitForObject('ConfigMap hello-greeting updated', ['configmap', 'hello-greeting'], (o) => o.data?.message === 'hello again');
    assert.deepEqual(cm.data, { message: 'hello again', lang: 'fr' });
    const cr = await waitForObject('Greeting hello observedGeneration 2', ['greeting', 'hello'], (o) => o.status?.observedGeneration === 2);
    assert.equal(cr.metadata.generation, 2);
    assert.equal(cr.status.configMapName, 'hello-greeting');
  });

  test('a second Greeting gets its own ConfigMap', async (t) => {
    if (skip) return t.skip(skip);
    await applyYaml(cluster, 'bye', `apiVersion: ops.example.com/v1
kind: Greeting
metadata: {name: bye, namespace: ${NS}}
spec: {message: goodbye}
`);
    const cm = await waitForObject('ConfigMap bye-greeting', ['configmap', 'bye-greeting'], () => true);
    assert.deepEqual(cm.data, { message: 'goodbye' });
    await waitForObject('Greeting bye status', ['greeting', 'bye'], (o) => o.status?.configMapName === 'bye-greeting');
  });

  test('deleting the Greeting garbage-collects its ConfigMap and leaves the other one', async (t) => {
    if (skip) return t.skip(skip);
    await cluster.k(['delete', 'greeting', 'hello', '-n', NS]);
    await waitFor('ConfigMap hello-greeting to be garbage-collected', async () => {
      const r = await cluster.kubectl(['get', 'configmap', 'hello-greeting', '-n', NS]);
      return r.code !== 0 && /NotFound|not found/.test(r.stderr) ? true : undefined;
    }, 90_000, 500);
    assert.ok(await getJson(['configmap', 'bye-greeting']), 'the other Greeting keeps its ConfigMap');
    const logs = await operatorLogs();
    assert.doesNotMatch(logs, /Forbidden/, logs);
  });
});
