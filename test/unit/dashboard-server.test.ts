// The dashboard server: its own files, and the guards that keep other web pages from
// using the kubeconfig identity through its API proxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startDashboard } from '../../dashboard/server.js';
import { formatHistory, historyPath, resolveResource } from '../../cli/commands/history.js';

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the dashboard serves its page and refuses proxied calls without its header or with a foreign Host', async () => {
  // Nothing listens upstream: the guards answer before any forwarding.
  const d = await startDashboard({ config: { server: 'https://127.0.0.1:1' }, port: 0, clusterName: 'c1' });
  try {
    const page = await get(d.port, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<script type="module" src="\/ui\/app.js">/);
    assert.equal((await get(d.port, '/ui/app.js')).status, 200);
    assert.equal((await get(d.port, '/lib/diff.js')).status, 200);
    assert.equal((await get(d.port, '/vendor/xterm.mjs')).status, 200);
    assert.equal((await get(d.port, '/ui/../../package.json')).status, 404);
    assert.deepEqual(JSON.parse((await get(d.port, '/config')).body), { cluster: 'c1', namespace: 'default' });
    const noHeader = await get(d.port, '/api/v1/pods');
    assert.equal(noHeader.status, 403);
    assert.match(noHeader.body, /x-kite-dashboard/);
    assert.equal((await get(d.port, '/api/v1/pods', { host: 'evil.example:80', 'x-kite-dashboard': '1' })).status, 421);
    // With the header it is forwarded (and fails upstream here: nothing listens).
    assert.equal((await get(d.port, '/api/v1/pods', { 'x-kite-dashboard': '1' })).status, 502);
  } finally {
    await d.close();
  }
});

test('kite history resolves kinds and prints field diffs with old values', () => {
  assert.equal(resolveResource('deploy').plural, 'deployments');
  assert.equal(resolveResource('Deployment').group, 'apps');
  assert.equal(resolveResource('hpa').version, 'v2');
  assert.equal(resolveResource('cm').plural, 'configmaps');
  assert.throws(() => resolveResource('nope'), /doesn't have a resource type "nope"/);
  assert.equal(historyPath(resolveResource('deploy'), 'ns1', 'web'), '/apis/apps/v1/namespaces/ns1/deployments/web/history');
  assert.equal(historyPath(resolveResource('node'), undefined, 'n1'), '/api/v1/nodes/n1/history');
  const text = formatHistory([
    { revision: '1', time: 't1', type: 'create', user: 'alice', manager: 'kubectl-create', patch: [{ op: 'add', path: '', value: { spec: { replicas: 1 } } }] },
    { revision: '2', time: 't2', type: 'update', user: 'bob', manager: 'kubectl', patch: [{ op: 'replace', path: '/spec/replicas', value: 3 }, { op: 'add', path: '/spec/paused', value: true }] },
    { revision: '3', time: 't3', type: 'delete', user: 'carol', patch: [{ op: 'remove', path: '' }] },
  ]);
  assert.equal(
    text,
    [
      't1  rev 1  create  alice (kubectl-create)',
      '    created',
      't2  rev 2  update  bob (kubectl)',
      '    ~ /spec/replicas: 1 → 3',
      '    + /spec/paused: true',
      't3  rev 3  delete  carol',
      '    deleted',
    ].join('\n'),
  );
});
