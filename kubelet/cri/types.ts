// TypeScript shapes of the CRI runtime.v1 messages declared in api.proto.
//
// Field names are the proto names in lowerCamelCase (the loader converts them).
// int64/uint64 fields are plain numbers: CRI timestamps are nanoseconds since the
// epoch, which a double holds to within a few hundred nanoseconds. Enums travel
// as their names. Responses always carry every scalar field (defaults filled in);
// absent sub-messages come back as null. Requests may leave anything out.

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type MountPropagation =
  | 'PROPAGATION_PRIVATE'
  | 'PROPAGATION_HOST_TO_CONTAINER'
  | 'PROPAGATION_BIDIRECTIONAL';
export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState =
  | 'CONTAINER_CREATED'
  | 'CONTAINER_RUNNING'
  | 'CONTAINER_EXITED'
  | 'CONTAINER_UNKNOWN';
export type SecurityProfileType = 'RuntimeDefault' | 'Unconfined' | 'Localhost';

/** Deep partial used for requests: every field may be omitted. */
export type Req<T> = T extends Buffer
  ? T
  : T extends Array<infer U>
    ? Array<Req<U>>
    : T extends object
      ? { [K in keyof T]?: Req<NonNullable<T[K]>> | undefined }
      : T;

export type StringMap = Record<string, string>;

export interface Int64Value { value: number }
export interface UInt64Value { value: number }
export interface KeyValue { key: string; value: string }

export interface PortMapping {
  protocol: Protocol;
  containerPort: number;
  hostPort: number;
  hostIp: string;
}

export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  selinuxRelabel: boolean;
  propagation: MountPropagation;
  recursiveReadOnly: boolean;
}

export interface Device { containerPath: string; hostPath: string; permissions: string }

export interface NamespaceOption {
  network: NamespaceMode;
  pid: NamespaceMode;
  ipc: NamespaceMode;
  targetId: string;
}

export interface SELinuxOption { user: string; role: string; type: string; level: string }
export interface SecurityProfile { profileType: SecurityProfileType; localhostRef: string }
export interface Capability {
  addCapabilities: string[];
  dropCapabilities: string[];
  addAmbientCapabilities: string[];
}
export interface HugepageLimit { pageSize: string; limit: number }

export interface LinuxContainerResources {
  cpuPeriod: number;
  cpuQuota: number;
  cpuShares: number;
  memoryLimitInBytes: number;
  oomScoreAdj: number;
  cpusetCpus: string;
  cpusetMems: string;
  hugepageLimits: HugepageLimit[];
  unified: StringMap;
  memorySwapLimitInBytes: number;
}

export interface ImageSpec {
  image: string;
  annotations: StringMap;
  userSpecifiedImage: string;
  runtimeHandler: string;
}

// ---- version

export interface VersionRequest { version: string }
export interface VersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

// ---- sandboxes

export interface DNSConfig { servers: string[]; searches: string[]; options: string[] }

export interface LinuxSandboxSecurityContext {
  namespaceOptions: NamespaceOption | null;
  selinuxOptions: SELinuxOption | null;
  runAsUser: Int64Value | null;
  readonlyRootfs: boolean;
  supplementalGroups: number[];
  privileged: boolean;
  runAsGroup: Int64Value | null;
  seccomp: SecurityProfile | null;
  apparmor: SecurityProfile | null;
}

export interface LinuxPodSandboxConfig {
  cgroupParent: string;
  securityContext: LinuxSandboxSecurityContext | null;
  sysctls: StringMap;
  overhead: LinuxContainerResources | null;
  resources: LinuxContainerResources | null;
}

export interface PodSandboxMetadata { name: string; uid: string; namespace: string; attempt: number }

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata | null;
  hostname: string;
  logDirectory: string;
  dnsConfig: DNSConfig | null;
  portMappings: PortMapping[];
  labels: StringMap;
  annotations: StringMap;
  linux: LinuxPodSandboxConfig | null;
}

export interface RunPodSandboxRequest { config: PodSandboxConfig | null; runtimeHandler: string }
export interface RunPodSandboxResponse { podSandboxId: string }
export interface StopPodSandboxRequest { podSandboxId: string }
export interface RemovePodSandboxRequest { podSandboxId: string }
export interface PodSandboxStatusRequest { podSandboxId: string; verbose: boolean }

export interface PodIP { ip: string }
export interface PodSandboxNetworkStatus { ip: string; additionalIps: PodIP[] }

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  createdAt: number;
  network: PodSandboxNetworkStatus | null;
  linux: { namespaces: { options: NamespaceOption | null } | null } | null;
  labels: StringMap;
  annotations: StringMap;
  runtimeHandler: string;
}

export interface PodSandboxStatusResponse {
  status: PodSandboxStatus | null;
  /** with verbose: runtime-specific JSON documents (containerd: key "info") */
  info: StringMap;
  containersStatuses: ContainerStatus[];
  timestamp: number;
}

export interface PodSandboxFilter {
  id: string;
  state: { state: PodSandboxState } | null;
  labelSelector: StringMap;
}
export interface ListPodSandboxRequest { filter: PodSandboxFilter | null }

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  createdAt: number;
  labels: StringMap;
  annotations: StringMap;
  runtimeHandler: string;
}
export interface ListPodSandboxResponse { items: PodSandbox[] }

// ---- containers

export interface LinuxContainerSecurityContext {
  capabilities: Capability | null;
  privileged: boolean;
  namespaceOptions: NamespaceOption | null;
  selinuxOptions: SELinuxOption | null;
  runAsUser: Int64Value | null;
  runAsUsername: string;
  readonlyRootfs: boolean;
  supplementalGroups: number[];
  noNewPrivs: boolean;
  runAsGroup: Int64Value | null;
  maskedPaths: string[];
  readonlyPaths: string[];
  seccomp: SecurityProfile | null;
  apparmor: SecurityProfile | null;
}

export interface LinuxContainerConfig {
  resources: LinuxContainerResources | null;
  securityContext: LinuxContainerSecurityContext | null;
}

export interface ContainerMetadata { name: string; attempt: number }

export interface ContainerConfig {
  metadata: ContainerMetadata | null;
  image: ImageSpec | null;
  command: string[];
  args: string[];
  workingDir: string;
  envs: KeyValue[];
  mounts: Mount[];
  devices: Device[];
  labels: StringMap;
  annotations: StringMap;
  /** relative to the sandbox's logDirectory */
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  linux: LinuxContainerConfig | null;
}

export interface CreateContainerRequest {
  podSandboxId: string;
  config: ContainerConfig | null;
  sandboxConfig: PodSandboxConfig | null;
}
export interface CreateContainerResponse { containerId: string }
export interface StartContainerRequest { containerId: string }
/** timeout in seconds before SIGKILL */
export interface StopContainerRequest { containerId: string; timeout: number }
export interface RemoveContainerRequest { containerId: string }

export interface ContainerFilter {
  id: string;
  state: { state: ContainerState } | null;
  podSandboxId: string;
  labelSelector: StringMap;
}
export interface ListContainersRequest { filter: ContainerFilter | null }

export interface Container {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata | null;
  image: ImageSpec | null;
  imageRef: string;
  state: ContainerState;
  createdAt: number;
  labels: StringMap;
  annotations: StringMap;
}
export interface ListContainersResponse { containers: Container[] }

export interface ContainerStatusRequest { containerId: string; verbose: boolean }

export interface ContainerStatus {
  id: string;
  metadata: ContainerMetadata | null;
  state: ContainerState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  image: ImageSpec | null;
  imageRef: string;
  reason: string;
  message: string;
  labels: StringMap;
  annotations: StringMap;
  mounts: Mount[];
  logPath: string;
  resources: { linux: LinuxContainerResources | null } | null;
}
export interface ContainerStatusResponse { status: ContainerStatus | null; info: StringMap }

export interface UpdateContainerResourcesRequest {
  containerId: string;
  linux: LinuxContainerResources | null;
  annotations: StringMap;
}
export interface ReopenContainerLogRequest { containerId: string }

// ---- exec / attach / port-forward

/** timeout in seconds; 0 = none */
export interface ExecSyncRequest { containerId: string; cmd: string[]; timeout: number }
export interface ExecSyncResponse { stdout: Buffer; stderr: Buffer; exitCode: number }
export interface ExecRequest {
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}
export interface AttachRequest {
  containerId: string;
  stdin: boolean;
  tty: boolean;
  stdout: boolean;
  stderr: boolean;
}
export interface PortForwardRequest { podSandboxId: string; port: number[] }
export interface UrlResponse { url: string }

// ---- runtime status

export interface StatusRequest { verbose: boolean }
export interface RuntimeCondition { type: string; status: boolean; reason: string; message: string }
export interface StatusResponse {
  status: { conditions: RuntimeCondition[] } | null;
  info: StringMap;
}

// ---- images

export interface ListImagesRequest { filter: { image: ImageSpec | null } | null }
export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  uid: Int64Value | null;
  username: string;
  spec: ImageSpec | null;
  pinned: boolean;
}
export interface ListImagesResponse { images: Image[] }
export interface ImageStatusRequest { image: ImageSpec | null; verbose: boolean }
export interface ImageStatusResponse { image: Image | null; info: StringMap }
export interface AuthConfig {
  username: string;
  password: string;
  auth: string;
  serverAddress: string;
  identityToken: string;
  registryToken: string;
}
export interface PullImageRequest {
  image: ImageSpec | null;
  auth: AuthConfig | null;
  sandboxConfig: PodSandboxConfig | null;
}
export interface PullImageResponse { imageRef: string }
export interface RemoveImageRequest { image: ImageSpec | null }
export interface FilesystemUsage {
  timestamp: number;
  fsId: { mountpoint: string } | null;
  usedBytes: UInt64Value | null;
  inodesUsed: UInt64Value | null;
}
export interface ImageFsInfoResponse {
  imageFilesystems: FilesystemUsage[];
  containerFilesystems: FilesystemUsage[];
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Empty {}

// ---------------------------------------------------------------- stats

export interface ContainerStatsFilter { id: string; podSandboxId: string; labelSelector: StringMap }
export interface ListContainerStatsRequest { filter: ContainerStatsFilter | null }
export interface ContainerAttributes { id: string; metadata: ContainerMetadata | null; labels: StringMap; annotations: StringMap }
export interface CpuUsage { timestamp: number; usageCoreNanoSeconds: UInt64Value | null; usageNanoCores: UInt64Value | null }
export interface MemoryUsage {
  timestamp: number;
  workingSetBytes: UInt64Value | null;
  availableBytes: UInt64Value | null;
  usageBytes: UInt64Value | null;
  rssBytes: UInt64Value | null;
  pageFaults: UInt64Value | null;
  majorPageFaults: UInt64Value | null;
}
export interface ContainerStats { attributes: ContainerAttributes | null; cpu: CpuUsage | null; memory: MemoryUsage | null; writableLayer: FilesystemUsage | null }
export interface ListContainerStatsResponse { stats: ContainerStats[] }
