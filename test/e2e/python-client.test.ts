// Acceptance: a strict client — Debian's python3-kubernetes, which raises on responses
// missing fields the API marks required — lists and reads objects from kite.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Cluster, run } from './harness.js';

const cluster = new Cluster('python');
const python = '/usr/bin/python3';

async function hasPythonClient(): Promise<boolean> {
  if (!existsSync(python)) return false;
  return (await run(python, ['-c', 'import kubernetes'])).code === 0;
}

before(async () => {
  await cluster.up();
});

after(async () => {
  await cluster.down();
});

const script = `
import sys, json
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
core = client.CoreV1Api()
apps = client.AppsV1Api()
out = {}
out["version"] = client.VersionApi().get_code().minor
out["namespaces"] = sorted(n.metadata.name for n in core.list_namespace().items)
svc = core.read_namespaced_service("kubernetes", "default")
out["kubernetes_ip"] = svc.spec.cluster_ip
out["deployments"] = [d.metadata.name for d in apps.list_deployment_for_all_namespaces().items]
dep = apps.read_namespaced_deployment("py-web", "default")
out["replicas"] = dep.spec.replicas
out["configmaps"] = [c.metadata.name for c in core.list_namespaced_config_map("default").items]
out["services"] = [s.metadata.name for s in core.list_service_for_all_namespaces().items]
out["sa"] = [s.metadata.name for s in core.list_namespaced_service_account("default").items]
out["events"] = len(core.list_event_for_all_namespaces().items)
out["pods"] = len(core.list_pod_for_all_namespaces().items)
created = core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="from-python"), data={"k": "v"}))
out["created_rv"] = bool(created.metadata.resource_version)
print(json.dumps(out))
`;

test('python3-kubernetes lists and reads objects without schema errors', async (t) => {
  if (!(await hasPythonClient())) {
    t.skip('python3-kubernetes is not installed (scripts/test.sh installs it when run as root)');
    return;
  }
  await cluster.k(['create', 'deployment', 'py-web', '--image=nginx:1.25', '--replicas=2']);
  await cluster.k(['create', 'configmap', 'py-cm', '--from-literal=a=b']);
  const r = await run(python, ['-c', script, cluster.kubeconfig], { env: cluster.env() });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.version, '33');
  assert.deepEqual(out.namespaces, ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  assert.equal(out.kubernetes_ip, '10.96.0.1');
  assert.ok(out.deployments.includes('py-web'));
  assert.equal(out.replicas, 2);
  assert.ok(out.configmaps.includes('py-cm'));
  assert.ok(out.services.includes('kubernetes'));
  assert.deepEqual(out.sa, ['default']);
  assert.equal(out.created_rv, true);
});
