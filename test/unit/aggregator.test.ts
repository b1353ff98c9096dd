// The aggregation layer's pure parts: authorization attributes of proxied requests, the
// availability check's reasons before any network call, and discovery with an aggregated group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Aggregator, aggregatedRequestAttributes } from '../../apiserver/aggregator.js';
import type { AggregatorLookups } from '../../apiserver/aggregator.js';
import { aggregatedDiscovery, apiGroupList } from '../../apiserver/discovery.js';
import type { KubeObject } from '../../machinery/object.js';

function lookups(objects: Record<string, KubeObject[]>): AggregatorLookups {
  return {
    get: (group, plural, namespace, name) => (objects[`${group}/${plural}`] ?? []).find((o) => o.metadata?.name === name && (o.metadata?.namespace ?? undefined) === namespace),
    list: (group, plural, namespace) => (objects[`${group}/${plural}`] ?? []).filter((o) => namespace === undefined || o.metadata?.namespace === namespace),
    onChange: () => () => undefined,
  };
}

const APISERVICE: KubeObject = {
  apiVersion: 'apiregistration.k8s.io/v1',
  kind: 'APIService',
  metadata: { name: 'v1.demo.example' },
  spec: { group: 'demo.example', version: 'v1', groupPriorityMinimum: 1000, versionPriority: 15, service: { namespace: 'ns', name: 'api', port: 443 } },
};
const SERVICE: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: 'ns' }, spec: { ports: [{ name: 'https', port: 443, targetPort: 8443 }] } };
const slice = (ready: boolean): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'api-x', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'api' } },
  ports: [{ name: 'https', port: 8443 }],
  endpoints: ready ? [{ addresses: ['10.0.0.9'], conditions: { ready: true } }] : [],
} as KubeObject);

test('proxied requests are authorized with the verb, namespace, resource, name and subresource of their path', () => {
  const q = new URLSearchParams();
  const seg = (p: string) => p.split('/').filter(Boolean);
  assert.equal(aggregatedRequestAttributes('GET', seg('/apis/g/v1'), q), undefined);
  assert.deepEqual(aggregatedRequestAttributes('GET', seg('/apis/g/v1/widgets'), q), { verb: 'list', namespace: '', resource: 'widgets', name: '', subresource: '' });
  assert.deepEqual(aggregatedRequestAttributes('GET', seg('/apis/g/v1/namespaces/a/widgets/w/status'), q), { verb: 'get', namespace: 'a', resource: 'widgets', name: 'w', subresource: 'status' });
  assert.equal(aggregatedRequestAttributes('GET', seg('/apis/g/v1/namespaces/a/widgets'), new URLSearchParams('watch=true'))?.verb, 'watch');
  assert.equal(aggregatedRequestAttributes('GET', seg('/apis/g/v1/watch/namespaces/a/widgets'), q)?.verb, 'watch');
  assert.equal(aggregatedRequestAttributes('POST', seg('/apis/g/v1/namespaces/a/widgets'), q)?.verb, 'create');
  assert.equal(aggregatedRequestAttributes('DELETE', seg('/apis/g/v1/namespaces/a/widgets'), q)?.verb, 'deletecollection');
  assert.equal(aggregatedRequestAttributes('DELETE', seg('/apis/g/v1/namespaces/a/widgets/w'), q)?.verb, 'delete');
  assert.equal(aggregatedRequestAttributes('PATCH', seg('/apis/g/v1/namespaces/a/widgets/w'), q)?.verb, 'patch');
});

test('the availability check reports upstream reasons for a missing Service, slices and endpoints', async () => {
  const check = async (objects: Record<string, KubeObject[]>) => {
    const a = new Aggregator(lookups({ 'apiregistration.k8s.io/apiservices': [APISERVICE], ...objects }));
    try {
      return await a.check('demo.example', 'v1');
    } finally {
      a.stop();
    }
  };
  assert.deepEqual(await check({}), { status: 'False', reason: 'ServiceNotFound', message: 'service/api in "ns" is not present' });
  assert.equal((await check({ '/services': [SERVICE] }))?.reason, 'EndpointsNotFound');
  assert.deepEqual(await check({ '/services': [SERVICE], 'discovery.k8s.io/endpointslices': [slice(false)] }), {
    status: 'False',
    reason: 'MissingEndpoints',
    message: 'endpoints for service/api in "ns" have no addresses with port name "https"',
  });
  const a = new Aggregator(lookups({ 'apiregistration.k8s.io/apiservices': [APISERVICE] }));
  assert.equal(await a.check('other.example', 'v1'), undefined);
  assert.equal(a.target('demo.example', 'v1')?.available, false);
  assert.deepEqual(a.groups(), [{ name: 'demo.example', versions: [{ version: 'v1', resources: undefined }] }]);
  a.stop();
});

test('discovery lists an aggregated group after the built-in ones, its resources in aggregated discovery', () => {
  const extra = [{ name: 'demo.example', versions: [{ version: 'v1', resources: [{ name: 'widgets', singularName: 'widget', namespaced: true, kind: 'Widget', verbs: ['get', 'list'] }, { name: 'widgets/status', namespaced: true, kind: 'Widget', verbs: ['get'] }] }] }];
  const list = apiGroupList(extra) as { groups: { name: string }[] };
  assert.equal(list.groups.at(-1)?.name, 'demo.example');
  const agg = aggregatedDiscovery(false, 'v2', extra) as { items: { metadata: { name: string }; versions: { version: string; freshness: string; resources: Record<string, unknown>[] }[] }[] };
  const item = agg.items.find((i) => i.metadata.name === 'demo.example')!;
  assert.deepEqual(item.versions, [
    {
      version: 'v1',
      freshness: 'Current',
      resources: [
        {
          resource: 'widgets',
          responseKind: { group: 'demo.example', version: 'v1', kind: 'Widget' },
          scope: 'Namespaced',
          singularResource: 'widget',
          verbs: ['get', 'list'],
          subresources: [{ subresource: 'status', responseKind: { group: 'demo.example', version: 'v1', kind: 'Widget' }, verbs: ['get'] }],
        },
      ],
    },
  ]);
  const stale = aggregatedDiscovery(false, 'v2', [{ name: 'demo.example', versions: [{ version: 'v1' }] }]) as typeof agg;
  assert.equal(stale.items.find((i) => i.metadata.name === 'demo.example')?.versions[0].freshness, 'Stale');
});
