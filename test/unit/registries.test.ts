import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyRegistries,
  hostsToml,
  normaliseEndpoint,
  parseRegistries,
  readRegistryAuths,
  registryAuthPath,
  writeRegistryHosts,
} from '../../kubelet/runtime/registries.js';
import { containerdConfig, runtimeLayout } from '../../kubelet/runtime/containerd.js';

const SAMPLE = `
mirrors:
  docker.io:
    endpoint:
      - "http://127.0.0.1:35000"
      - "https://mirror.example.com:5000/v2/"
  "127.0.0.1:35000":
    endpoint: ["http://127.0.0.1:35000"]
  "*":
    endpoint: ["https://cache.example.com"]
configs:
  "mirror.example.com:5000":
    tls:
      insecure_skip_verify: true
      ca_file: /etc/ssl/ca.pem
      cert_file: /etc/ssl/c.pem
      key_file: /etc/ssl/c.key
    auth:
      username: alice
      password: "p\\"w"
  "registry.example.org":
    tls:
      ca_file: /ca.pem
`;

describe('registries.yaml', () => {
  test('parses mirrors and configs', () => {
    const c = parseRegistries(SAMPLE, 'r.yaml');
    assert.deepEqual(c.mirrors['docker.io'].endpoints, ['http://127.0.0.1:35000', 'https://mirror.example.com:5000']);
    assert.deepEqual(c.mirrors['*'].endpoints, ['https://cache.example.com']);
    assert.equal(c.configs['mirror.example.com:5000'].tls?.insecureSkipVerify, true);
    assert.equal(c.configs['mirror.example.com:5000'].auth?.username, 'alice');
    assert.equal(c.configs['mirror.example.com:5000'].auth?.password, 'p"w');
  });

  test('empty file and single-string endpoint', () => {
    assert.deepEqual(parseRegistries(''), { mirrors: {}, configs: {} });
    const c = parseRegistries('mirrors:\n  docker.io:\n    endpoint: reg.local:5000\n');
    assert.deepEqual(c.mirrors['docker.io'].endpoints, ['https://reg.local:5000']);
  });

  test('rejects malformed files with the file name', () => {
    assert.throws(() => parseRegistries('mirrors: [1]', 'x.yaml'), /x\.yaml: mirrors must be a mapping/);
    assert.throws(() => parseRegistries('mirors: {}', 'x.yaml'), /unknown key "mirors"/);
    assert.throws(() => parseRegistries('mirrors:\n  docker.io:\n    endpoint: ["ftp://x"]\n'), /scheme must be http or https/);
    assert.throws(() => parseRegistries('mirrors:\n  "bad host/x": {endpoint: []}\n'), /invalid registry host/);
    assert.throws(() => parseRegistries('configs:\n  a.io:\n    tls: {insecure_skip_verify: "yes"}\n'), /true or false/);
    assert.throws(() => parseRegistries('configs:\n  a.io:\n    tls: {cert_file: /c}\n'), /cert_file and key_file/);
    assert.throws(() => parseRegistries('mirrors:\n  docker.io:\n    rewrite: {"(": x}\n'), /invalid regexp/);
    assert.throws(() => parseRegistries(': : :\n  - ['), /not YAML/);
  });

  test('normaliseEndpoint', () => {
    assert.equal(normaliseEndpoint('127.0.0.1:5000'), 'https://127.0.0.1:5000');
    assert.equal(normaliseEndpoint('http://h:1/'), 'http://h:1');
    assert.equal(normaliseEndpoint('http://h:1/sub/v2'), 'http://h:1/sub');
  });

  test('hosts.toml: mirrors in order with pull+resolve, TLS by endpoint host, default server last', () => {
    const c = parseRegistries(SAMPLE);
    const t = hostsToml('docker.io', c);
    assert.match(t, /^server = "https:\/\/registry-1\.docker\.io"$/m);
    const a = t.indexOf('[host."http://127.0.0.1:35000"]');
    const b = t.indexOf('[host."https://mirror.example.com:5000"]');
    assert.ok(a > 0 && b > a, t);
    assert.equal(t.match(/capabilities = \["pull", "resolve"\]/g)?.length, 2);
    const second = t.slice(b);
    assert.match(second, /skip_verify = true/);
    assert.match(second, /ca = "\/etc\/ssl\/ca\.pem"/);
    assert.match(second, /client = \[\["\/etc\/ssl\/c\.pem", "\/etc\/ssl\/c\.key"\]\]/);
    assert.doesNotMatch(t.slice(a, b), /skip_verify/);
    // a registry with only TLS settings: top-level keys apply to its server
    const o = hostsToml('registry.example.org', c);
    assert.match(o, /^server = "https:\/\/registry\.example\.org"\nca = "\/ca\.pem"$/m);
    assert.doesNotMatch(o, /\[host\./);
    // the wildcard has no server of its own
    assert.doesNotMatch(hostsToml('*', c), /^server/m);
  });

  test('writeRegistryHosts writes one dir per host and prunes only its own files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kite-reg-'));
    try {
      const certs = join(dir, 'certs.d');
      mkdirSync(join(certs, 'manual.io'), { recursive: true });
      writeFileSync(join(certs, 'manual.io', 'hosts.toml'), 'server = "https://manual.io"\n');
      const w = writeRegistryHosts(parseRegistries(SAMPLE), certs);
      // a mirror endpoint host with TLS settings also gets its own (pulls naming it directly)
      assert.deepEqual(w.hosts, ['*', '127.0.0.1:35000', 'docker.io', 'mirror.example.com:5000', 'registry.example.org']);
      for (const d of ['_default', '127.0.0.1:35000', 'docker.io', 'mirror.example.com:5000', 'registry.example.org']) assert.ok(existsSync(join(certs, d, 'hosts.toml')), d);
      const again = writeRegistryHosts(parseRegistries('mirrors:\n  docker.io:\n    endpoint: [http://127.0.0.1:1]\n    rewrite: {"^a/(.*)": "b/$1"}\n'), certs);
      assert.deepEqual(again.hosts, ['docker.io']);
      assert.equal(again.warnings.length, 1);
      assert.ok(!existsSync(join(certs, '_default')));
      assert.ok(!existsSync(join(certs, '127.0.0.1:35000')));
      assert.ok(existsSync(join(certs, 'manual.io', 'hosts.toml')), 'foreign hosts.toml kept');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('applyRegistries: auth file read into config.toml; missing file clears it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kite-reg-'));
    try {
      const file = join(dir, 'registries.yaml');
      writeFileSync(file, SAMPLE);
      const state = join(dir, 'containerd');
      applyRegistries(file, state);
      assert.deepEqual(readRegistryAuths(state), { 'mirror.example.com:5000': { username: 'alice', password: 'p"w' } });
      const toml = containerdConfig({ layout: runtimeLayout(state), systemdCgroup: false, restrictOomScoreAdj: true, registryAuth: readRegistryAuths(state) });
      assert.match(toml, /config_path = ".*\/certs\.d"/);
      assert.match(toml, /\[plugins\."io\.containerd\.grpc\.v1\.cri"\.registry\.configs\."mirror\.example\.com:5000"\.auth\]\n {6}username = "alice"\n {6}password = "p\\"w"\n/);
      assert.doesNotMatch(toml, /registry\.mirrors|\.tls\]/);
      applyRegistries(join(dir, 'absent.yaml'), state);
      assert.ok(!existsSync(registryAuthPath(state)));
      assert.ok(!existsSync(join(state, 'certs.d', 'docker.io')));
      const plain = containerdConfig({ layout: runtimeLayout(state), systemdCgroup: false, restrictOomScoreAdj: true });
      assert.doesNotMatch(plain, /registry\.configs/);
      assert.ok(readFileSync(file, 'utf8').length > 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
