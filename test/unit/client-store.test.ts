import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiObject } from '../../client/transport.js';
import { NAMESPACE_INDEX, Store, indexByNamespace, indexByNodeName, indexByOwnerUID } from '../../client/store.js';
import { namespacedKey, objectKey, splitKey } from '../../client/keys.js';

type P = ApiObject & { spec?: { nodeName?: string } };

const p = (ns: string, name: string, node?: string, owners: string[] = [], rv = '1'): P => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace: ns, name, resourceVersion: rv, ownerReferences: owners.map((uid) => ({ apiVersion: 'v1', kind: 'X', name: uid, uid })) },
  spec: node ? { nodeName: node } : {},
});

test('keys: namespace/name, bare names for cluster-scoped objects', () => {
  assert.equal(objectKey(p('ns', 'a')), 'ns/a');
  assert.equal(objectKey({ metadata: { name: 'node1' } }), 'node1');
  assert.equal(namespacedKey(undefined, 'x'), 'x');
  assert.deepEqual(splitKey('ns/a'), { namespace: 'ns', name: 'a' });
  assert.deepEqual(splitKey('node1'), { namespace: undefined, name: 'node1' });
});

test('store indexes follow adds, updates and deletes incrementally', () => {
  const s = new Store<P>({ byNamespace: indexByNamespace, byNodeName: indexByNodeName, byOwnerUID: indexByOwnerUID });
  s.set('a/1', p('a', '1', 'n1', ['o1']));
  s.set('a/2', p('a', '2', 'n1', ['o1', 'o2']));
  s.set('b/3', p('b', '3', undefined, ['o2']));
  const names = (xs: P[]) => xs.map((x) => x.metadata!.name).sort();
  assert.deepEqual(names(s.byIndex('byNodeName', 'n1')), ['1', '2']);
  assert.deepEqual(names(s.byIndex('byOwnerUID', 'o2')), ['2', '3']);
  assert.deepEqual(names(s.listNamespace('a')), ['1', '2']);
  assert.deepEqual(s.indexValues('byNodeName'), ['n1'], 'unscheduled pods are filed under nothing');

  // Move 2 to another node and drop one owner.
  const old = s.set('a/2', p('a', '2', 'n2', ['o2'], '2'));
  assert.equal(old!.metadata!.resourceVersion, '1');
  assert.deepEqual(names(s.byIndex('byNodeName', 'n1')), ['1']);
  assert.deepEqual(names(s.byIndex('byNodeName', 'n2')), ['2']);
  assert.deepEqual(names(s.byIndex('byOwnerUID', 'o1')), ['1']);
  s.delete('a/1');
  assert.deepEqual(s.byIndex('byNodeName', 'n1'), []);
  assert.deepEqual(s.indexValues('byOwnerUID').sort(), ['o2'], 'empty index values are dropped');
  assert.equal(s.delete('a/1'), undefined);

  // Indexes added later cover what is already there.
  s.addIndexers({ byName: (o) => [o.metadata!.name!] });
  assert.deepEqual(s.indexKeys('byName', '3'), ['b/3']);
  s.addIndexers({ byNamespace: indexByNamespace }); // same function: no-op
  assert.throws(() => s.addIndexers({ byNamespace: () => [] }), /already exists/);
  assert.throws(() => s.byIndex('nope', 'x'), /does not exist/);
  s.clear();
  assert.equal(s.size, 0);
  assert.deepEqual(s.indexValues('byNamespace'), []);
});

test('byIndex answers from the objects filed now, after replacements, deletions and moves; its lists are the caller’s', () => {
  const s = new Store<ApiObject>({ byNamespace: indexByNamespace });
  const obj = (ns: string, name: string, v: string): ApiObject => ({ metadata: { namespace: ns, name, resourceVersion: v } });
  s.set('a/x', obj('a', 'x', '1'));
  s.set('a/y', obj('a', 'y', '1'));
  const first = s.byIndex('byNamespace', 'a');
  assert.deepEqual(first.map((o) => o.metadata?.name), ['x', 'y']);
  first.length = 0;
  assert.equal(s.byIndex('byNamespace', 'a').length, 2, 'changing a returned list changes nothing');
  s.set('a/x', obj('a', 'x', '2'));
  assert.deepEqual(s.byIndex('byNamespace', 'a').map((o) => o.metadata?.resourceVersion), ['2', '1'], 'a replaced object');
  s.set('a/z', obj('a', 'z', '1'));
  s.delete('a/y');
  assert.deepEqual(s.byIndex('byNamespace', 'a').map((o) => o.metadata?.name), ['x', 'z']);
  s.set('a/x', obj('b', 'x', '3'));
  assert.deepEqual(s.byIndex('byNamespace', 'a').map((o) => o.metadata?.name), ['z'], 'moved out');
  assert.deepEqual(s.byIndex('byNamespace', 'b').map((o) => o.metadata?.resourceVersion), ['3'], 'moved in');
  s.clear();
  assert.deepEqual(s.byIndex('byNamespace', 'b'), []);
});

test('a lazy index is built from the objects held on its first use and kept up to date after; the same function made eager is that index', () => {
  const store = new Store<ApiObject>();
  store.addLazyIndexers({ [NAMESPACE_INDEX]: indexByNamespace });
  const obj = (ns: string, name: string): ApiObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: ns, name } });
  store.set('a/one', obj('a', 'one'));
  store.set('b/two', obj('b', 'two'));
  store.set('a/two', obj('a', 'two'));
  store.delete('a/two');
  assert.equal(store.hasIndex(NAMESPACE_INDEX), true);
  // First use: built from what is held now.
  assert.deepEqual(store.indexKeys(NAMESPACE_INDEX, 'a'), ['a/one']);
  assert.deepEqual(store.listNamespace('b').map((o) => o.metadata?.name), ['two']);
  // Kept up to date from then on.
  store.set('a/three', obj('a', 'three'));
  store.delete('b/two');
  assert.deepEqual(store.indexKeys(NAMESPACE_INDEX, 'a').sort(), ['a/one', 'a/three']);
  assert.deepEqual(store.indexValues(NAMESPACE_INDEX), ['a']);

  const other = new Store<ApiObject>();
  other.addLazyIndexers({ [NAMESPACE_INDEX]: indexByNamespace });
  other.set('c/x', obj('c', 'x'));
  other.addIndexers({ [NAMESPACE_INDEX]: indexByNamespace });
  other.set('c/y', obj('c', 'y'));
  assert.deepEqual(other.indexKeys(NAMESPACE_INDEX, 'c').sort(), ['c/x', 'c/y']);
  assert.throws(() => other.addLazyIndexers({ [NAMESPACE_INDEX]: () => ['elsewhere'] }), /already exists/);
  const third = new Store<ApiObject>();
  third.addLazyIndexers({ [NAMESPACE_INDEX]: indexByNamespace });
  assert.throws(() => third.addIndexers({ [NAMESPACE_INDEX]: () => ['elsewhere'] }), /already exists/);
});
