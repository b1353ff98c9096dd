// NVIDIA GPUs on the host, advertised as the extended resource `nvidia.com/gpu` (the
// name NVIDIA's device plugin uses). Detected, never configured: first the per-GPU
// device files the driver creates (/dev/nvidia0, /dev/nvidia1, …; not nvidiactl,
// nvidia-uvm or nvidia-modeset), else `nvidia-smi -L` when it is installed.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const NVIDIA_GPU = 'nvidia.com/gpu';

export interface GpuDetectOptions {
  /** Where the device files are (default: $KITE_GPU_DEV_DIR, else /dev). */
  devDir?: string;
  /** The nvidia-smi to ask when there are no device files; false: never ask. Default: found on PATH. */
  nvidiaSmi?: string | false;
}

const DEVICE = /^nvidia(\d+)$/;

/** Number of /dev/nvidiaN device files in `devDir` (0 when it cannot be read). */
export function countNvidiaDevices(devDir: string): number {
  try {
    return readdirSync(devDir).filter((n) => DEVICE.test(n)).length;
  } catch {
    return 0;
  }
}

/** GPUs in `nvidia-smi -L` output: one `GPU <index>: <name> (UUID: …)` line each (MIG lines are indented). */
export function parseNvidiaSmiList(text: string): number {
  return text.split('\n').filter((l) => /^GPU \d+:/.test(l)).length;
}

function onPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** How many NVIDIA GPUs this host has. */
export function detectNvidiaGpus(opts: GpuDetectOptions = {}): number {
  const devices = countNvidiaDevices(opts.devDir ?? process.env.KITE_GPU_DEV_DIR ?? '/dev');
  if (devices > 0) return devices;
  const smi = opts.nvidiaSmi === undefined ? onPath('nvidia-smi') : opts.nvidiaSmi;
  if (!smi) return 0;
  try {
    return parseNvidiaSmiList(execFileSync(smi, ['-L'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return 0;
  }
}

/** The node's extended resources from its GPUs: `{ 'nvidia.com/gpu': 'N' }`, or nothing for none. */
export function gpuResources(count: number): Record<string, string> {
  return count > 0 ? { [NVIDIA_GPU]: String(count) } : {};
}
