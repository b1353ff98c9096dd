// Authorization benchmark: the RBAC authorizer (and the Node authorizer in front of
// it, as the request pipeline chains them) over the bootstrap policy plus a cluster
// of N users, each with a namespace RoleBinding to edit and a ClusterRoleBinding to a
// small role of their own (2N extra bindings). Requests cycle over users, namespaces
// and verbs, allowed and not, so both the first-match and the full-scan paths run.
//
// Per scenario it prints authorizations/s: memoized (the steady state), and cold
// (invalidate() before every request, what a role or binding change costs the next
// request), plus the Node authorizer's secret check for a node with 100 pods.
//
//   node dist/bench/authz.js [--users 250] [--seconds 2]
import type { Pod } from 'kubernetes-types/core/v1.js';
import { AuthorizerChain } from '../apiserver/authorization/types.js';
import type { RequestAttributes } from '../apiserver/authorization/types.js';
import { RbacAuthorizer } from '../apiserver/authorization/rbac.js';
import { NodeAuthorizer, NodeGraphCache } from '../apiserver/authorization/node.js';
import { MemoryRbac, bootstrapped, req, userSubject } from '../test/unit/authz-fixture.js';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const USERS = opt('users', 250);
const SECONDS = opt('seconds', 2);

function cluster(): MemoryRbac {
  const m = bootstrapped();
  for (let i = 0; i < USERS; i++) {
    m.bind(`ns-${i % 50}`, `edit-user-${i}`, 'ClusterRole', 'edit', [userSubject(`user-${i}`)]);
    m.addClusterRole(`nodes-${i}`, [{ verbs: ['get'], apiGroups: [''], resources: ['nodes'], resourceNames: [`node-${i}`] }]);
    m.bindCluster(`nodes-${i}`, `nodes-${i}`, [userSubject(`user-${i}`)]);
  }
  return m;
}

function requests(): RequestAttributes[] {
  const out: RequestAttributes[] = [];
  for (let i = 0; i < USERS; i++) {
    const user = { name: `user-${i}`, groups: ['system:authenticated'] };
    const ns = `ns-${i % 50}`;
    out.push(req(user, 'list', 'pods', { ns }));
    out.push(req(user, 'create', 'deployments', { group: 'apps', ns }));
    out.push(req(user, 'get', 'secrets', { ns, name: 's' }));
    out.push(req(user, 'create', 'rolebindings', { group: 'rbac.authorization.k8s.io', ns })); // denied: every rule scanned
    out.push(req(user, 'get', 'pods', { ns: 'elsewhere', name: 'p' })); // denied
    out.push(req(user, 'get', 'nodes', { name: `node-${i}` }));
  }
  return out;
}

function measure(label: string, reqs: RequestAttributes[], run: (r: RequestAttributes) => unknown, before?: () => void): void {
  let n = 0;
  let allowed = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(SECONDS * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 256; i++) {
      before?.();
      const d = run(reqs[n % reqs.length]) as { decision: string };
      if (d.decision === 'allow') allowed++;
      n++;
    }
    now = process.hrtime.bigint();
  }
  const secs = Number(now - start) / 1e9;
  console.log(`${label.padEnd(46)} ${Math.round(n / secs).toLocaleString('en-US').padStart(12)} authorizations/s  (${Math.round((100 * allowed) / n)}% allowed)`);
}

const m = cluster();
const bindings = m.crbs.length + [...m.roleBindingsByNs.values()].reduce((a, l) => a + l.length, 0);
console.log(`${USERS} users, ${bindings} bindings, ${m.clusterRolesByName.size + m.roles.size} roles`);
const rbac = new RbacAuthorizer(m);
const pods: Pod[] = [];
for (let i = 0; i < 100; i++) pods.push({ metadata: { name: `p${i}`, namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x', envFrom: [{ secretRef: { name: `env-${i}` } }] }], volumes: [{ name: 'v', secret: { secretName: `vol-${i}` } }] } });
const nodeGraph = new NodeGraphCache();
for (const p of pods) nodeGraph.upsertPod(p);
const node = new NodeAuthorizer(nodeGraph);
const chain = new AuthorizerChain([node, rbac]);
const reqs = requests();

measure('RBAC, memoized', reqs, (r) => rbac.authorize(r));
measure('Node + RBAC chain, memoized', reqs, (r) => chain.authorize(r));
measure('RBAC, cold (invalidate before each request)', reqs, (r) => rbac.authorize(r), () => rbac.invalidate());
const kubelet = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
const secretReqs = [req(kubelet, 'get', 'secrets', { ns: 'default', name: 'vol-99' }), req(kubelet, 'get', 'secrets', { ns: 'default', name: 'env-50' }), req(kubelet, 'get', 'secrets', { ns: 'default', name: 'none' })];
measure('Node authorizer, secret get, 100 pods on node', secretReqs, (r) => node.authorize(r));
