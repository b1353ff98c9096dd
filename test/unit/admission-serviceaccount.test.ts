// The ServiceAccount admission plugin against upstream (plugin/pkg/admission/serviceaccount,
// Kubernetes 1.33): defaulting, the kube-api-access projected volume, opt-outs, mirror pods.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../machinery/object.js';
import { resourceByKind } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import type { AdmissionOperation, AdmissionPlugin, AdmissionRequest } from '../../apiserver/admission/chain.js';
import { serviceAccountAdmission, type ServiceAccountDeps } from '../../apiserver/admission/serviceaccount.js';

const PODS = resourceByKind('', 'v1', 'Pod')!;
const MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const VOLUME_NAME = /^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/;

const TOKEN_PROJECTION = {
  sources: [
    { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
    { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
    { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
  ],
  defaultMode: 420,
};

function sa(name: string, extra: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'team', ...meta }, ...extra };
}

function plugin(accounts: KubeObject[], extra: Partial<ServiceAccountDeps> = {}): AdmissionPlugin {
  return serviceAccountAdmission({
    serviceAccount: (ns, name) => accounts.find((a) => a.metadata?.namespace === ns && a.metadata?.name === name),
    defaultServiceAccountRetry: { attempts: 2, intervalMs: 1 },
    ...extra,
  });
}

function pod(spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'team', ...meta }, spec };
}

function request(op: AdmissionOperation, object: KubeObject, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    operation: op,
    resource: PODS,
    subresource: '',
    namespace: 'team',
    name: object.metadata?.name ?? '',
    object,
    user: { name: 'alice', groups: [] },
    dryRun: false,
    warnings: [],
    ...extra,
  };
}

/** Both phases, as the chain runs them. */
async function admitAndValidate(p: AdmissionPlugin, req: AdmissionRequest): Promise<void> {
  await p.admit!(req);
  await p.validate!(req);
}

async function refused(p: AdmissionPlugin, req: AdmissionRequest): Promise<StatusError> {
  try {
    await admitAndValidate(p, req);
  } catch (e) {
    assert.ok(e instanceof StatusError, `expected a StatusError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the pod to be refused');
}

type Ctr = { name: string; volumeMounts?: unknown[] };
const specOf = (o: KubeObject) => o.spec as { serviceAccountName?: string; serviceAccount?: string; volumes?: { name: string }[]; containers: Ctr[]; initContainers?: Ctr[]; imagePullSecrets?: unknown[] };

test('serviceaccount: defaults the ServiceAccount and mounts the kube-api-access volume into every container and init container', async () => {
  const p = plugin([sa('default')]);
  const o = pod({
    initContainers: [{ name: 'init', image: 'busybox' }],
    containers: [
      { name: 'a', image: 'nginx', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
      { name: 'b', image: 'nginx' },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
  });
  await admitAndValidate(p, request('CREATE', o));
  const spec = specOf(o);
  assert.equal(spec.serviceAccountName, 'default');
  assert.equal(spec.serviceAccount, 'default');
  assert.equal(spec.volumes!.length, 2);
  const vol = spec.volumes![1];
  assert.match(vol.name, VOLUME_NAME);
  assert.deepEqual(vol, { name: vol.name, projected: TOKEN_PROJECTION });
  const mount = { name: vol.name, readOnly: true, mountPath: MOUNT_PATH };
  assert.deepEqual(spec.initContainers![0].volumeMounts, [mount]);
  assert.deepEqual(spec.containers[0].volumeMounts, [{ name: 'data', mountPath: '/data' }, mount]);
  assert.deepEqual(spec.containers[1].volumeMounts, [mount]);
  assert.equal(spec.imagePullSecrets, undefined, 'an SA without pull secrets adds none');

  // names are random per pod
  const names = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const o2 = pod({ containers: [{ name: 'c', image: 'x' }] });
    await p.admit!(request('CREATE', o2));
    names.add(specOf(o2).volumes![0].name);
  }
  assert.ok(names.size > 15);
});

test('serviceaccount: automountServiceAccountToken=false on the pod, or on the ServiceAccount when the pod is silent, mounts nothing', async () => {
  const p = plugin([sa('default'), sa('quiet', { automountServiceAccountToken: false })]);
  const podOff = pod({ automountServiceAccountToken: false, containers: [{ name: 'c', image: 'x' }] });
  await admitAndValidate(p, request('CREATE', podOff));
  assert.equal(specOf(podOff).volumes, undefined);
  assert.equal(specOf(podOff).containers[0].volumeMounts, undefined);
  assert.equal(specOf(podOff).serviceAccountName, 'default');

  const saOff = pod({ serviceAccountName: 'quiet', containers: [{ name: 'c', image: 'x' }] });
  await admitAndValidate(p, request('CREATE', saOff));
  assert.equal(specOf(saOff).volumes, undefined);

  // the pod's explicit true wins over the ServiceAccount's false
  const podOn = pod({ serviceAccountName: 'quiet', automountServiceAccountToken: true, containers: [{ name: 'c', image: 'x' }] });
  await admitAndValidate(p, request('CREATE', podOn));
  assert.equal(specOf(podOn).volumes!.length, 1);
  assert.equal(specOf(podOn).containers[0].volumeMounts!.length, 1);
});

test('serviceaccount: a container that already mounts something at the path is left alone', async () => {
  const p = plugin([sa('default')]);
  const own = { name: 'mytoken', mountPath: MOUNT_PATH, readOnly: true };
  const o = pod({
    containers: [
      { name: 'own', image: 'x', volumeMounts: [own] },
      { name: 'plain', image: 'x' },
    ],
    volumes: [{ name: 'mytoken', secret: { secretName: 'tok' } }],
  });
  await admitAndValidate(p, request('CREATE', o));
  const spec = specOf(o);
  assert.deepEqual(spec.containers[0].volumeMounts, [own]);
  assert.equal(spec.containers[1].volumeMounts!.length, 1);
  assert.equal(spec.volumes!.length, 2);

  // when every container has its own mount, no volume is added
  const all = pod({ containers: [{ name: 'own', image: 'x', volumeMounts: [own] }], volumes: [{ name: 'mytoken', secret: { secretName: 'tok' } }] });
  await admitAndValidate(p, request('CREATE', all));
  assert.deepEqual(specOf(all).volumes, [{ name: 'mytoken', secret: { secretName: 'tok' } }]);
});

test('serviceaccount: an existing kube-api-access volume is reused, not duplicated', async () => {
  const p = plugin([sa('default')]);
  const o = pod({ containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'kube-api-access-abcde', projected: TOKEN_PROJECTION }] });
  await admitAndValidate(p, request('CREATE', o));
  assert.equal(specOf(o).volumes!.length, 1);
  assert.deepEqual(specOf(o).containers[0].volumeMounts, [{ name: 'kube-api-access-abcde', readOnly: true, mountPath: MOUNT_PATH }]);
});

test('serviceaccount: a missing ServiceAccount refuses the pod with upstream’s message', async () => {
  const p = plugin([sa('default')]);
  const err = await refused(p, request('CREATE', pod({ serviceAccountName: 'builder', containers: [{ name: 'c', image: 'x' }] })));
  assert.equal(err.code, 403);
  assert.equal(err.reason, 'Forbidden');
  assert.equal(err.message, 'pods "p" is forbidden: error looking up service account team/builder: serviceaccount "builder" not found');
  assert.deepEqual(err.status.details, { name: 'p', kind: 'pods' });

  // the default ServiceAccount is waited for (its controller creates it with the namespace)
  let lookups = 0;
  const late = serviceAccountAdmission({
    serviceAccount: (_ns, name) => (name === 'default' && ++lookups >= 3 ? sa('default') : undefined),
    defaultServiceAccountRetry: { attempts: 5, intervalMs: 1 },
  });
  const o = pod({ containers: [{ name: 'c', image: 'x' }] });
  await late.admit!(request('CREATE', o));
  // found on the third try; admit then validates, as upstream's Admit does, with one more lookup
  assert.equal(lookups, 4);
  assert.equal(specOf(o).volumes!.length, 1);

  let tries = 0;
  const never = serviceAccountAdmission({
    serviceAccount: () => {
      tries++;
      return undefined;
    },
    defaultServiceAccountRetry: { attempts: 4, intervalMs: 1 },
  });
  const err2 = await refused(never, request('CREATE', pod({ containers: [{ name: 'c', image: 'x' }] })));
  assert.equal(err2.message, 'pods "p" is forbidden: error looking up service account team/default: serviceaccount "default" not found');
  assert.equal(tries, 4);
});

test('serviceaccount: the ServiceAccount’s imagePullSecrets go to a pod that has none', async () => {
  const p = plugin([sa('default', { imagePullSecrets: [{ name: 'regcred' }, { name: 'mirror' }] })]);
  const o = pod({ containers: [{ name: 'c', image: 'x' }] });
  await admitAndValidate(p, request('CREATE', o));
  assert.deepEqual(specOf(o).imagePullSecrets, [{ name: 'regcred' }, { name: 'mirror' }]);
  const own = pod({ imagePullSecrets: [{ name: 'mine' }], containers: [{ name: 'c', image: 'x' }] });
  await admitAndValidate(p, request('CREATE', own));
  assert.deepEqual(specOf(own).imagePullSecrets, [{ name: 'mine' }]);
});

test('serviceaccount: mirror pods are not changed, and may not reference ServiceAccounts or secrets', async () => {
  const p = plugin([sa('default'), sa('x')]);
  const mirror = { annotations: { 'kubernetes.io/config.mirror': 'abc' } };
  const plain = pod({ containers: [{ name: 'c', image: 'x' }] }, mirror);
  await admitAndValidate(p, request('CREATE', plain));
  assert.deepEqual(plain.spec, { containers: [{ name: 'c', image: 'x' }] });

  const cases: [Record<string, unknown>, string][] = [
    [{ serviceAccountName: 'x', containers: [{ name: 'c' }] }, 'a mirror pod may not reference service accounts'],
    [{ containers: [{ name: 'c' }], volumes: [{ name: 's', secret: { secretName: 's' } }] }, 'a mirror pod may not reference secrets'],
    [{ containers: [{ name: 'c', env: [{ name: 'E', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }] }, 'a mirror pod may not reference secrets'],
    [{ containers: [{ name: 'c' }], imagePullSecrets: [{ name: 'r' }] }, 'a mirror pod may not reference secrets'],
    [{ containers: [{ name: 'c' }], volumes: [{ name: 't', projected: { sources: [{ serviceAccountToken: { path: 't' } }] } }] }, 'a mirror pod may not use ServiceAccountToken volume projections'],
  ];
  for (const [spec, why] of cases) {
    const err = await refused(p, request('CREATE', pod(spec, mirror)));
    assert.equal(err.message, `pods "p" is forbidden: ${why}`);
  }
});

test('serviceaccount: kubernetes.io/enforce-mountable-secrets limits the secrets a pod may use', async () => {
  const p = plugin([
    sa('locked', { secrets: [{ name: 'allowed' }], imagePullSecrets: [{ name: 'reg' }] }, { annotations: { 'kubernetes.io/enforce-mountable-secrets': 'true' } }),
    sa('open', { secrets: [] }, { annotations: { 'kubernetes.io/enforce-mountable-secrets': 'nope' } }),
  ]);
  const base = { serviceAccountName: 'locked', containers: [{ name: 'c', image: 'x' }] };
  await admitAndValidate(p, request('CREATE', pod({ ...base, volumes: [{ name: 'v', secret: { secretName: 'allowed' } }] })));
  const cases: [Record<string, unknown>, string][] = [
    [{ ...base, volumes: [{ name: 'v', secret: { secretName: 'other' } }] }, 'volume with secret.secretName="other" is not allowed because service account locked does not reference that secret'],
    [
      { ...base, containers: [{ name: 'c', image: 'x', env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'pw' } } }] }] },
      'container c with envVar PW referencing secret.secretName="db" is not allowed because service account locked does not reference that secret',
    ],
    [
      { ...base, initContainers: [{ name: 'i', image: 'x', envFrom: [{ secretRef: { name: 'db' } }] }] },
      'init container i with envFrom referencing secret.secretName="db" is not allowed because service account locked does not reference that secret',
    ],
    [{ ...base, imagePullSecrets: [{ name: 'reg' }, { name: 'other' }] }, 'imagePullSecrets[1].name="other" is not allowed because service account locked does not reference that imagePullSecret'],
  ];
  for (const [spec, why] of cases) {
    const err = await refused(p, request('CREATE', pod(spec)));
    assert.equal(err.message, `pods "p" is forbidden: ${why}`);
  }
  // an annotation value that is not a true bool does not enforce
  await admitAndValidate(p, request('CREATE', pod({ serviceAccountName: 'open', containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'v', secret: { secretName: 'x' } }] })));

  // ephemeral containers added later are held to the same list
  const running = pod({ serviceAccountName: 'locked', containers: [{ name: 'c', image: 'x' }], ephemeralContainers: [{ name: 'dbg', image: 'x', envFrom: [{ secretRef: { name: 'db' } }] }] });
  const err = await refused(p, request('UPDATE', running, { subresource: 'ephemeralcontainers', oldObject: pod({ serviceAccountName: 'locked', containers: [{ name: 'c', image: 'x' }] }) }));
  assert.equal(err.message, 'pods "p" is forbidden: ephemeral container dbg with envFrom referencing secret.secretName="db" is not allowed because service account locked does not reference that secret');
});

test('serviceaccount: updates, other resources and other subresources are left alone', async () => {
  const p = plugin([sa('default')]);
  const old = pod({ serviceAccountName: 'gone', containers: [{ name: 'c', image: 'x' }] });
  const updated = pod({ serviceAccountName: 'gone', containers: [{ name: 'c', image: 'y' }] });
  await admitAndValidate(p, request('UPDATE', updated, { oldObject: old }));
  assert.deepEqual(updated.spec, { serviceAccountName: 'gone', containers: [{ name: 'c', image: 'y' }] });

  const status = pod({ containers: [{ name: 'c', image: 'x' }] });
  await admitAndValidate(p, request('UPDATE', status, { subresource: 'status', oldObject: status }));
  assert.equal(specOf(status).serviceAccountName, undefined);

  const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'team' } };
  await admitAndValidate(p, request('CREATE', cm, { resource: resourceByKind('', 'v1', 'ConfigMap')! }));
  assert.deepEqual(cm, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'team' } });
});
