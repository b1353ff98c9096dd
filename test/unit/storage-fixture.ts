// A real in-process API with the storage controllers running, for the storage tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { Event } from 'kubernetes-types/core/v1.js';
import { startControllerManager } from '../../controllers/manager.js';
import type { ControllerManager } from '../../controllers/manager.js';
import { PersistentVolumeController } from '../../controllers/volume/binder.js';
import { PVCProtectionController, PVProtectionController } from '../../controllers/volume/protection.js';
import { EphemeralVolumeController } from '../../controllers/volume/ephemeral.js';
import { SelectedNodeController } from '../../controllers/volume/selected-node.js';
import { LocalPathProvisioner } from '../../controllers/volume/local-path.js';
import { defaultStorageClassAdmission } from '../../controllers/volume/default-class.js';
import { controller } from '../../controllers/manager.js';
import { OPEN_POLICY } from '../../apiserver/api.js';
import { NODES, PODS, PVCS, PVS, STORAGE_CLASSES } from '../../controllers/volume/util.js';
import { isNotFound } from '../../client/transport.js';
import type { LocalTransport } from '../../client/local-transport.js';
import { EVENTS, startCluster } from './client-fixture.js';
import type { Cluster } from './client-fixture.js';
import { waitInProcess } from '../wait.js';

export interface StorageCluster {
  cluster: Cluster;
  api: LocalTransport;
  manager: ControllerManager;
  /** A private directory (under /tmp) for volumes of this test. */
  dir: string;
  pvController(): PersistentVolumeController;
  createPV(pv: PersistentVolume): Promise<PersistentVolume>;
  createPVC(pvc: PersistentVolumeClaim): Promise<PersistentVolumeClaim>;
  createPod(pod: Pod): Promise<Pod>;
  createClass(sc: StorageClass): Promise<StorageClass>;
  createNode(name: string, labels?: Record<string, string>): Promise<Node>;
  pv(name: string): Promise<PersistentVolume | undefined>;
  pvc(name: string, namespace?: string): Promise<PersistentVolumeClaim | undefined>;
  events(name: string, namespace?: string): Event[];
  close(): Promise<void>;
}

export async function startStorage(opts: { resyncMs?: number; localPathDir?: string } = {}): Promise<StorageCluster> {
  const cluster = await startCluster(['default'], (lookups) => ({ ...OPEN_POLICY(), admission: [defaultStorageClassAdmission(() => lookups.list('storage.k8s.io', 'storageclasses'))] }));
  const dir = mkdtempSync(join(tmpdir(), 'kite-storage-'));
  let pvc: PersistentVolumeController | undefined;
  const manager = await startControllerManager(cluster.transport, [
    controller('persistent-volume-binder', (ctx) => (pvc = new PersistentVolumeController(ctx, { resyncPeriodMs: opts.resyncMs ?? 300, log: () => {} }))),
    controller('pvc-protection-controller', (ctx) => new PVCProtectionController(ctx)),
    controller('pv-protection-controller', (ctx) => new PVProtectionController(ctx)),
    controller('ephemeral-volume-controller', (ctx) => new EphemeralVolumeController(ctx)),
    controller('persistent-volume-binder', (ctx) => new SelectedNodeController(ctx)),
    controller('local-path-provisioner', (ctx) => new LocalPathProvisioner(ctx, { defaultPath: opts.localPathDir ?? join(dir, 'default-local-path'), log: () => {} })),
  ]);
  const api = cluster.transport;
  const get = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  return {
    cluster,
    api,
    manager,
    dir,
    pvController: () => pvc!,
    createPV: (pv) => api.create(PVS, undefined, { apiVersion: 'v1', kind: 'PersistentVolume', ...pv }),
    createPVC: (c) => api.create(PVCS, c.metadata?.namespace ?? 'default', { apiVersion: 'v1', kind: 'PersistentVolumeClaim', ...c }),
    createPod: (p) => api.create(PODS, p.metadata?.namespace ?? 'default', { apiVersion: 'v1', kind: 'Pod', ...p }),
    createClass: (sc) => api.create(STORAGE_CLASSES, undefined, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', ...sc }),
    createNode: (name, labels) =>
      api.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(labels ?? {}) } } } as Node),
    pv: (name) => get(() => api.get<PersistentVolume>(PVS, undefined, name)),
    pvc: (name, namespace = 'default') => get(() => api.get<PersistentVolumeClaim>(PVCS, namespace, name)),
    events: (name, namespace = 'default') =>
      (cluster.registry.list(EVENTS, namespace, {}).items as unknown as Event[]).filter((e) => e.involvedObject?.name === name),
    async close() {
      await manager.stop();
      await cluster.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Poll an async condition until it yields something truthy. */
export function eventually<T>(what: string, fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 5000): Promise<T> {
  return waitInProcess(what, fn, timeoutMs);
}

export function hostPathPV(name: string, path: string, size: string, extra: Partial<PersistentVolume['spec']> & { labels?: Record<string, string> } = {}): PersistentVolume {
  const { labels, ...spec } = extra;
  return {
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: { capacity: { storage: size }, accessModes: ['ReadWriteOnce'], hostPath: { path }, ...spec },
  };
}

export function claim(name: string, size: string, spec: PersistentVolumeClaim['spec'] = {}, namespace = 'default'): PersistentVolumeClaim {
  return { metadata: { name, namespace }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } }, ...spec } };
}

export function podWithClaim(name: string, claimName: string, nodeName?: string): Pod {
  return {
    metadata: { name, namespace: 'default' },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      containers: [{ name: 'c', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
    },
  };
}
