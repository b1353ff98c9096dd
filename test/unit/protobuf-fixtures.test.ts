// Real kubectl 1.32/1.33 protobuf request bodies (test/fixtures/protobuf) must
// decode to the JSON object the same command sends/prints as JSON, and
// re-encode to the very same bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeKubernetesProtobuf, encodeKubernetesProtobuf, PROTOBUF_KINDS } from '../../apiserver/protobuf/index.js';

const FIXTURES = new URL('../../../test/fixtures/protobuf/', import.meta.url);

interface Fixture {
  body: string;
  kubectl: string;
  command: string;
  request: string;
  expected: string;
  expectedFrom: string;
  ignore?: string[];
  reencodeNote?: string;
}

const manifest = JSON.parse(readFileSync(new URL('manifest.json', FIXTURES), 'utf8')) as Fixture[];

function dropPath(obj: unknown, path: string): void {
  const parts = path.split('.');
  let cur: unknown = obj;
  for (const p of parts.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object') return;
    cur = (cur as Record<string, unknown>)[p];
  }
  if (cur !== null && typeof cur === 'object') delete (cur as Record<string, unknown>)[parts[parts.length - 1]];
}

test('the fixture set covers both kubectl versions and the main commands', () => {
  const versions = new Set(manifest.map((f) => f.kubectl));
  assert.deepEqual([...versions].sort(), ['1.32', '1.33']);
  for (const cmd of ['create deployment', 'create configmap', 'create secret generic', 'create secret tls', 'create namespace', 'create service nodeport', 'create job', 'create cronjob', 'create role', 'create rolebinding', 'create clusterrole', 'create ingress', 'create pdb', 'create priorityclass', 'create quota', 'create serviceaccount', 'create token', 'auth can-i get pods', 'auth can-i --list']) {
    for (const v of versions) assert.ok(manifest.some((f) => f.kubectl === v && f.command.startsWith(`kubectl ${cmd}`)), `missing ${cmd} for ${v}`);
  }
});

for (const fx of manifest) {
  test(`kubectl ${fx.kubectl}: ${fx.command} (${fx.request})`, () => {
    const body = readFileSync(new URL(fx.body, FIXTURES));
    const want = JSON.parse(readFileSync(new URL(fx.expected, FIXTURES), 'utf8')) as Record<string, unknown>;
    const got = decodeKubernetesProtobuf(body);
    assert.equal(got.kind, want.kind);
    assert.equal(got.apiVersion, want.apiVersion);
    assert.ok(PROTOBUF_KINDS.has(`${got.apiVersion}/${got.kind}`), `${got.apiVersion}/${got.kind} not in PROTOBUF_KINDS`);
    const a = structuredClone(got.object);
    const b = structuredClone(want);
    for (const p of fx.ignore ?? []) {
      dropPath(a, p);
      dropPath(b, p);
    }
    assert.deepStrictEqual(a, b);

    const again = encodeKubernetesProtobuf(got.apiVersion, got.kind, got.object);
    if (fx.reencodeNote) {
      // Still a fixed point after one trip through the current schema.
      assert.deepStrictEqual(decodeKubernetesProtobuf(again).object, got.object);
    } else {
      assert.equal(again.toString('hex'), body.toString('hex'), 're-encoding must reproduce kubectl bytes');
    }
  });
}
