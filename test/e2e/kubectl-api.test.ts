// Acceptance: the real kubectl (1.27, 1.32, 1.33 and the dispatcher) against a kite
// cluster brought up with `kite up`, through every verb of the API-server issue.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, KUBECTL_DIR, run, waitFor } from './harness.js';
import type { KubectlVersion } from './harness.js';

const cluster = new Cluster('api');

before(async () => {
  await cluster.up();
});

after(async () => {
  await cluster.down();
});

const deployment = (name: string, replicas: number, image = 'nginx:1.25') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels:
    app: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
      - name: web
        image: ${image}
        ports:
        - containerPort: 80
`;

describe('discovery and cluster information', () => {
  test('version reports a 1.33 server, and the dispatcher picks kubectl 1.33', async () => {
    const out = JSON.parse(await cluster.k(['version', '-o', 'json']));
    assert.equal(out.serverVersion.major, '1');
    assert.equal(out.serverVersion.minor, '33');
    const r = await cluster.kubectl(['version', '-o', 'json']);
    assert.equal(r.code, 0);
  });

  test('api-resources lists namespaced and cluster-scoped kinds with short names', async () => {
    const namespaced = await cluster.k(['api-resources', '--namespaced=true', '--no-headers']);
    assert.match(namespaced, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    assert.match(namespaced, /^pods\s+po\s+v1\s+true\s+Pod$/m);
    assert.match(namespaced, /^horizontalpodautoscalers\s+hpa\s+autoscaling\/v2\s+true\s+HorizontalPodAutoscaler$/m);
    const cluster_ = await cluster.k(['api-resources', '--namespaced=false', '--no-headers']);
    assert.match(cluster_, /^nodes\s+no\s+v1\s+false\s+Node$/m);
    assert.match(cluster_, /^storageclasses\s+sc\s+storage.k8s.io\/v1\s+false\s+StorageClass$/m);
    assert.doesNotMatch(cluster_, /^pods\s/m);
  });

  test('api-versions lists every served group version', async () => {
    const out = (await cluster.k(['api-versions'])).split('\n');
    for (const gv of ['v1', 'apps/v1', 'batch/v1', 'networking.k8s.io/v1', 'rbac.authorization.k8s.io/v1', 'autoscaling/v1', 'autoscaling/v2', 'policy/v1', 'coordination.k8s.io/v1']) {
      assert.ok(out.includes(gv), `missing ${gv}`);
    }
  });

  test('cluster-info names the control plane', async () => {
    const out = await cluster.k(['cluster-info']);
    assert.match(out, new RegExp(`Kubernetes control plane.* is running at .*https://127.0.0.1:${cluster.port}`));
  });

  test('the bootstrap namespaces and the kubernetes Service exist', async () => {
    const ns = await cluster.k(['get', 'ns', '-o', 'name']);
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.match(ns, new RegExp(`^namespace/${n}$`, 'm'));
    const svc = await cluster.k(['get', 'svc', 'kubernetes', '-n', 'default']);
    assert.match(svc, /^kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s+\S+$/m);
  });

  test('anonymous requests are refused', async () => {
    // No client certificate, no token: an anonymous request.
    const empty = cluster.writeFile('empty-kubeconfig', 'apiVersion: v1\nkind: Config\n');
    const r = await run(`${KUBECTL_DIR}/kubectl.1.33`, ['--kubeconfig', empty, '--server', `https://127.0.0.1:${cluster.port}`, '--insecure-skip-tls-verify', '--token=not-a-valid-token', 'get', 'pods'], { env: cluster.env() });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /error: You must be logged in to the server/);
  });
});

describe('create with every kubectl version (protobuf bodies on 1.32+)', () => {
  for (const v of ['1.27', '1.32', '1.33'] as KubectlVersion[]) {
    test(`kubectl ${v} create namespace, deployment, configmap, secret, service`, async () => {
      const ns = `create-${v.replace('.', '-')}`;
      assert.match(await cluster.k(['create', 'namespace', ns], { version: v }), new RegExp(`namespace/${ns} created`));
      assert.match(await cluster.k(['-n', ns, 'create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=2', '--port=80'], { version: v }), /deployment.apps\/web created/);
      assert.match(await cluster.k(['-n', ns, 'create', 'configmap', 'cfg', '--from-literal=a=1', '--from-literal=b=two'], { version: v }), /configmap\/cfg created/);
      assert.match(await cluster.k(['-n', ns, 'create', 'secret', 'generic', 'sec', '--from-literal=password=s3cr3t'], { version: v }), /secret\/sec created/);
      assert.match(await cluster.k(['-n', ns, 'create', 'service', 'clusterip', 'web', '--tcp=80:8080'], { version: v }), /service\/web created/);
      const dep = JSON.parse(await cluster.k(['-n', ns, 'get', 'deployment', 'web', '-o', 'json'], { version: v }));
      assert.equal(dep.spec.replicas, 2);
      assert.equal(dep.spec.template.spec.containers[0].image, 'nginx:1.25');
      assert.equal(dep.spec.template.spec.containers[0].ports[0].containerPort, 80);
      assert.equal(dep.spec.strategy.type, 'RollingUpdate');
      assert.equal(dep.metadata.generation, 1);
      const cm = JSON.parse(await cluster.k(['-n', ns, 'get', 'cm', 'cfg', '-o', 'json'], { version: v }));
      assert.deepEqual(cm.data, { a: '1', b: 'two' });
      const secret = await cluster.k(['-n', ns, 'get', 'secret', 'sec', '-o', 'jsonpath={.data.password}'], { version: v });
      assert.equal(Buffer.from(secret, 'base64').toString(), 's3cr3t');
      const svc = JSON.parse(await cluster.k(['-n', ns, 'get', 'svc', 'web', '-o', 'json'], { version: v }));
      assert.match(svc.spec.clusterIP, /^10\.(9[6-9]|1[01]\d)\.\d+\.\d+$/);
      assert.equal(svc.spec.ports[0].targetPort, 8080);
    });
  }

  test('kubectl create token, then the token authenticates as the ServiceAccount', async () => {
    for (const v of ['1.27', '1.33'] as KubectlVersion[]) {
      const token = (await cluster.k(['create', 'token', 'default'], { version: v })).trim();
      assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      const empty = cluster.writeFile('empty-kubeconfig', 'apiVersion: v1\nkind: Config\n');
      const who = await run(`${KUBECTL_DIR}/kubectl.1.33`, ['--kubeconfig', empty, '--server', `https://127.0.0.1:${cluster.port}`, '--insecure-skip-tls-verify', `--token=${token}`, 'auth', 'whoami'], { env: cluster.env() });
      assert.equal(who.code, 0, who.stderr);
      assert.match(who.stdout, /Username\s+system:serviceaccount:default:default/);
      assert.match(who.stdout, /Groups\s+\[system:serviceaccounts system:serviceaccounts:default system:authenticated\]/);
    }
    const short = await cluster.kubectl(['create', 'token', 'default', '--duration=1m']);
    assert.match(short.stderr, /spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes/);
  });

  test('kubectl auth can-i answers (protobuf SelfSubjectAccessReview)', async () => {
    assert.equal((await cluster.k(['auth', 'can-i', 'create', 'deployments'])).trim(), 'yes');
  });
});

describe('apply', () => {
  test('client-side apply: created, unchanged, configured', async () => {
    const f = cluster.writeFile('apply-web.yaml', deployment('apply-web', 1));
    assert.match(await cluster.k(['apply', '-f', f]), /deployment.apps\/apply-web created/);
    assert.match(await cluster.k(['apply', '-f', f]), /deployment.apps\/apply-web unchanged/);
    const f2 = cluster.writeFile('apply-web.yaml', deployment('apply-web', 3, 'nginx:1.26'));
    assert.match(await cluster.k(['apply', '-f', f2]), /deployment.apps\/apply-web configured/);
    const dep = JSON.parse(await cluster.k(['get', 'deploy', 'apply-web', '-o', 'json']));
    assert.equal(dep.spec.replicas, 3);
    assert.equal(dep.spec.template.spec.containers[0].image, 'nginx:1.26');
    assert.equal(dep.metadata.generation, 2);
    assert.ok(dep.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
  });

  test('client-side apply with kubectl 1.27', async () => {
    const f = cluster.writeFile('apply-127.yaml', deployment('apply-127', 1));
    assert.match(await cluster.k(['apply', '-f', f], { version: '1.27' }), /created/);
    assert.match(await cluster.k(['apply', '-f', f], { version: '1.27' }), /unchanged/);
  });

  test('server-side apply: a conflict between two managers, then force', async () => {
    const f = cluster.writeFile('ssa.yaml', deployment('ssa-web', 2));
    assert.match(await cluster.k(['apply', '--server-side', '--field-manager=team-a', '-f', f]), /serverside-applied/);
    const f2 = cluster.writeFile('ssa2.yaml', deployment('ssa-web', 5));
    const r = await cluster.kubectl(['apply', '--server-side', '--field-manager=team-b', '-f', f2]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Apply failed with 1 conflict: conflict with "team-a"/);
    assert.match(r.stderr, /\.spec\.replicas/);
    assert.match(await cluster.k(['apply', '--server-side', '--field-manager=team-b', '--force-conflicts', '-f', f2]), /serverside-applied/);
    const dep = JSON.parse(await cluster.k(['get', 'deploy', 'ssa-web', '-o', 'json', '--show-managed-fields']));
    assert.equal(dep.spec.replicas, 5);
    const managers = dep.metadata.managedFields.map((m: { manager: string }) => m.manager);
    assert.ok(managers.includes('team-a') && managers.includes('team-b'), managers.join(','));
  });
});

describe('get in every output format', () => {
  before(async () => {
    await cluster.k(['create', 'namespace', 'getter']);
    await cluster.k(['apply', '-n', 'getter', '-f', cluster.writeFile('get.yaml', deployment('shown', 2))]);
    await cluster.k(['-n', 'getter', 'create', 'configmap', 'one', '--from-literal=k=v']);
    await cluster.k(['-n', 'getter', 'label', 'configmap', 'one', 'tier=gold']);
  });

  test('table and wide', async () => {
    const out = await cluster.k(['-n', 'getter', 'get', 'deployments']);
    assert.match(out, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
    assert.match(out, /^shown\s+[0-2]\/2\s+[0-2]\s+[0-2]\s+\d+s$/m);
    const wide = await cluster.k(['-n', 'getter', 'get', 'deployments', '-o', 'wide']);
    assert.match(wide, /CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide, /web\s+nginx:1.25\s+app=shown/);
  });

  test('yaml, json, jsonpath, custom-columns, name', async () => {
    assert.match(await cluster.k(['-n', 'getter', 'get', 'deploy', 'shown', '-o', 'yaml']), /^kind: Deployment$/m);
    const json = JSON.parse(await cluster.k(['-n', 'getter', 'get', 'deploy', '-o', 'json']));
    assert.equal(json.kind, 'List');
    assert.equal(json.items[0].metadata.name, 'shown');
    assert.equal(await cluster.k(['-n', 'getter', 'get', 'deploy', 'shown', '-o', 'jsonpath={.spec.replicas}']), '2');
    const cc = await cluster.k(['-n', 'getter', 'get', 'deploy', '-o', 'custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas']);
    assert.match(cc, /^NAME\s+REPLICAS\nshown\s+2\n$/);
    assert.equal((await cluster.k(['-n', 'getter', 'get', 'cm', '-o', 'name', '-l', 'tier=gold'])).trim(), 'configmap/one');
  });

  test('label and field selectors, all namespaces', async () => {
    assert.match(await cluster.k(['-n', 'getter', 'get', 'cm', '-l', 'tier=gold']), /^one\s+1\s+\d+s$/m);
    assert.doesNotMatch(await cluster.k(['-n', 'getter', 'get', 'cm', '-l', 'tier!=gold', '-o', 'name']), /configmap\/one/);
    assert.equal((await cluster.k(['-n', 'getter', 'get', 'cm', '--field-selector', 'metadata.name=one', '-o', 'name'])).trim(), 'configmap/one');
    const all = await cluster.k(['get', 'deploy', '-A']);
    assert.match(all, /^NAMESPACE\s+NAME\s+READY/m);
    assert.match(all, /^getter\s+shown\s+[0-2]\/2/m);
    const bad = await cluster.kubectl(['get', 'pods', '--field-selector', 'spec.bogus=1']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /field label not supported: spec.bogus/);
  });

  test('get -w sees a change', async () => {
    const w = cluster.spawnKubectl(['-n', 'getter', 'get', 'cm', '-w']);
    try {
      await waitFor('initial list', () => /one/.test(w.output()));
      await cluster.k(['-n', 'getter', 'create', 'configmap', 'two', '--from-literal=x=y']);
      await waitFor('watch event for two', () => /^two\s+1\s+/m.test(w.output()));
    } finally {
      w.stop();
    }
  });

  test('get all shows workloads and services', async () => {
    const out = await cluster.k(['-n', 'getter', 'get', 'all']);
    assert.match(out, /deployment.apps\/shown/);
  });
});

describe('change and delete', () => {
  before(async () => {
    await cluster.k(['create', 'namespace', 'changes']);
    await cluster.k(['apply', '-n', 'changes', '-f', cluster.writeFile('changes.yaml', deployment('app', 1))]);
  });

  test('describe shows the object', async () => {
    const out = await cluster.k(['-n', 'changes', 'describe', 'deployment', 'app']);
    assert.match(out, /^Name:\s+app$/m);
    assert.match(out, /^Namespace:\s+changes$/m);
    assert.match(out, /^Replicas:\s+1 desired/m);
    assert.match(out, /Image:\s+nginx:1.25/);
  });

  test('patch: strategic, merge, json', async () => {
    await cluster.k(['-n', 'changes', 'patch', 'deploy', 'app', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}']);
    await cluster.k(['-n', 'changes', 'patch', 'deploy', 'app', '--type=merge', '-p', '{"metadata":{"labels":{"patched":"merge"}}}']);
    await cluster.k(['-n', 'changes', 'patch', 'deploy', 'app', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":4}]']);
    const dep = JSON.parse(await cluster.k(['-n', 'changes', 'get', 'deploy', 'app', '-o', 'json']));
    assert.equal(dep.spec.template.spec.containers.length, 1);
    assert.equal(dep.spec.template.spec.containers[0].image, 'nginx:1.27');
    assert.equal(dep.spec.template.spec.containers[0].ports[0].containerPort, 80);
    assert.equal(dep.metadata.labels.patched, 'merge');
    assert.equal(dep.spec.replicas, 4);
    const bad = await cluster.kubectl(['-n', 'changes', 'patch', 'deploy', 'app', '--type=json', '-p', '[{"op":"test","path":"/spec/replicas","value":9}]']);
    assert.notEqual(bad.code, 0);
  });

  test('scale through the scale subresource', async () => {
    assert.match(await cluster.k(['-n', 'changes', 'scale', 'deploy', 'app', '--replicas=2']), /scaled/);
    assert.equal(await cluster.k(['-n', 'changes', 'get', 'deploy', 'app', '-o', 'jsonpath={.spec.replicas}']), '2');
  });

  test('label and annotate', async () => {
    await cluster.k(['-n', 'changes', 'label', 'deploy', 'app', 'team=blue']);
    await cluster.k(['-n', 'changes', 'annotate', 'deploy', 'app', 'note=hello']);
    const dep = JSON.parse(await cluster.k(['-n', 'changes', 'get', 'deploy', 'app', '-o', 'json']));
    assert.equal(dep.metadata.labels.team, 'blue');
    assert.equal(dep.metadata.annotations.note, 'hello');
    const r = await cluster.kubectl(['-n', 'changes', 'label', 'deploy', 'app', 'team=red']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /already has a value \(blue\), and --overwrite is false/);
  });

  test('edit through an editor', async () => {
    const out = await cluster.k(['-n', 'changes', 'edit', 'deploy', 'app'], { env: { KUBE_EDITOR: `sed -i -e 's/note: hello/note: edited/'` } });
    assert.match(out, /deployment.apps\/app edited/);
    assert.equal(await cluster.k(['-n', 'changes', 'get', 'deploy', 'app', '-o', 'jsonpath={.metadata.annotations.note}']), 'edited');
  });

  test('replace with a stale resourceVersion conflicts', async () => {
    const stale = JSON.parse(await cluster.k(['-n', 'changes', 'get', 'deploy', 'app', '-o', 'json']));
    await cluster.k(['-n', 'changes', 'annotate', 'deploy', 'app', '--overwrite', 'note=newer']);
    stale.spec.replicas = 7;
    const r = await cluster.kubectl(['replace', '-f', '-'], { stdin: JSON.stringify(stale) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Operation cannot be fulfilled on deployments.apps "app": the object has been modified; please apply your changes to the latest version and try again/);
  });

  test('diff shows a pending change', async () => {
    const f = cluster.writeFile('diff.yaml', deployment('app', 9));
    const r = await cluster.kubectl(['-n', 'changes', 'diff', '-f', f]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^-\s+replicas: 2$/m);
    assert.match(r.stdout, /^\+\s+replicas: 9$/m);
  });

  test('wait for a condition and for deletion', async () => {
    await cluster.k(['-n', 'changes', 'create', 'configmap', 'waited']);
    assert.match(await cluster.k(['-n', 'changes', 'wait', '--for=jsonpath={.metadata.name}=waited', 'cm/waited', '--timeout=20s']), /condition met/);
    // -v=6 logs each request: delete only once kubectl watches, so it must see the deletion.
    const w = cluster.spawnKubectl(['-v=6', '-n', 'changes', 'wait', '--for=delete', 'cm/waited', '--timeout=30s']);
    await waitFor('kubectl wait watching', () => /\/configmaps\?[^\s"]*watch=true/.test(w.output()), 20_000, 50).catch((err: Error) => {
      w.stop();
      throw new Error(`${err.message}\n${w.output()}`);
    });
    await cluster.k(['-n', 'changes', 'delete', 'cm', 'waited']);
    assert.equal(await w.exited, 0, w.output());
  });

  test('delete by name, by file, by label, --all', async () => {
    for (const n of ['d1', 'd2', 'd3', 'd4']) await cluster.k(['-n', 'changes', 'create', 'configmap', n]);
    await cluster.k(['-n', 'changes', 'label', 'cm', 'd3', 'gone=yes']);
    assert.match(await cluster.k(['-n', 'changes', 'delete', 'cm', 'd1']), /configmap "d1" deleted/);
    const f = cluster.writeFile('d2.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d2\n  namespace: changes\n');
    assert.match(await cluster.k(['delete', '-f', f]), /configmap "d2" deleted/);
    assert.match(await cluster.k(['-n', 'changes', 'delete', 'cm', '-l', 'gone=yes']), /configmap "d3" deleted/);
    assert.match(await cluster.k(['-n', 'changes', 'delete', 'cm', '--all']), /configmap "d4" deleted/);
    const r = await cluster.kubectl(['-n', 'changes', 'get', 'cm', 'd1']);
    assert.match(r.stderr, /Error from server \(NotFound\): configmaps "d1" not found/);
  });

  test('deleting a namespace removes its contents and then the namespace', async () => {
    await cluster.k(['create', 'namespace', 'doomed']);
    await cluster.k(['-n', 'doomed', 'create', 'configmap', 'inside']);
    await cluster.k(['delete', 'namespace', 'doomed', '--wait=true', '--timeout=30s']);
    const r = await cluster.kubectl(['get', 'ns', 'doomed']);
    assert.match(r.stderr, /namespaces "doomed" not found/);
  });
});

describe('errors as upstream words them', () => {
  test('invalid names and missing fields are 422 with field causes', async () => {
    const f = cluster.writeFile('bad.yaml', deployment('Bad_Name', 1));
    const r = await cluster.kubectl(['apply', '-f', f]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /The Deployment "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/);
  });

  test('unknown fields fail strict validation', async () => {
    const f = cluster.writeFile('typo.yaml', deployment('typo', 1).replace('replicas: 1', 'replicas: 1\n  replicaz: 2'));
    const r = await cluster.kubectl(['apply', '-f', f]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown field "spec.replicaz"/);
  });

  test('creating into a missing namespace fails', async () => {
    const r = await cluster.kubectl(['-n', 'nowhere', 'create', 'configmap', 'x']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /namespaces "nowhere" not found/);
  });

  test('duplicate create is AlreadyExists', async () => {
    await cluster.k(['create', 'configmap', 'twice']);
    // The typed `create configmap` wraps the server's error as upstream's kubectl does…
    const typed = await cluster.kubectl(['create', 'configmap', 'twice']);
    assert.match(typed.stderr, /error: failed to create configmap: configmaps "twice" already exists/);
    // …and `create -f` prints the Status as it came.
    const f = cluster.writeFile('twice.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\n');
    const r = await cluster.kubectl(['create', '-f', f]);
    assert.match(r.stderr, /Error from server \(AlreadyExists\): error when creating ".*twice.yaml": configmaps "twice" already exists/);
  });
});

describe('the API server proxy', () => {
  test('services/NAME:PORT/proxy reaches an endpoint, as kubectl get --raw and kubectl proxy use it', async () => {
    // A backend on the host, reached through a Service with hand-written Endpoints.
    const { createServer } = await import('node:http');
    const { hostIPv4 } = await import('../../server/control-plane.js');
    const server = createServer((req, res) => res.end(`backend saw ${req.url}`));
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const manifest = `apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  ports: [{name: http, port: 80, targetPort: ${port}}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: backend}
subsets:
- addresses: [{ip: "${hostIPv4()}"}]
  ports: [{name: http, port: ${port}}]
`;
      await cluster.k(['apply', '-f', cluster.writeFile('backend.yaml', manifest)]);
      assert.equal(await cluster.k(['get', '--raw', '/api/v1/namespaces/default/services/backend:http/proxy/hello?x=1']), 'backend saw /hello?x=1');
      const none = await cluster.kubectl(['get', '--raw', '/api/v1/namespaces/default/services/kubernetes:nope/proxy/']);
      assert.match(none.stderr, /ServiceUnavailable|no endpoints available for service/);
    } finally {
      server.close();
    }
  });
});

describe('explain (OpenAPI v3, and v2 protobuf for 1.27)', () => {
  for (const v of ['1.27', '1.33'] as KubectlVersion[]) {
    test(`kubectl ${v} explain`, async () => {
      const out = await cluster.k(['explain', 'deployment.spec.replicas'], { version: v });
      assert.match(out, /KIND:\s+Deployment/);
      assert.match(out, /replicas/);
      assert.match(out, /Number of desired pods/);
    });
  }
});
