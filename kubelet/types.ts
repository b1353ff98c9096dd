// The kubelet's internal view of what runs (upstream: pkg/kubelet/container
// runtime.go): runtime-neutral pod and container states, and the interface a
// container runtime implements so the kubelet can drive it. Two
// implementations: kuberuntime.ts (CRI, containerd) and hollow.ts (simulated).
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { KeyValue, Mount, DNSConfig, Req } from './cri/types.js';

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

/** One container instance as the runtime reports it (newest instances first in lists). */
export interface RuntimeContainer {
  /** Runtime-specific id (without the `containerd://` prefix). */
  id: string;
  /** `<runtime>://<id>` as the API shows it. */
  containerID: string;
  name: string;
  state: ContainerState;
  /** ms since the epoch; 0 when unknown. */
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  /** The image as the pod spec named it. */
  image: string;
  /** The image's digest reference (ImageID in the API). */
  imageRef: string;
  /** Hash of the container spec it was created from. */
  hash: string;
  restartCount: number;
  logPath: string;
  /** sandbox this instance belongs to */
  sandboxId: string;
}

export interface RuntimeSandbox {
  id: string;
  ready: boolean;
  createdAt: number;
  attempt: number;
  ip: string;
  additionalIps: string[];
  /** network namespace mode is the node's */
  hostNetwork: boolean;
}

/** Everything the runtime knows of one pod (upstream: kubecontainer.PodStatus). */
export interface RuntimePodStatus {
  uid: string;
  name: string;
  namespace: string;
  /** Pod IPs of the newest ready sandbox. */
  ips: string[];
  /** Newest first. */
  sandboxes: RuntimeSandbox[];
  /** Newest first, every instance of every container. */
  containers: RuntimeContainer[];
}

/** What the kubelet gives the runtime to build containers (upstream: RuntimeHelper / RunContainerOptions). */
export interface ContainerRunOptions {
  envs: KeyValue[];
  mounts: Array<Req<Mount>>;
  /** command and args after $(VAR) expansion */
  command: string[];
  args: string[];
}

export type SyncResultKind = 'ok' | 'error';

/** One container's cumulative CPU and current memory, as the runtime reads them from its cgroup. */
export interface RuntimeContainerStats {
  id: string;
  podUid: string;
  podName: string;
  namespace: string;
  container: string;
  /** nanoseconds since the epoch */
  timestamp: number;
  /** cumulative CPU time, nanoseconds */
  cpuUsageCoreNanoSeconds: number;
  workingSetBytes: number;
  usageBytes: number;
  rssBytes: number;
  /** the writable layer's bytes on disk */
  rootfsUsedBytes?: number;
}

/** Why a container is waiting (upstream reasonCache): ErrImagePull, CrashLoopBackOff, ... */
export interface StartFailure {
  reason: string;
  message: string;
}

export interface KubeletEvents {
  pod(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void;
}

/**
 * Hooks the runtime calls back into the kubelet while syncing a pod: container
 * options (env, mounts), DNS, cgroups, log locations, probe results, events.
 */
export interface RuntimeHelper {
  runOptions(pod: Pod, container: Container, podIPs: string[], isInit: boolean): Promise<ContainerRunOptions>;
  dnsConfig(pod: Pod): Req<DNSConfig>;
  cgroupParent(pod: Pod): string;
  podLogDir(pod: Pod): string;
  /** <root>/pods/<uid> */
  podDir(pod: Pod): string;
  /** Liveness or startup probe failure for a running container, if any. */
  probeFailure(podUid: string, containerName: string, containerId: string): { probe: 'liveness' | 'startup'; message: string } | undefined;
  /** Whether the container passed its startup probe (true when it has none). */
  containerStarted(podUid: string, containerName: string, containerId: string): boolean;
  events: KubeletEvents;
  /** Remember why a container did not start (or forget, with undefined). */
  setStartFailure(podUid: string, containerName: string, failure: StartFailure | undefined): void;
  /** The CRI runtime handler of the pod's RuntimeClass ('' for none); an Error when the class is unknown. */
  runtimeHandler?(pod: Pod): string | Error;
  /**
   * Resolves once the pod's volumes are set up: true when containers may start, false when
   * a volume is missing (the sync ends and is retried). The sandbox is created meanwhile,
   * so mounting (token requests, file writes) and the sandbox's network setup overlap.
   */
  volumesReady?(pod: Pod): Promise<boolean>;
}

export interface SyncPodResult {
  /** Something failed; the worker retries sooner. */
  error?: string;
  /** When a back-off ends: sync again then (ms since epoch). */
  retryAt?: number;
  /** Nothing was started, killed or created: the runtime is as the status passed in shows it. */
  idle?: boolean;
  /** The pod's runtime status after the sync, when the sync knows it without asking (a first start). */
  status?: RuntimePodStatus;
}

export interface KillOptions {
  /** Seconds between SIGTERM and SIGKILL; overrides the pod's own. */
  gracePeriodSeconds?: number;
  reason?: string;
}

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

export interface RuntimeVersionInfo {
  runtimeName: string;
  runtimeVersion: string;
}

export interface RuntimeReadiness {
  runtimeReady: boolean;
  networkReady: boolean;
  message: string;
}

export interface RuntimeImage {
  id: string;
  names: string[];
  sizeBytes: number;
}

/**
 * A container runtime as the kubelet drives it (upstream:
 * kubecontainer.Runtime + StreamingRuntime, narrowed to what kite uses).
 */
export interface PodRuntime {
  /** `containerd`, `hollow`: the containerID prefix. */
  readonly type: string;
  version(): Promise<RuntimeVersionInfo>;
  readiness(): Promise<RuntimeReadiness>;
  /** UIDs (with name/namespace) of every pod the runtime has anything of. */
  listPods(): Promise<Array<{ uid: string; name: string; namespace: string }>>;
  podStatus(uid: string, name: string, namespace: string): Promise<RuntimePodStatus>;
  /** Bring the pod's containers towards its spec (upstream SyncPod). */
  syncPod(pod: Pod, status: RuntimePodStatus, helper: RuntimeHelper): Promise<SyncPodResult>;
  /** Stop every container and the sandbox (preStop hooks, grace period). */
  killPod(pod: Pod | undefined, status: RuntimePodStatus, helper: RuntimeHelper | undefined, opts?: KillOptions): Promise<void>;
  /** Remove the stopped containers and sandboxes of a pod. */
  removePod(status: RuntimePodStatus): Promise<void>;
  /** Garbage-collect old dead instances, keeping `keepPerContainer` per container name. */
  gcContainers(status: RuntimePodStatus, keepPerContainer: number): Promise<void>;
  execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecResult>;
  /** Streaming URLs for exec / attach / port-forward (undefined when unsupported). */
  execUrl?(containerId: string, cmd: string[], opts: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): Promise<string>;
  attachUrl?(containerId: string, opts: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): Promise<string>;
  portForwardUrl?(sandboxId: string, ports: number[]): Promise<string>;
  /** Whether a container instance is running (for log following). */
  containerRunning(containerId: string): Promise<boolean>;
  listImages(): Promise<RuntimeImage[]>;
  /** CPU and memory of every running container (CRI ListContainerStats); undefined when unsupported. */
  containerStats?(): Promise<RuntimeContainerStats[]>;
  /** Forget image pull back-offs (new images arrived). */
  resetPullBackoff?(): void;
  close(): void;
}

// ---------------------------------------------------------------- labels / annotations (upstream kubelet's names)

export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
export const LABEL_CONTAINER_TYPE = 'io.kubernetes.container.type';
export const ANN_CONTAINER_HASH = 'io.kubernetes.container.hash';
export const ANN_RESTART_COUNT = 'io.kubernetes.container.restartCount';
export const ANN_TERMINATION_MESSAGE_PATH = 'io.kubernetes.container.terminationMessagePath';
export const ANN_TERMINATION_MESSAGE_POLICY = 'io.kubernetes.container.terminationMessagePolicy';
export const ANN_POD_GRACE = 'io.kubernetes.pod.terminationGracePeriod';
export const ANN_CONTAINER_IMAGE = 'io.kite.container.image';
export const ANN_HOST_TERMINATION_LOG = 'io.kite.container.terminationLogHostPath';
