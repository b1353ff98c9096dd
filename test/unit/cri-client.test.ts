// Unit tests of the CRI client: the .proto subset (services, upstream field
// numbers) and the client against a fake runtime served on a unix socket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { CriClient, CriError, criProtoPath, criServices, isDeadlineExceeded, isNotFound, unixTarget } from '../../kubelet/cri/client.js';

const RUNTIME_RPCS = [
  'Version', 'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'PodSandboxStatus', 'ListPodSandbox',
  'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer', 'ListContainers', 'ContainerStatus',
  'ExecSync', 'Exec', 'Attach', 'PortForward', 'UpdateContainerResources', 'Status', 'ReopenContainerLog',
  'ListContainerStats',
];
const IMAGE_RPCS = ['ListImages', 'ImageStatus', 'PullImage', 'RemoveImage', 'ImageFsInfo'];

test('proto: package runtime.v1 with every RPC kite uses', () => {
  const root = protobuf.loadSync(criProtoPath());
  const rt = root.lookupService('runtime.v1.RuntimeService');
  const img = root.lookupService('runtime.v1.ImageService');
  assert.deepEqual(Object.keys(rt.methods).sort(), [...RUNTIME_RPCS].sort());
  assert.deepEqual(Object.keys(img.methods).sort(), [...IMAGE_RPCS].sort());
  const svc = criServices();
  assert.equal(svc.runtime.service.Version!.path, '/runtime.v1.RuntimeService/Version');
  assert.equal(svc.image.service.PullImage!.path, '/runtime.v1.ImageService/PullImage');
});

test('proto: field numbers match upstream runtime.v1', () => {
  const root = new protobuf.Root().loadSync(criProtoPath(), { keepCase: true });
  // [message, field, number] spot checks, including the non-sequential ones
  const expected: Array<[string, string, number]> = [
    ['RunPodSandboxRequest', 'runtime_handler', 2],
    ['ContainerStats', 'writable_layer', 4],
    ['CpuUsage', 'usage_nano_cores', 3],
    ['MemoryUsage', 'working_set_bytes', 2],
    ['ContainerAttributes', 'labels', 3],
    ['PodSandboxConfig', 'log_directory', 3],
    ['PodSandboxConfig', 'port_mappings', 5],
    ['PodSandboxConfig', 'linux', 8],
    ['LinuxSandboxSecurityContext', 'run_as_group', 8],
    ['LinuxSandboxSecurityContext', 'seccomp', 9],
    ['LinuxPodSandboxConfig', 'resources', 5],
    ['PodSandboxStatus', 'runtime_handler', 9],
    ['PodSandboxStatusResponse', 'containers_statuses', 3],
    ['ContainerConfig', 'envs', 6],
    ['ContainerConfig', 'log_path', 11],
    ['ContainerConfig', 'tty', 14],
    ['ContainerConfig', 'linux', 15],
    ['ImageSpec', 'user_specified_image', 18],
    ['ImageSpec', 'runtime_handler', 19],
    ['LinuxContainerSecurityContext', 'no_new_privs', 11],
    ['LinuxContainerSecurityContext', 'run_as_group', 12],
    ['LinuxContainerSecurityContext', 'seccomp', 15],
    ['LinuxContainerResources', 'unified', 9],
    ['LinuxContainerResources', 'memory_swap_limit_in_bytes', 10],
    ['Mount', 'recursive_read_only', 8],
    ['ContainerStatus', 'exit_code', 7],
    ['ContainerStatus', 'log_path', 15],
    ['ContainerStatus', 'resources', 16],
    ['Container', 'created_at', 7],
    ['ContainerFilter', 'label_selector', 4],
    ['ExecSyncRequest', 'timeout', 3],
    ['ExecSyncResponse', 'exit_code', 3],
    ['UpdateContainerResourcesRequest', 'annotations', 4],
    ['StopContainerRequest', 'timeout', 2],
    ['Image', 'pinned', 8],
    ['PullImageRequest', 'sandbox_config', 3],
    ['ImageFsInfoResponse', 'container_filesystems', 2],
    ['FilesystemUsage', 'inodes_used', 4],
    ['StatusResponse', 'info', 2],
    ['PortForwardRequest', 'port', 2],
  ];
  for (const [msg, field, id] of expected) {
    const t = root.lookupType(`runtime.v1.${msg}`);
    assert.ok(t.fields[field], `${msg}.${field} declared`);
    assert.equal(t.fields[field]!.id, id, `${msg}.${field} = ${id}`);
  }
  const state = root.lookupEnum('runtime.v1.ContainerState');
  assert.deepEqual({ ...state.values }, { CONTAINER_CREATED: 0, CONTAINER_RUNNING: 1, CONTAINER_EXITED: 2, CONTAINER_UNKNOWN: 3 });
});

test('unix targets', () => {
  assert.equal(unixTarget('/run/x.sock'), 'unix:///run/x.sock');
  assert.equal(unixTarget('unix:///run/x.sock'), 'unix:///run/x.sock');
  assert.equal(unixTarget('unix:/run/x.sock'), 'unix:///run/x.sock');
  assert.throws(() => unixTarget('relative.sock'), /absolute/);
});

describe('client against a fake runtime', () => {
  let dir: string;
  let socket: string;
  let server: grpc.Server;
  let client: CriClient;
  const seen: Record<string, any> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kite-cri-client-'));
    socket = join(dir, 'fake.sock');
    server = new grpc.Server();
    const { runtime, image } = criServices();
    const unary = (name: string, fn: (req: any) => any) => (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
      seen[name] = call.request;
      try {
        cb(null, fn(call.request));
      } catch (err: any) {
        cb(err);
      }
    };
    server.addService(runtime.service, {
      Version: unary('Version', () => ({ version: '0.1.0', runtimeName: 'fake', runtimeVersion: '1', runtimeApiVersion: 'v1' })),
      RunPodSandbox: unary('RunPodSandbox', (r) => ({ podSandboxId: `sb-${r.config.metadata.name}` })),
      ListContainers: unary('ListContainers', () => ({
        containers: [{ id: 'c1', podSandboxId: 'sb-1', state: 'CONTAINER_RUNNING', createdAt: 1_700_000_000_123_456_000, labels: { a: 'b' } }],
      })),
      ContainerStatus: unary('ContainerStatus', (r) => {
        throw Object.assign(new Error('nope'), { code: grpc.status.NOT_FOUND, details: `container ${r.containerId} not found` });
      }),
      ExecSync: unary('ExecSync', (r) => ({ stdout: Buffer.from(r.cmd.join(' ')), stderr: Buffer.alloc(0), exitCode: 7 })),
      Status: (_call: any, cb: any) => setTimeout(() => cb(null, { status: { conditions: [] } }), 2000),
    });
    server.addService(image.service, {
      ListImages: unary('ListImages', () => ({ images: [{ id: 'sha256:abc', repoTags: ['x:1'], size: 1234 }] })),
    });
    await new Promise<void>((res, rej) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    client = await CriClient.connect(socket);
  });

  after(() => {
    client?.close();
    server?.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  test('typed unary calls with camelCase fields, enum names and numbers', async () => {
    const v = await client.version();
    assert.equal(v.runtimeName, 'fake');
    assert.equal(seen.Version.version, '0.1.0');
    const sb = await client.runPodSandbox({ config: { metadata: { name: 'p', uid: 'u', namespace: 'ns' }, labels: { k: 'v' }, linux: { securityContext: { namespaceOptions: { pid: 'CONTAINER' } } } } });
    assert.equal(sb.podSandboxId, 'sb-p');
    assert.deepEqual(seen.RunPodSandbox.config.labels, { k: 'v' });
    assert.equal(seen.RunPodSandbox.config.linux.securityContext.namespaceOptions.pid, 'CONTAINER');
    const { containers } = await client.listContainers({ filter: { state: { state: 'CONTAINER_RUNNING' } } });
    assert.equal(containers[0]!.state, 'CONTAINER_RUNNING');
    assert.equal(typeof containers[0]!.createdAt, 'number');
    assert.ok(Math.abs(containers[0]!.createdAt - 1_700_000_000_123_456_000) < 1000);
    assert.equal(containers[0]!.metadata, null, 'absent sub-message is null');
    assert.equal(seen.ListContainers.filter.state.state, 'CONTAINER_RUNNING');
    const imgs = await client.listImages();
    assert.deepEqual(imgs.images[0]!.repoTags, ['x:1']);
    assert.equal(imgs.images[0]!.size, 1234);
  });

  test('ExecSync returns Buffers and the exit code', async () => {
    const r = await client.execSync({ containerId: 'c1', cmd: ['echo', 'hi'], timeout: 5 });
    assert.ok(Buffer.isBuffer(r.stdout));
    assert.equal(r.stdout.toString(), 'echo hi');
    assert.equal(r.exitCode, 7);
    assert.equal(seen.ExecSync.timeout, 5);
  });

  test('errors carry the gRPC code; deadlines are enforced', async () => {
    await assert.rejects(client.containerStatus({ containerId: 'zz' }), (err: unknown) => {
      assert.ok(err instanceof CriError);
      assert.equal(err.method, 'ContainerStatus');
      assert.ok(isNotFound(err));
      assert.match(err.message, /container zz not found/);
      return true;
    });
    const t0 = Date.now();
    await assert.rejects(client.status({}, { timeoutMs: 200 }), (err: unknown) => isDeadlineExceeded(err));
    assert.ok(Date.now() - t0 < 1500, 'deadline cut the call short');
    // An RPC the fake does not implement surfaces as UNIMPLEMENTED.
    await assert.rejects(client.removeImage({ image: { image: 'x' } }), (err: unknown) => err instanceof CriError && err.code === grpc.status.UNIMPLEMENTED);
  });

  test('connect fails fast when nothing listens', async () => {
    await assert.rejects(CriClient.connect(join(dir, 'nothing.sock'), { connectTimeoutMs: 300 }), CriError);
  });
});
