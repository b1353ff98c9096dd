// A child process serving the real API (SQLite file store, watch cache, pipeline, HTTP
// handlers) for the kill -9 tests: `node api-process.js <state.db>` prints its port.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SqliteStore } from '../../store/sqlite.js';
import { startApiCore, OPEN_POLICY } from '../../apiserver/api.js';
import { ApiServer } from '../../apiserver/server.js';
import { Authenticator } from '../../apiserver/authentication.js';
import { internalContext } from '../../apiserver/context.js';
import { resourceByPath } from '../../machinery/resources.js';

const store = new SqliteStore(process.argv[2]);
const core = await startApiCore(store, OPEN_POLICY);
const ns = resourceByPath('', 'v1', 'namespaces')!;
if (!core.registry.getStored(ns, undefined, 'default')) {
  await core.registry.create(ns, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, internalContext('test'));
}
const authenticator = new Authenticator([(t) => (t === 'admin' ? { name: 'admin', groups: ['system:masters', 'system:authenticated'] } : undefined)]);
const api = new ApiServer({ pipeline: core.pipeline, authenticator, serverAddress: '127.0.0.1:0' });
const server = createServer(api.handle);
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
