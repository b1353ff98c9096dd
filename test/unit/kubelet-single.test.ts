import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaceStaleKubelet } from '../../kubelet/local-node.js';
import { isAlive } from '../../machinery/process.js';

test('a kubelet left running by a killed server is stopped before a new one starts; other pids are left alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-kubelet-'));
  const config = join(dir, 'kubelet.json');
  const pidPath = join(dir, 'kubelet.pid');
  // Stand-ins whose command lines do / don't name this node's config.
  const stale = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'kubelet', '--config', config], { stdio: 'ignore' });
  const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'kubelet', '--config', join(dir, 'other.json')], { stdio: 'ignore' });
  const staleExit = new Promise((r) => stale.once('exit', r));
  try {
    await new Promise((r) => setTimeout(r, 200));
    writeFileSync(pidPath, `${other.pid}\n`);
    replaceStaleKubelet(pidPath, config, () => {});
    assert.ok(isAlive(other.pid!), 'a process for another config must survive');
    writeFileSync(pidPath, `${stale.pid}\n`);
    const logs: string[] = [];
    replaceStaleKubelet(pidPath, config, (m) => logs.push(m));
    await staleExit;
    assert.equal(stale.exitCode !== null || stale.signalCode !== null, true);
    assert.match(logs[0], /stopping the kubelet left running by an earlier server/);
  } finally {
    other.kill('SIGKILL');
    stale.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
