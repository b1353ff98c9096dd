import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import YAML from 'yaml';
import {
  buildKubeconfig,
  contextName,
  defaultUserKubeconfigPath,
  kubeconfigToYAML,
  mergeIntoUserKubeconfig,
  removeFromUserKubeconfig,
} from '../../machinery/kubeconfig.js';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

function sample(name: string, port = 6443) {
  return buildKubeconfig({
    clusterName: name,
    server: `https://127.0.0.1:${port}`,
    caCert: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
    clientCert: '-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n',
    clientKey: '-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n',
  });
}

const OTHER = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example:443
    insecure-skip-tls-verify: true
users:
- name: prod-user
  user:
    token: secret
contexts:
- name: prod
  context:
    cluster: prod
    user: prod-user
    namespace: web
current-context: prod
preferences:
  colors: true
extensions:
- name: something
  extension: {a: 1}
`;

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kite-kubeconfig-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('buildKubeconfig embeds base64 credentials under kite-NAME', () => {
  const cfg = sample('dev');
  assert.equal(contextName('dev'), 'kite-dev');
  assert.equal(cfg['current-context'], 'kite-dev');
  assert.equal(cfg.clusters[0]!.name, 'kite-dev');
  assert.equal(cfg.clusters[0]!.cluster.server, 'https://127.0.0.1:6443');
  assert.match(
    Buffer.from(cfg.clusters[0]!.cluster['certificate-authority-data']!, 'base64').toString(),
    /BEGIN CERTIFICATE-----\nCA/,
  );
  assert.match(Buffer.from(cfg.users[0]!.user['client-key-data']!, 'base64').toString(), /PRIVATE KEY-----\nKEY/);
  assert.deepEqual(cfg.contexts, [{ name: 'kite-dev', context: { cluster: 'kite-dev', user: 'kite-dev' } }]);
  assert.deepEqual(YAML.parse(kubeconfigToYAML(cfg)), cfg);
});

test('merge creates a missing file 0600 (and its directory)', (t) => {
  const path = join(tmp(t), 'nested', '.kube', 'config');
  assert.equal(mergeIntoUserKubeconfig(path, sample('a'), true), path);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const doc = YAML.parse(readFileSync(path, 'utf8'));
  assert.equal(doc['current-context'], 'kite-a');
  assert.deepEqual(doc.contexts.map((c: { name: string }) => c.name), ['kite-a']);
});

test('merge keeps other entries and fields, replaces same-named ones', (t) => {
  const path = join(tmp(t), 'config');
  writeFileSync(path, OTHER, { mode: 0o640 });

  mergeIntoUserKubeconfig(path, sample('a'), false);
  let doc = YAML.parse(readFileSync(path, 'utf8'));
  assert.equal(doc['current-context'], 'prod', 'setCurrent=false keeps current-context');
  assert.deepEqual(doc.contexts.map((c: { name: string }) => c.name), ['prod', 'kite-a']);
  assert.equal(statSync(path).mode & 0o777, 0o640, 'existing file keeps its mode');

  mergeIntoUserKubeconfig(path, sample('b'), true);
  mergeIntoUserKubeconfig(path, sample('a', 7443), true);
  doc = YAML.parse(readFileSync(path, 'utf8'));
  assert.equal(doc['current-context'], 'kite-a');
  assert.deepEqual(doc.clusters.map((c: { name: string }) => c.name), ['prod', 'kite-b', 'kite-a']);
  assert.deepEqual(doc.users.map((c: { name: string }) => c.name), ['prod-user', 'kite-b', 'kite-a']);
  assert.equal(doc.clusters.find((c: { name: string }) => c.name === 'kite-a').cluster.server, 'https://127.0.0.1:7443');
  // Untouched: the other cluster's settings, context namespace, preferences, extensions.
  const prod = YAML.parse(OTHER);
  assert.deepEqual(doc.clusters[0], prod.clusters[0]);
  assert.deepEqual(doc.users[0], prod.users[0]);
  assert.deepEqual(doc.contexts[0], prod.contexts[0]);
  assert.deepEqual(doc.preferences, prod.preferences);
  assert.deepEqual(doc.extensions, prod.extensions);

  if (hasKubectl) {
    const out = execFileSync('kubectl', ['config', 'get-contexts', '-o', 'name', '--kubeconfig', path], { encoding: 'utf8' });
    assert.deepEqual(out.trim().split('\n').sort(), ['kite-a', 'kite-b', 'prod']);
    const current = execFileSync('kubectl', ['config', 'current-context', '--kubeconfig', path], { encoding: 'utf8' });
    assert.equal(current.trim(), 'kite-a');
  }

  // Removing kite-a clears current-context, keeps everything else.
  assert.equal(removeFromUserKubeconfig(path, 'kite-a'), true);
  doc = YAML.parse(readFileSync(path, 'utf8'));
  assert.equal(doc['current-context'], '');
  assert.deepEqual(doc.contexts.map((c: { name: string }) => c.name), ['prod', 'kite-b']);
  assert.deepEqual(doc.clusters.map((c: { name: string }) => c.name), ['prod', 'kite-b']);
  assert.deepEqual(doc.users.map((c: { name: string }) => c.name), ['prod-user', 'kite-b']);
  assert.equal(removeFromUserKubeconfig(path, 'kite-a'), false, 'second removal is a no-op');

  // Removing a context that is not current leaves current-context alone.
  mergeIntoUserKubeconfig(path, sample('c'), true);
  removeFromUserKubeconfig(path, 'kite-b');
  doc = YAML.parse(readFileSync(path, 'utf8'));
  assert.equal(doc['current-context'], 'kite-c');
  assert.equal(removeFromUserKubeconfig(join(tmp(t), 'absent'), 'kite-c'), false);
});

test('merge handles empty files and null lists, refuses to clobber garbage', (t) => {
  const dir = tmp(t);
  const empty = join(dir, 'empty');
  writeFileSync(empty, '');
  mergeIntoUserKubeconfig(empty, sample('a'), true);
  assert.equal(YAML.parse(readFileSync(empty, 'utf8')).contexts.length, 1);

  const nulls = join(dir, 'nulls');
  writeFileSync(nulls, 'apiVersion: v1\nkind: Config\nclusters: null\nusers:\ncontexts: []\ncurrent-context: ""\n');
  mergeIntoUserKubeconfig(nulls, sample('a'), true);
  const doc = YAML.parse(readFileSync(nulls, 'utf8'));
  assert.equal(doc.clusters.length, 1);
  assert.equal(doc.users.length, 1);

  const garbage = join(dir, 'garbage');
  writeFileSync(garbage, 'key: [unclosed\n');
  assert.throws(() => mergeIntoUserKubeconfig(garbage, sample('a'), true), /cannot parse/);
  assert.equal(readFileSync(garbage, 'utf8'), 'key: [unclosed\n');
});

test('the user kubeconfig path follows kubectl: first existing $KUBECONFIG entry, else the last', (t) => {
  const dir = tmp(t);
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  assert.equal(defaultUserKubeconfigPath({ HOME: '/home/x' }), '/home/x/.kube/config');
  assert.equal(defaultUserKubeconfigPath({ HOME: '/home/x', KUBECONFIG: '' }), '/home/x/.kube/config');
  assert.equal(defaultUserKubeconfigPath({ KUBECONFIG: a }), a);
  assert.equal(defaultUserKubeconfigPath({ KUBECONFIG: [a, b].join(delimiter) }), b);
  writeFileSync(b, '');
  assert.equal(defaultUserKubeconfigPath({ KUBECONFIG: [a, b].join(delimiter) }), b);
  writeFileSync(a, '');
  assert.equal(defaultUserKubeconfigPath({ KUBECONFIG: [a, b].join(delimiter) }), a);
});
