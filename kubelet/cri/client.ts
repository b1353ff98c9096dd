// A typed, promise-based CRI (runtime.v1) client over gRPC on a unix socket.
//
// The service definitions come from kite's own api.proto, loaded at run time with
// @grpc/proto-loader. The .proto is not copied into dist/: the compiled module
// (dist/kubelet/cri/client.js) finds it back in the source tree
// (kubelet/cri/api.proto) from its own location.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type * as T from './types.js';

export type * from './types.js';

/** Default deadline of a CRI call, like the kubelet's runtime-request-timeout. */
export const DEFAULT_TIMEOUT_MS = 2 * 60_000;
/** Default deadline of PullImage (downloads can be slow). */
export const DEFAULT_PULL_TIMEOUT_MS = 30 * 60_000;

/** Finds api.proto beside the module (source tree) or back in the source tree from dist/. */
export function criProtoPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, 'api.proto'),
    join(here, '..', '..', '..', 'kubelet', 'cri', 'api.proto'),
  ];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`CRI api.proto not found (looked in ${candidates.join(', ')})`);
}

/** KITE_CRI_TRACE=1: every CRI call's duration on stderr (where pod start time goes). */
const CRI_TRACE = !!process.env.KITE_CRI_TRACE;

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

let cachedServices: { runtime: grpc.ServiceClientConstructor; image: grpc.ServiceClientConstructor } | undefined;

/** The loaded service constructors (also used by tests to stand up fake runtimes). */
export function criServices(): { runtime: grpc.ServiceClientConstructor; image: grpc.ServiceClientConstructor } {
  if (!cachedServices) {
    const def = protoLoader.loadSync(criProtoPath(), LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as any;
    const v1 = pkg.runtime.v1;
    cachedServices = { runtime: v1.RuntimeService, image: v1.ImageService };
  }
  return cachedServices;
}

/** Turns '/path', 'unix:/path' or 'unix:///path' into a grpc-js target. */
export function unixTarget(socket: string): string {
  if (socket.startsWith('unix://')) return socket;
  if (socket.startsWith('unix:')) return `unix://${socket.slice('unix:'.length)}`;
  if (!socket.startsWith('/')) throw new Error(`CRI socket must be an absolute path: ${socket}`);
  return `unix://${socket}`;
}

/** A failed CRI call: the gRPC status code and details, plus which method failed. */
export class CriError extends Error {
  constructor(
    readonly method: string,
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(`CRI ${method}: ${grpc.status[code] ?? code}: ${details}`);
    this.name = 'CriError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof CriError && err.code === grpc.status.NOT_FOUND;
}

export function isDeadlineExceeded(err: unknown): boolean {
  return err instanceof CriError && err.code === grpc.status.DEADLINE_EXCEEDED;
}

export interface CallOptions {
  /** deadline for this call in milliseconds (default DEFAULT_TIMEOUT_MS) */
  timeoutMs?: number;
}

export interface CriClientOptions {
  /** default per-call deadline (ms) */
  timeoutMs?: number;
}

type Svc = 'runtime' | 'image';

export class CriClient {
  readonly target: string;
  private readonly runtime: grpc.Client;
  private readonly image: grpc.Client;
  private readonly defaultTimeoutMs: number;

  constructor(
    readonly socket: string,
    opts: CriClientOptions = {},
  ) {
    this.target = unixTarget(socket);
    this.defaultTimeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const { runtime, image } = criServices();
    const channelOptions: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.max_send_message_length': 16 * 1024 * 1024,
    };
    this.runtime = new runtime(this.target, grpc.credentials.createInsecure(), channelOptions);
    // The second client shares the first one's channel.
    this.image = new image(this.target, grpc.credentials.createInsecure(), {
      ...channelOptions,
      channelOverride: this.runtime.getChannel(),
    });
  }

  /** Connects and checks the runtime answers Version within timeoutMs. */
  static async connect(socket: string, opts: CriClientOptions & { connectTimeoutMs?: number } = {}): Promise<CriClient> {
    const client = new CriClient(socket, opts);
    try {
      await client.version({}, { timeoutMs: opts.connectTimeoutMs ?? 10_000 });
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  close(): void {
    this.image.close();
    this.runtime.close();
  }

  /** Resolves when the channel is connected, or rejects after timeoutMs. */
  waitForReady(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      this.runtime.waitForReady(new Date(Date.now() + timeoutMs), (err) => (err ? reject(err) : resolve()));
    });
  }

  private call<Q, R>(svc: Svc, method: string, req: Q, opts?: CallOptions, defaultTimeoutMs?: number): Promise<R> {
    const client = svc === 'runtime' ? this.runtime : this.image;
    const timeoutMs = opts?.timeoutMs ?? defaultTimeoutMs ?? this.defaultTimeoutMs;
    type UnaryFn = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: R) => void) => void;
    const fn = (client as any)[method] as UnaryFn | undefined;
    if (typeof fn !== 'function') return Promise.reject(new Error(`CRI method ${method} is not in api.proto`));
    return new Promise<R>((resolve, reject) => {
      const callOpts: grpc.CallOptions = {};
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) callOpts.deadline = new Date(Date.now() + timeoutMs);
      const t0 = CRI_TRACE ? performance.now() : 0;
      fn.call(client, req ?? {}, new grpc.Metadata(), callOpts, (err: grpc.ServiceError | null, res: R) => {
        if (CRI_TRACE) process.stderr.write(`${new Date().toISOString()} cri ${method} ${(performance.now() - t0).toFixed(1)} ms\n`);
        if (err) reject(new CriError(method, err.code, err.details || err.message));
        else resolve(res);
      });
    });
  }

  // ---------------------------------------------------------------- RuntimeService

  version(req: T.Req<T.VersionRequest> = {}, o?: CallOptions): Promise<T.VersionResponse> {
    return this.call('runtime', 'Version', { version: '0.1.0', ...req }, o);
  }

  runPodSandbox(req: T.Req<T.RunPodSandboxRequest>, o?: CallOptions): Promise<T.RunPodSandboxResponse> {
    return this.call('runtime', 'RunPodSandbox', req, o);
  }

  stopPodSandbox(req: T.Req<T.StopPodSandboxRequest>, o?: CallOptions): Promise<T.Empty> {
    return this.call('runtime', 'StopPodSandbox', req, o);
  }

  removePodSandbox(req: T.Req<T.RemovePodSandboxRequest>, o?: CallOptions): Promise<T.Empty> {
    return this.call('runtime', 'RemovePodSandbox', req, o);
  }

  podSandboxStatus(req: T.Req<T.PodSandboxStatusRequest>, o?: CallOptions): Promise<T.PodSandboxStatusResponse> {
    return this.call('runtime', 'PodSandboxStatus', req, o);
  }

  listPodSandbox(req: T.Req<T.ListPodSandboxRequest> = {}, o?: CallOptions): Promise<T.ListPodSandboxResponse> {
    return this.call('runtime', 'ListPodSandbox', req, o);
  }

  createContainer(req: T.Req<T.CreateContainerRequest>, o?: CallOptions): Promise<T.CreateContainerResponse> {
    return this.call('runtime', 'CreateContainer', req, o);
  }

  startContainer(req: T.Req<T.StartContainerRequest>, o?: CallOptions): Promise<T.Empty> {
    return this.call('runtime', 'StartContainer', req, o);
  }

  /** The deadline is stretched to cover the stop timeout (seconds) given in the request. */
  stopContainer(req: T.Req<T.StopContainerRequest>, o?: CallOptions): Promise<T.Empty> {
    const grace = (req.timeout ?? 0) * 1000;
    return this.call('runtime', 'StopContainer', req, o, this.defaultTimeoutMs + grace);
  }

  removeContainer(req: T.Req<T.RemoveContainerRequest>, o?: CallOptions): Promise<T.Empty> {
    return this.call('runtime', 'RemoveContainer', req, o);
  }

  listContainers(req: T.Req<T.ListContainersRequest> = {}, o?: CallOptions): Promise<T.ListContainersResponse> {
    return this.call('runtime', 'ListContainers', req, o);
  }

  containerStatus(req: T.Req<T.ContainerStatusRequest>, o?: CallOptions): Promise<T.ContainerStatusResponse> {
    return this.call('runtime', 'ContainerStatus', req, o);
  }

  updateContainerResources(req: T.Req<T.UpdateContainerResourcesRequest>, o?: CallOptions): Promise<T.Empty> {
    return this.call('runtime', 'UpdateContainerResources', req, o);
  }

  reopenContainerLog(req: T.Req<T.ReopenContainerLogRequest>, o?: CallOptions): Promise<T.Empty> {
    return this.call('runtime', 'ReopenContainerLog', req, o);
  }

  /** The deadline is stretched to cover the exec timeout (seconds) given in the request. */
  async execSync(req: T.Req<T.ExecSyncRequest>, o?: CallOptions): Promise<T.ExecSyncResponse> {
    const grace = (req.timeout ?? 0) * 1000;
    const res = await this.call<unknown, T.ExecSyncResponse>('runtime', 'ExecSync', req, o, this.defaultTimeoutMs + grace);
    return { stdout: Buffer.from(res.stdout ?? []), stderr: Buffer.from(res.stderr ?? []), exitCode: res.exitCode ?? 0 };
  }

  exec(req: T.Req<T.ExecRequest>, o?: CallOptions): Promise<T.UrlResponse> {
    return this.call('runtime', 'Exec', req, o);
  }

  attach(req: T.Req<T.AttachRequest>, o?: CallOptions): Promise<T.UrlResponse> {
    return this.call('runtime', 'Attach', req, o);
  }

  portForward(req: T.Req<T.PortForwardRequest>, o?: CallOptions): Promise<T.UrlResponse> {
    return this.call('runtime', 'PortForward', req, o);
  }

  listContainerStats(req: T.Req<T.ListContainerStatsRequest> = {}, o?: CallOptions): Promise<T.ListContainerStatsResponse> {
    return this.call('runtime', 'ListContainerStats', req, o);
  }

  status(req: T.Req<T.StatusRequest> = {}, o?: CallOptions): Promise<T.StatusResponse> {
    return this.call('runtime', 'Status', req, o);
  }

  // ---------------------------------------------------------------- ImageService

  listImages(req: T.Req<T.ListImagesRequest> = {}, o?: CallOptions): Promise<T.ListImagesResponse> {
    return this.call('image', 'ListImages', req, o);
  }

  imageStatus(req: T.Req<T.ImageStatusRequest>, o?: CallOptions): Promise<T.ImageStatusResponse> {
    return this.call('image', 'ImageStatus', req, o);
  }

  pullImage(req: T.Req<T.PullImageRequest>, o?: CallOptions): Promise<T.PullImageResponse> {
    return this.call('image', 'PullImage', req, o, DEFAULT_PULL_TIMEOUT_MS);
  }

  removeImage(req: T.Req<T.RemoveImageRequest>, o?: CallOptions): Promise<T.Empty> {
    return this.call('image', 'RemoveImage', req, o);
  }

  imageFsInfo(o?: CallOptions): Promise<T.ImageFsInfoResponse> {
    return this.call('image', 'ImageFsInfo', {}, o);
  }

  // ---------------------------------------------------------------- helpers

  /** Condition type -> status from Status (RuntimeReady, NetworkReady). */
  async conditions(o?: CallOptions): Promise<Record<string, T.RuntimeCondition>> {
    const res = await this.status({}, o);
    const out: Record<string, T.RuntimeCondition> = {};
    for (const c of res.status?.conditions ?? []) out[c.type] = c;
    return out;
  }
}
