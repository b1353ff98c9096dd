// A kubelet thread started before the node knows its configuration: the thread loads the
// kubelet's modules (about half a second of CPU) while the server's control plane starts,
// and takes its configuration from the first message (kubelet/thread.ts). KubeletThread
// (kubelet/local-node.ts) uses it for its first start; any later one starts as usual.
import { Worker } from 'node:worker_threads';

export const KUBELET_THREAD = new URL('./thread.js', import.meta.url);

/**
 * V8 limits of the kubelet thread. Its young generation is the server's 4 MiB semi-spaces
 * (`kite up` starts the server with --max-semi-space-size=4, which V8 applies to every isolate
 * over a Worker's maxYoungGenerationSizeMb), what the kubelet process ran with. Its old
 * generation is capped: a kubelet whose heap runs away ends its thread (restarted, the pods
 * adopted) instead of the server; 256 MiB is far above what it holds, so its GC is unchanged.
 */
export const KUBELET_THREAD_LIMITS = { maxOldGenerationSizeMb: 256 };

let prewarmed: { worker: Worker; ended: boolean } | undefined;

/** Starts the thread now (once); it waits, unref'd, for takePrewarmedKubeletThread's caller. */
export function prewarmKubeletThread(): void {
  if (prewarmed) return;
  const worker = new Worker(KUBELET_THREAD, { workerData: { prewarm: true }, resourceLimits: KUBELET_THREAD_LIMITS });
  const p = { worker, ended: false };
  worker.once('exit', () => (p.ended = true));
  // A failure to load shows when the thread is taken (it has ended): a new one starts then.
  worker.on('error', () => undefined);
  worker.unref();
  prewarmed = p;
  // Not taken (the node did not start): its heap is not kept for nothing.
  setTimeout(() => {
    if (prewarmed !== p) return;
    prewarmed = undefined;
    void worker.terminate();
  }, UNTAKEN_MS).unref();
}

const UNTAKEN_MS = 120_000;

/** What the node knows before the kubelet's configuration: where its containerd answers. */
export interface KubeletThreadHint {
  criSocket: string;
}

/**
 * Tells the waiting thread, if one is still waiting, where containerd answers: it connects
 * its CRI client then (the first gRPC calls of a fresh thread are slow), not after the
 * configuration comes with the API server's start.
 */
export function hintKubeletThread(hint: KubeletThreadHint): void {
  if (prewarmed && !prewarmed.ended) prewarmed.worker.postMessage({ hint });
}

/** The prewarmed thread, if one is still waiting (each is taken once). */
export function takePrewarmedKubeletThread(): Worker | undefined {
  const p = prewarmed;
  if (!p || p.ended) return undefined;
  prewarmed = undefined;
  p.worker.removeAllListeners('error');
  p.worker.ref();
  return p.worker;
}
