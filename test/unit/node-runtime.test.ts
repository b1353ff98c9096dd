// abandonNodeRuntime: a node runtime no node took over (the control plane failed to start)
// stops the containerd the server started, and leaves one it adopted running with its pods.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { abandonNodeRuntime, type NodeRuntime } from '../../kubelet/local-node.js';
import type { RunningContainerd } from '../../kubelet/runtime/index.js';

function runtimeWith(containerd: Promise<RunningContainerd>, adopted: boolean, images: Promise<void> = Promise.resolve()): NodeRuntime {
  return { nodeDir: '/nonexistent/node', podCIDR: '10.244.1.0/24', socket: '/nonexistent/containerd.sock', containerd, adopted, ranBefore: adopted, images };
}

function fakeContainerd(stops: number[]): RunningContainerd {
  return {
    socket: '/nonexistent/containerd.sock',
    pid: 4242,
    layout: {} as RunningContainerd['layout'],
    stop: async () => {
      stops.push(4242);
    },
    exited: new Promise(() => undefined),
  };
}

test('a containerd the server started is stopped, once its image import has settled', async () => {
  let importDone = false;
  const images = new Promise<void>((resolve) => setTimeout(() => ((importDone = true), resolve()), 20));
  const stops: number[] = [];
  const runtime = runtimeWith(Promise.resolve(fakeContainerd(stops)), false, images);
  const logged: string[] = [];
  await abandonNodeRuntime(runtime, (m) => logged.push(m));
  assert.ok(importDone, 'the import was waited for');
  assert.deepEqual(stops, [4242]);
  assert.match(logged.join('\n'), /containerd stopped \(pid 4242\)/);
});

test('an adopted containerd keeps running (its pods with it)', async () => {
  const stops: number[] = [];
  const runtime = runtimeWith(Promise.resolve(fakeContainerd(stops)), true);
  await abandonNodeRuntime(runtime, () => undefined);
  assert.deepEqual(stops, []);
});

test('a containerd that failed to start, or an import that failed, is no error here', async () => {
  const failed = runtimeWith(Promise.reject(new Error('containerd did not start')), false, Promise.reject(new Error('no images')));
  failed.containerd.catch(() => undefined);
  failed.images.catch(() => undefined);
  await abandonNodeRuntime(failed, () => undefined);
  const stops: number[] = [];
  const importFailed = runtimeWith(Promise.resolve(fakeContainerd(stops)), false, Promise.reject(new Error('no images')));
  importFailed.images.catch(() => undefined);
  await abandonNodeRuntime(importFailed, () => undefined);
  assert.deepEqual(stops, [4242]);
});
