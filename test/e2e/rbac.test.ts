// Acceptance: authorization as upstream, driven by the real kubectl — the default roles
// (`kubectl auth can-i` matrix), a ServiceAccount holding only `get pods` through a
// kubeconfig that carries nothing but its token, escalation prevention, impersonation,
// `kubectl auth whoami`, SubjectAccessReview, and Pod Security admission.
// No containers are needed (KITE_NODE=none): this is about the API's front door.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from './harness.js';

const cluster = new Cluster('rbac', { KITE_NODE: 'none' });

before(async () => {
  await cluster.up();
  await cluster.k(['create', 'namespace', 'team-a']);
  for (const sa of ['viewer', 'editor', 'admin', 'getter', 'roler']) await cluster.k(['create', 'serviceaccount', sa, '-n', 'team-a']);
  await cluster.k(['create', 'rolebinding', 'viewer-view', '--clusterrole=view', '--serviceaccount=team-a:viewer', '-n', 'team-a']);
  await cluster.k(['create', 'rolebinding', 'editor-edit', '--clusterrole=edit', '--serviceaccount=team-a:editor', '-n', 'team-a']);
  await cluster.k(['create', 'rolebinding', 'admin-admin', '--clusterrole=admin', '--serviceaccount=team-a:admin', '-n', 'team-a']);
  await cluster.k(['create', 'role', 'pod-getter', '--verb=get', '--resource=pods', '-n', 'team-a']);
  await cluster.k(['create', 'rolebinding', 'getter-pods', '--role=pod-getter', '--serviceaccount=team-a:getter', '-n', 'team-a']);
});

after(async () => {
  await cluster.down();
});

const sa = (name: string) => `system:serviceaccount:team-a:${name}`;

async function canI(as: string, verb: string, resource: string, namespace = 'team-a', extra: string[] = []): Promise<string> {
  const r = await cluster.kubectl(['auth', 'can-i', verb, resource, `--as=${as}`, '-n', namespace, ...extra]);
  return r.stdout.trim();
}

/** A kubeconfig that carries only a bearer token (no client certificate). */
async function tokenKubeconfig(name: string, token: string): Promise<string> {
  const server = (await cluster.k(['config', 'view', '--raw', '-o', 'jsonpath={.clusters[0].cluster.server}'])).trim();
  const ca = (await cluster.k(['config', 'view', '--raw', '-o', 'jsonpath={.clusters[0].cluster.certificate-authority-data}'])).trim();
  return cluster.writeFile(
    `${name}.kubeconfig`,
    `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${server}", certificate-authority-data: "${ca}"}}]
users: [{name: u, user: {token: "${token}"}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: team-a}}]
current-context: x
`,
  );
}

describe('the default roles (kubectl auth can-i)', () => {
  const matrix: [string, string, string, string][] = [
    // [who, verb, resource, answer]
    ['viewer', 'get', 'pods', 'yes'],
    ['viewer', 'list', 'deployments.apps', 'yes'],
    ['viewer', 'watch', 'services', 'yes'],
    ['viewer', 'delete', 'pods', 'no'],
    ['viewer', 'get', 'secrets', 'no'],
    ['viewer', 'create', 'pods/exec', 'no'],
    ['editor', 'create', 'deployments.apps', 'yes'],
    ['editor', 'get', 'secrets', 'yes'],
    ['editor', 'create', 'pods/exec', 'yes'],
    ['editor', 'create', 'roles.rbac.authorization.k8s.io', 'no'],
    ['editor', 'create', 'rolebindings.rbac.authorization.k8s.io', 'no'],
    ['admin', 'create', 'rolebindings.rbac.authorization.k8s.io', 'yes'],
    ['admin', 'create', 'roles.rbac.authorization.k8s.io', 'yes'],
    ['admin', 'delete', 'namespaces', 'no'],
    ['getter', 'get', 'pods', 'yes'],
    ['getter', 'list', 'pods', 'no'],
    ['getter', 'delete', 'pods', 'no'],
  ];
  for (const [who, verb, resource, want] of matrix) {
    test(`${who} ${verb} ${resource} → ${want}`, async () => {
      assert.equal(await canI(sa(who), verb, resource), want);
    });
  }

  test('the roles hold only in their namespace; the admin identity may do everything', async () => {
    assert.equal(await canI(sa('viewer'), 'get', 'pods', 'default'), 'no');
    assert.equal(await canI(sa('admin'), 'get', 'pods', 'default'), 'no');
    assert.equal((await cluster.kubectl(['auth', 'can-i', '*', '*', '-A'])).stdout.trim(), 'yes');
  });

  test('the answer for the question the issue asks', async () => {
    const r = await cluster.kubectl(['auth', 'can-i', 'delete', 'pods', `--as=${sa('viewer')}`, '-n', 'team-a']);
    assert.equal(r.stdout.trim(), 'no');
    assert.equal(r.code, 1);
  });

  test('can-i --list names what a ServiceAccount may do', async () => {
    const out = await cluster.k(['auth', 'can-i', '--list', `--as=${sa('getter')}`, '-n', 'team-a']);
    assert.match(out, /^pods\s+\[\]\s+\[\]\s+\[get\]$/m);
    assert.match(out, /selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/);
    assert.doesNotMatch(out, /^secrets/m);
  });
});

describe('a ServiceAccount token that allows only get pods', () => {
  let kubeconfig = '';
  before(async () => {
    await cluster.k(['run', 'p', '--image=busybox:1', '-n', 'team-a', '--restart=Never', '--', 'sleep', '3600']);
    const token = (await cluster.k(['create', 'token', 'getter', '-n', 'team-a'])).trim();
    kubeconfig = await tokenKubeconfig('getter', token);
  });
  const as = (args: string[]) => cluster.kubectl(['--kubeconfig', kubeconfig, ...args]);

  test('whoami names the ServiceAccount', async () => {
    const r = await as(['auth', 'whoami', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout).status.userInfo;
    assert.equal(info.username, sa('getter'));
    assert.deepEqual([...info.groups].sort(), ['system:authenticated', 'system:serviceaccounts', 'system:serviceaccounts:team-a']);
  });

  test('get pod is allowed', async () => {
    const r = await as(['get', 'pod', 'p', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'pod/p');
  });

  test('delete pod answers upstream 403', async () => {
    const r = await as(['delete', 'pod', 'p']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(Forbidden\): pods "p" is forbidden: User "system:serviceaccount:team-a:getter" cannot delete resource "pods" in API group "" in the namespace "team-a"/);
    assert.equal((await cluster.k(['get', 'pod', 'p', '-n', 'team-a', '-o', 'name'])).trim(), 'pod/p');
  });

  test('list pods, secrets in every namespace, and a cluster-admin binding are refused', async () => {
    const list = await as(['get', 'pods']);
    assert.match(list.stderr, /pods is forbidden: User "system:serviceaccount:team-a:getter" cannot list resource "pods" in API group "" in the namespace "team-a"/);
    const secrets = await as(['get', 'secrets', '-A']);
    assert.match(secrets.stderr, /secrets is forbidden: User "system:serviceaccount:team-a:getter" cannot list resource "secrets" in API group "" at the cluster scope/);
    const crb = await as(['create', 'clusterrolebinding', 'pwn', '--clusterrole=cluster-admin', `--serviceaccount=team-a:getter`]);
    assert.match(crb.stderr, /clusterrolebindings\.rbac\.authorization\.k8s\.io is forbidden: User "system:serviceaccount:team-a:getter" cannot create resource "clusterrolebindings" in API group "rbac\.authorization\.k8s\.io" at the cluster scope/);
  });

  test('a token for another audience is not accepted', async () => {
    const token = (await cluster.k(['create', 'token', 'getter', '-n', 'team-a', '--audience=https://elsewhere.example'])).trim();
    const other = await tokenKubeconfig('other-aud', token);
    const r = await cluster.kubectl(['--kubeconfig', other, 'get', 'pod', 'p']);
    assert.match(r.stderr, /Unauthorized|must be logged in/);
  });
});

describe('escalation prevention', () => {
  let kubeconfig = '';
  before(async () => {
    // roler may manage Roles and RoleBindings in team-a, and may read pods, nothing more.
    await cluster.k(['create', 'role', 'role-manager', '--verb=get,list,create,update,delete', '--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,pods', '-n', 'team-a']);
    await cluster.k(['create', 'rolebinding', 'roler-manager', '--role=role-manager', '--serviceaccount=team-a:roler', '-n', 'team-a']);
    kubeconfig = await tokenKubeconfig('roler', (await cluster.k(['create', 'token', 'roler', '-n', 'team-a'])).trim());
  });
  const as = (args: string[]) => cluster.kubectl(['--kubeconfig', kubeconfig, ...args]);

  test('a Role granting what the user does not hold is refused', async () => {
    const r = await as(['create', 'role', 'deleter', '--verb=delete', '--resource=secrets']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /roles\.rbac\.authorization\.k8s\.io "deleter" is forbidden: user "system:serviceaccount:team-a:roler" \(groups=\["system:serviceaccounts" "system:serviceaccounts:team-a" "system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["secrets"\], Verbs:\["delete"\]\}/);
  });

  test('a Role within what the user holds is allowed', async () => {
    const r = await as(['create', 'role', 'reader', '--verb=get,list', '--resource=pods']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('binding a more powerful ClusterRole is refused until `bind` is granted', async () => {
    const refused = await as(['create', 'rolebinding', 'self-admin', '--clusterrole=admin', '--serviceaccount=team-a:roler']);
    assert.match(refused.stderr, /rolebindings\.rbac\.authorization\.k8s\.io "self-admin" is forbidden: user "system:serviceaccount:team-a:roler" .* is attempting to grant RBAC permissions not currently held/);
    await cluster.k(['create', 'role', 'binder', '--verb=bind', '--resource=clusterroles.rbac.authorization.k8s.io', '--resource-name=view', '-n', 'team-a']);
    await cluster.k(['create', 'rolebinding', 'roler-binder', '--role=binder', '--serviceaccount=team-a:roler', '-n', 'team-a']);
    const allowed = await as(['create', 'rolebinding', 'viewer-for-getter', '--clusterrole=view', '--serviceaccount=team-a:getter']);
    assert.equal(allowed.code, 0, allowed.stderr);
    const stillRefused = await as(['create', 'rolebinding', 'self-admin', '--clusterrole=admin', '--serviceaccount=team-a:roler']);
    assert.notEqual(stillRefused.code, 0);
  });
});

describe('impersonation', () => {
  test('the admin may impersonate; whoami shows the impersonated identity', async () => {
    const out = JSON.parse(await cluster.k(['auth', 'whoami', '--as=jane', '--as-group=developers', '-o', 'json']));
    assert.equal(out.status.userInfo.username, 'jane');
    assert.deepEqual(out.status.userInfo.groups, ['developers', 'system:authenticated']);
  });

  test('impersonation is itself authorized', async () => {
    const kubeconfig = await tokenKubeconfig('imp', (await cluster.k(['create', 'token', 'viewer', '-n', 'team-a'])).trim());
    const r = await cluster.kubectl(['--kubeconfig', kubeconfig, 'get', 'pods', '--as=system:admin']);
    assert.match(r.stderr, /users "system:admin" is forbidden: User "system:serviceaccount:team-a:viewer" cannot impersonate resource "users" in API group "" at the cluster scope/);
  });

  test('whoami for the admin kubeconfig', async () => {
    const out = await cluster.k(['auth', 'whoami']);
    assert.match(out, /Username\s+kubernetes-admin/);
    assert.match(out, /Groups\s+\[system:masters system:authenticated\]/);
  });
});

describe('SubjectAccessReview', () => {
  test('answers for another user', async () => {
    const body = JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: sa('viewer'), groups: ['system:serviceaccounts', 'system:authenticated'], resourceAttributes: { namespace: 'team-a', verb: 'list', resource: 'pods' } },
    });
    const out = JSON.parse(await cluster.k(['create', '-f', '-', '-o', 'json'], { stdin: body }));
    assert.equal(out.status.allowed, true);
    assert.match(out.status.reason, /RBAC: allowed by RoleBinding "viewer-view\/team-a" of ClusterRole "view" to ServiceAccount "viewer\/team-a"/);
  });
});

describe('Pod Security admission', () => {
  before(async () => {
    await cluster.k(['create', 'namespace', 'locked']);
    await cluster.k(['label', 'namespace', 'locked', 'pod-security.kubernetes.io/enforce=restricted']);
  });

  test('a privileged pod is rejected in an enforce=restricted namespace, with upstream message', async () => {
    const pod = `apiVersion: v1
kind: Pod
metadata: {name: priv, namespace: locked}
spec:
  containers:
  - name: c
    image: busybox:1
    securityContext: {privileged: true}
`;
    const r = await cluster.kubectl(['apply', '-f', '-'], { stdin: pod });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged \(container "c" must not set securityContext\.privileged=true\), allowPrivilegeEscalation != false \(container "c" must set securityContext\.allowPrivilegeEscalation=false\), unrestricted capabilities \(container "c" must set securityContext\.capabilities\.drop=\["ALL"\]\), runAsNonRoot != true \(pod or container "c" must set securityContext\.runAsNonRoot=true\), seccompProfile \(pod or container "c" must set securityContext\.seccompProfile\.type to "RuntimeDefault" or "Localhost"\)/,
    );
  });

  test('a compliant pod is admitted; a Deployment that would violate warn gets a warning', async () => {
    const ok = `apiVersion: v1
kind: Pod
metadata: {name: fine, namespace: locked}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: busybox:1
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`;
    const r = await cluster.kubectl(['apply', '-f', '-'], { stdin: ok });
    assert.equal(r.code, 0, r.stderr);
    await cluster.k(['label', 'namespace', 'default', 'pod-security.kubernetes.io/warn=baseline']);
    const dep = await cluster.kubectl(['create', 'deployment', 'hostnet', '--image=busybox:1', '--dry-run=server', '-o', 'yaml', '--', 'sleep', '1']);
    assert.equal(dep.code, 0, dep.stderr);
    const priv = `apiVersion: apps/v1
kind: Deployment
metadata: {name: privdep, namespace: default}
spec:
  selector: {matchLabels: {app: p}}
  template:
    metadata: {labels: {app: p}}
    spec:
      hostNetwork: true
      containers: [{name: c, image: busybox:1}]
`;
    const warned = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { stdin: priv });
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /Warning: would violate PodSecurity "baseline:latest": host namespaces \(hostNetwork=true\)/);
  });
});
