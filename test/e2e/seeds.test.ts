// Acceptance: the manifests of the seed articles (test/fixtures/seeds, copied
// verbatim) apply as upstream Kubernetes treats them — including upstream's errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster } from './harness.js';

// dist/test/e2e → test/fixtures/seeds in the source tree.
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'seeds');
const cluster = new Cluster('seeds');

before(async () => {
  await cluster.up();
});

after(async () => {
  await cluster.down();
});

test('seed 000 as written: kubectl refuses the unquoted placeholder image before sending anything', async () => {
  const r = await cluster.kubectl(['apply', '-f', join(fixtures, '000-picturesocial.yaml')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /error converting YAML to JSON: yaml: line 21: did not find expected key/);
  const svc = await cluster.kubectl(['get', 'svc', 'service-name']);
  assert.match(svc.stderr, /services "service-name" not found/);
});

test('seed 000 with a real image: the Deployment is rejected for its names, the LoadBalancer Service is created', async () => {
  const manifest = readFileSync(join(fixtures, '000-picturesocial.yaml'), 'utf8').replace('[aws account id].dkr.ecr.[aws region].amazonaws.com/imageName', 'nginx:1.25');
  const r = await cluster.kubectl(['apply', '-f', cluster.writeFile('seed000.yaml', manifest)]);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, /service\/service-name created/);
  assert.match(r.stderr, /The Deployment "deploymentName" is invalid/);
  assert.match(r.stderr, /metadata.name: Invalid value: "deploymentName": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters/);
  assert.match(r.stderr, /spec.template.spec.containers\[0\].name: Invalid value: "applicationName": a lowercase RFC 1123 label must consist of lower case alphanumeric characters/);
  const svc = JSON.parse(await cluster.k(['get', 'svc', 'service-name', '-o', 'json']));
  assert.equal(svc.spec.type, 'LoadBalancer');
  assert.equal(svc.spec.ports[0].port, 80);
  assert.equal(svc.spec.ports[0].targetPort, 80);
  assert.ok(svc.spec.ports[0].nodePort >= 30000 && svc.spec.ports[0].nodePort <= 32767);
});

test('seed 003: kubectl apply -f k8s/ creates the Deployment and the Service', async () => {
  const out = await cluster.k(['apply', '-f', join(fixtures, '003-node-app.yaml')]);
  assert.match(out, /deployment.apps\/node-deployment created/);
  assert.match(out, /service\/node-service created/);
  const dep = JSON.parse(await cluster.k(['get', 'deploy', 'node-deployment', '-o', 'json']));
  assert.equal(dep.spec.replicas, 3);
  assert.equal(dep.spec.template.spec.containers[0].image, 'node-app:v1');
  assert.equal(dep.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent');
  const svc = JSON.parse(await cluster.k(['get', 'svc', 'node-service', '-o', 'json']));
  assert.equal(svc.spec.type, 'ClusterIP');
  assert.equal(svc.spec.ports[0].targetPort, 8080);
  assert.equal(svc.spec.ports[0].protocol, 'TCP');
});

test('seed 004: the placeholder Pod names are rejected as upstream rejects them', async () => {
  const r = await cluster.kubectl(['apply', '-f', join(fixtures, '004-pod.yaml')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /The Pod "<my pod name here>" is invalid/);
  assert.match(r.stderr, /metadata.name: Invalid value: "<my pod name here>"/);
  assert.match(r.stderr, /spec.containers\[0\].name: Invalid value: "<my container name here>"/);
});
