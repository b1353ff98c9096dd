import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KubeletThread } from '../../kubelet/local-node.js';

// A stand-in for kubelet/thread.ts: its first run throws, as a kubelet bug would; later runs
// serve until the supervisor's 'stop'. Each run notes itself in the kubelet's log.
const FAKE_KUBELET = `
import { appendFileSync, readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
appendFileSync(workerData.logPath, 'started\\n');
const runs = readFileSync(workerData.logPath, 'utf8').split('\\n').filter((l) => l === 'started').length;
if (runs === 1) throw new Error('kubelet bug');
parentPort.once('message', (m) => {
  appendFileSync(workerData.logPath, 'stopped on ' + m + '\\n');
  process.exit(0);
});
`;

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a kubelet thread that throws is started again after the back-off; stop() ends the running one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-kubelet-thread-'));
  const entry = join(dir, 'fake-kubelet.mjs');
  writeFileSync(entry, FAKE_KUBELET);
  const kubeletLog = () => {
    try {
      return readFileSync(join(dir, 'kubelet.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const logs: string[] = [];
  const thread = new KubeletThread(dir, join(dir, 'kubelet.json'), (m) => logs.push(m), pathToFileURL(entry));
  try {
    thread.start();
    await until('a second kubelet thread', () => kubeletLog().split('\n').filter((l) => l === 'started').length === 2);
    assert.match(kubeletLog(), /the kubelet thread failed: Error: kubelet bug/);
    assert.ok(logs.some((m) => /^kubelet thread ended \(kubelet bug\); restarting it in 1s$/.test(m)), logs.join('\n'));
    assert.equal(logs.filter((m) => /^kubelet started \(thread \d+ of this server/.test(m)).length, 2);
    assert.ok(thread.running);
    await thread.stop();
    assert.match(kubeletLog(), /stopped on stop\n$/);
    assert.equal(thread.running, false);
    // Stopping is not a crash: nothing is restarted.
    assert.equal(logs.filter((m) => m.startsWith('kubelet thread ended')).length, 1);
  } finally {
    await thread.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a prewarmed kubelet thread waits for its configuration and is taken once', async () => {
  const { prewarmKubeletThread, takePrewarmedKubeletThread, hintKubeletThread } = await import('../../kubelet/thread-prewarm.js');
  const dir = mkdtempSync(join(tmpdir(), 'kite-kubelet-prewarm-'));
  try {
    prewarmKubeletThread();
    prewarmKubeletThread(); // once per process
    // Where containerd answers, before the configuration (here nothing answers): the
    // thread tries its CRI client meanwhile and still takes the configuration that follows.
    hintKubeletThread({ criSocket: join(dir, 'containerd.sock') });
    const worker = takePrewarmedKubeletThread();
    assert.ok(worker, 'the prewarmed thread');
    assert.equal(takePrewarmedKubeletThread(), undefined, 'taken once');
    // Its modules load meanwhile; it starts nothing until told which kubelet it is.
    await new Promise((r) => setTimeout(r, 300));
    const logPath = join(dir, 'kubelet.log');
    const ended = new Promise<Error>((resolve) => worker.once('error', resolve));
    worker.postMessage({ configPath: join(dir, 'missing-kubelet.json'), logPath });
    const err = await ended;
    // It ran the kubelet of the configuration it was sent (here one that does not exist).
    assert.match(String(err.message), /missing-kubelet\.json/);
    await until('the thread ends', () => worker.threadId === -1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
