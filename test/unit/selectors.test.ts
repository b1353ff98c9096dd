import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelSelectorMatches, parseFieldSelector, parseLabelSelector } from '../../apiserver/selectors.js';
import { StatusError } from '../../machinery/status.js';

test('label selectors: equality, set-based, existence', () => {
  const m = (s: string, l: Record<string, string>) => parseLabelSelector(s).matcher(l);
  assert.equal(m('app=web', { app: 'web' }), true);
  assert.equal(m('app==web,tier!=db', { app: 'web', tier: 'fe' }), true);
  assert.equal(m('tier!=db', {}), true);
  assert.equal(m('env in (prod, staging)', { env: 'staging' }), true);
  assert.equal(m('env notin (prod)', { env: 'prod' }), false);
  assert.equal(m('app,!legacy', { app: 'x' }), true);
  assert.equal(m('app,!legacy', { app: 'x', legacy: '1' }), false);
  assert.equal(parseLabelSelector('').empty, true);
  assert.deepEqual([...parseLabelSelector('a=b,c in (d)').equalities], [['a', 'b']]);
});

test('field selectors: =, ==, != and unknown fields rejected', () => {
  const f = parseFieldSelector('metadata.name=x,status.phase!=Failed', (k) => k === 'metadata.name' || k === 'status.phase');
  assert.equal(f.matcher({ 'metadata.name': 'x', 'status.phase': 'Running' }), true);
  assert.equal(f.matcher({ 'metadata.name': 'x', 'status.phase': 'Failed' }), false);
  assert.throws(
    () => parseFieldSelector('spec.foo=1', (k) => k === 'metadata.name'),
    (e: unknown) => e instanceof StatusError && e.code === 400 && /field label not supported: spec.foo/.test(e.message),
  );
});

test('LabelSelector objects', () => {
  const sel = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe', 'be'] }, { key: 'old', operator: 'DoesNotExist' }] };
  assert.equal(labelSelectorMatches(sel, { app: 'web', tier: 'fe' }), true);
  assert.equal(labelSelectorMatches(sel, { app: 'web', tier: 'fe', old: 'y' }), false);
  assert.equal(labelSelectorMatches(undefined, { app: 'web' }), false);
});
