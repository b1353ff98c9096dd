// GPU detection: /dev/nvidiaN device files (in a temp dir standing in for /dev), the
// `nvidia-smi -L` fallback (a fake script), and the resources the node advertises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countNvidiaDevices, detectNvidiaGpus, gpuResources, parseNvidiaSmiList } from '../../kubelet/gpu.js';
import { nodeAllocatable, nodeCapacity } from '../../kubelet/node.js';

function fakeDev(files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'kite-gpu-'));
  for (const f of files) writeFileSync(join(dir, f), '');
  return dir;
}

test('counts /dev/nvidiaN only, not the control, uvm or modeset devices', () => {
  const dir = fakeDev(['nvidia0', 'nvidia1', 'nvidia2', 'nvidia3', 'nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools', 'nvidia-modeset', 'null', 'nvidia1a']);
  try {
    assert.equal(countNvidiaDevices(dir), 4);
    assert.equal(detectNvidiaGpus({ devDir: dir, nvidiaSmi: false }), 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no devices, no nvidia-smi: no GPUs; a missing directory is no GPUs too', () => {
  const dir = fakeDev(['null', 'nvidiactl']);
  try {
    assert.equal(detectNvidiaGpus({ devDir: dir, nvidiaSmi: false }), 0);
    assert.equal(detectNvidiaGpus({ devDir: join(dir, 'absent'), nvidiaSmi: false }), 0);
    assert.equal(detectNvidiaGpus({ devDir: dir, nvidiaSmi: join(dir, 'no-such-nvidia-smi') }), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nvidia-smi -L is asked when there are no device files', () => {
  const dir = fakeDev([]);
  const smi = join(dir, 'nvidia-smi');
  writeFileSync(
    smi,
    `#!/bin/sh
[ "$1" = "-L" ] || exit 2
echo "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-11111111-2222-3333-4444-555555555555)"
echo "  MIG 1g.5gb      Device  0: (UUID: MIG-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee)"
echo "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-66666666-7777-8888-9999-000000000000)"
`,
  );
  chmodSync(smi, 0o755);
  try {
    assert.equal(detectNvidiaGpus({ devDir: dir, nvidiaSmi: smi }), 2);
    // Device files win when present.
    writeFileSync(join(dir, 'nvidia0'), '');
    assert.equal(detectNvidiaGpus({ devDir: dir, nvidiaSmi: smi }), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parseNvidiaSmiList counts GPU lines only', () => {
  assert.equal(parseNvidiaSmiList(''), 0);
  assert.equal(parseNvidiaSmiList('No devices were found\n'), 0);
  assert.equal(parseNvidiaSmiList('GPU 0: Tesla T4 (UUID: GPU-x)\nGPU 1: Tesla T4 (UUID: GPU-y)\n'), 2);
});

test('the node advertises nvidia.com/gpu in capacity and allocatable only when it has GPUs', () => {
  assert.deepEqual(gpuResources(0), {});
  assert.deepEqual(gpuResources(8), { 'nvidia.com/gpu': '8' });
  const dir = fakeDev(['nvidia0', 'nvidia1']);
  const saved = process.env.KITE_GPU_DEV_DIR;
  process.env.KITE_GPU_DEV_DIR = dir;
  try {
    const cap = nodeCapacity(tmpdir());
    assert.equal(cap.gpus, 2);
    assert.equal(nodeAllocatable(cap).gpus, 2);
  } finally {
    if (saved === undefined) delete process.env.KITE_GPU_DEV_DIR;
    else process.env.KITE_GPU_DEV_DIR = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
