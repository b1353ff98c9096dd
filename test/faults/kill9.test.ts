// kill -9 of the API server during a stream of concurrent writes, repeated: no
// acknowledged write is lost, every object is readable after the restart, and a watch
// from the last resourceVersion seen resumes or is told 410.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call } from '../unit/apiserver-faults-fixture.js';

const KILLS = 3;
const WRITERS = 16;
const WRITE_MS = 1500;
const CM = '/api/v1/namespaces/default/configmaps';

async function startApi(db: string): Promise<{ child: ChildProcess; port: number; ms: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [fileURLToPath(new URL('./api-process.js', import.meta.url)), db], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`api process exited ${code}`)));
  });
  return { child, port, ms: Date.now() - t0 };
}

test('kill -9 during concurrent writes loses no acknowledged write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-kill9-'));
  const db = join(dir, 'state.db');
  const acknowledged = new Set<string>();
  const rows: string[] = [];
  let seq = 0;
  try {
    let api = await startApi(db);
    for (let kill = 1; kill <= KILLS; kill++) {
      const before = acknowledged.size;
      const agent = new Agent({ keepAlive: true, maxSockets: WRITERS });
      let stop = false;
      const writers = Array.from({ length: WRITERS }, async () => {
        while (!stop) {
          const name = `w${seq++}`;
          try {
            const r = await call(api.port, 'POST', CM, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n: name } }), 'application/json', {}, agent);
            if (r.status === 201) acknowledged.add(name);
          } catch {
            return; // the server died under this request: not acknowledged
          }
        }
      });
      const listed = (await call(api.port, 'GET', CM)).json();
      await new Promise((r) => setTimeout(r, WRITE_MS));
      api.child.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      agent.destroy();
      await new Promise((r) => api.child.once('exit', r));
      api = await startApi(db);
      const after = (await call(api.port, 'GET', CM)).json();
      const present = new Set<string>(after.items.map((o: { metadata: { name: string } }) => o.metadata.name));
      const lost = [...acknowledged].filter((n) => !present.has(n));
      for (const name of [...acknowledged].slice(-20)) assert.equal((await call(api.port, 'GET', `${CM}/${name}`)).status, 200);
      const watch = await call(api.port, 'GET', `${CM}?watch=true&timeoutSeconds=1&resourceVersion=${listed.metadata.resourceVersion}`);
      assert.ok(watch.status === 200 || watch.status === 410, `watch after restart: ${watch.status}`);
      rows.push(`${String(kill).padStart(4)} ${String(acknowledged.size - before).padStart(14)} ${String(lost.length).padStart(5)} ${String(api.ms).padStart(12)} ${String(watch.status).padStart(13)}`);
      assert.deepEqual(lost, []);
    }
    api.child.kill('SIGKILL');
  } finally {
    console.log('\nkill -9 of the API server during writes');
    console.log('kill   acknowledged  lost  recovery ms  watch resume');
    for (const r of rows) console.log(r);
    rmSync(dir, { recursive: true, force: true });
  }
});
