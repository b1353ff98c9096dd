// The kubelet of `kite server`'s own host node, run in a worker thread of the server
// (started and restarted by KubeletThread in kubelet/local-node.ts), as k3s runs its
// agent's kubelet inside the k3s process: the `node` binary and a process's base memory
// are paid once, and the kubelet's own event loop keeps its bursts off the API server's.
// Its log is node/kubelet.log. The parent's 'stop' message stops it (the pods keep
// running); a throw ends the thread and the parent starts a new one, which adopts them.
import { closeSync, openSync, readlinkSync, writeSync } from 'node:fs';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { startKubeletFromFile } from './agent.js';
import { CriClient, criServices } from './cri/client.js';
import type { KubeletThreadHint } from './thread-prewarm.js';
import { errorMessage } from './util.js';

export interface KubeletThreadData {
  configPath: string;
  logPath: string;
}

// Prewarmed (kubelet/thread-prewarm.ts): the modules above are loaded, and the CRI's gRPC
// services built from its .proto (~0.1 s of CPU, the kubelet's first need once it has its
// configuration); the configuration comes as a message, possibly after a hint of where
// containerd answers, to which the CRI client connects meanwhile.
let cri: Promise<CriClient | undefined> | undefined;
const { configPath, logPath } = (workerData as { prewarm?: boolean }).prewarm
  ? await new Promise<KubeletThreadData>((resolve) => {
      const onMessage = (m: KubeletThreadData | { hint: KubeletThreadHint }) => {
        if ('hint' in m) {
          cri ??= CriClient.connect(m.hint.criSocket, { connectTimeoutMs: 10_000 }).catch(() => undefined);
          return;
        }
        parentPort!.off('message', onMessage);
        resolve(m);
      };
      parentPort!.on('message', onMessage);
      criServices();
    })
  : (workerData as KubeletThreadData);
const logFd = openSync(logPath, 'a', 0o644);
// Synchronous, as a process's stdout to a file is: nothing logged is lost when the thread ends.
const log = (msg: string) => writeSync(logFd, `${new Date().toISOString()} ${msg}\n`);

// The thread's id in the kernel (/proc/PID/task/TID, `top -H`): where its CPU time is told apart from the server's.
const tid = readlinkSync('/proc/thread-self').split('/').pop();
const running = await startKubeletFromFile(configPath, {}, `thread ${threadId} of pid ${process.pid}, tid ${tid}`, log, { cri });
// The parent's one message now: stop (a late hint of where containerd answers is not one).
parentPort!.on('message', function onStop(m: unknown) {
  if (m !== 'stop') return;
  parentPort!.off('message', onStop);
  log('stopping the kubelet (pods keep running)');
  void running
    .stop()
    .catch((err: unknown) => log(`error while stopping: ${errorMessage(err)}`))
    .finally(() => {
      closeSync(logFd);
      // Ends this thread only (the server goes on).
      process.exit(0);
    });
});
