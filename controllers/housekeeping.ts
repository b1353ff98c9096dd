// The housekeeping controllers, in the order the controller manager starts them:
// garbage collection, namespace deletion, service accounts, the root CA ConfigMap, node lifecycle and taint
// eviction, pod GC, TTL after finished, disruption budgets.
//
// Knobs (upstream kube-controller-manager flags), read from the environment of the
// process that runs the controllers (`kite server`, which `kite up` starts with its
// own environment):
//   KITE_NODE_MONITOR_PERIOD_SECONDS        --node-monitor-period (5)
//   KITE_NODE_MONITOR_GRACE_SECONDS         --node-monitor-grace-period (40)
//   KITE_NODE_STARTUP_GRACE_SECONDS         --node-startup-grace-period (60)
//   KITE_NODE_EVICTION_RATE                 --node-eviction-rate (0.1 nodes/s per zone)
//   KITE_TERMINATED_POD_GC_THRESHOLD        --terminated-pod-gc-threshold (12500)
//   KITE_POD_GC_PERIOD_SECONDS              the pod GC's check period (20)
//   KITE_POD_GC_QUARANTINE_SECONDS          how long a node must be missing before its pods are orphans (40)
import type { ControllerDescriptor } from './manager.js';
import { controller } from './manager.js';
import { GarbageCollector } from './garbagecollector/garbagecollector.js';
import { NamespaceController } from './namespace/controller.js';
import { ServiceAccountsController } from './serviceaccount/controller.js';
import { newRootCACertPublisher } from './rootcacert/controller.js';
import { NodeLifecycleController } from './nodelifecycle/controller.js';
import { TaintEvictionController } from './nodelifecycle/tainteviction.js';
import { PodGCController } from './podgc/controller.js';
import { TTLAfterFinishedController } from './ttlafterfinished/controller.js';
import { DisruptionController } from './disruption/controller.js';

/** A positive number from the environment, else `fallback`. */
function envNumber(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`ignoring ${name}=${raw}: not a non-negative number`);
    return fallback;
  }
  return n;
}

export interface HousekeepingConfig {
  nodeMonitorPeriodMs: number;
  nodeMonitorGracePeriodMs: number;
  nodeStartupGracePeriodMs: number;
  nodeEvictionRate: number;
  terminatedPodGCThreshold: number;
  podGCPeriodMs: number;
  podGCQuarantineMs: number;
}

export function housekeepingConfig(env: NodeJS.ProcessEnv = process.env): HousekeepingConfig {
  return {
    nodeMonitorPeriodMs: envNumber('KITE_NODE_MONITOR_PERIOD_SECONDS', 5, env) * 1000,
    nodeMonitorGracePeriodMs: envNumber('KITE_NODE_MONITOR_GRACE_SECONDS', 40, env) * 1000,
    nodeStartupGracePeriodMs: envNumber('KITE_NODE_STARTUP_GRACE_SECONDS', 60, env) * 1000,
    nodeEvictionRate: envNumber('KITE_NODE_EVICTION_RATE', 0.1, env),
    terminatedPodGCThreshold: envNumber('KITE_TERMINATED_POD_GC_THRESHOLD', 12500, env),
    podGCPeriodMs: envNumber('KITE_POD_GC_PERIOD_SECONDS', 20, env) * 1000,
    podGCQuarantineMs: envNumber('KITE_POD_GC_QUARANTINE_SECONDS', 40, env) * 1000,
  };
}

/**
 * The housekeeping controllers; without `config`, the environment is read when each
 * controller is made (so a process can set it up before the controller manager starts).
 */
export function housekeepingControllers(config?: HousekeepingConfig): ControllerDescriptor[] {
  const cfg = () => config ?? housekeepingConfig();
  return [
    controller('generic-garbage-collector', (ctx) => new GarbageCollector(ctx)),
    controller('namespace-controller', (ctx) => new NamespaceController(ctx)),
    controller('service-account-controller', (ctx) => new ServiceAccountsController(ctx)),
    controller('root-ca-cert-publisher', newRootCACertPublisher),
    controller('node-controller', (ctx) => {
      const c = cfg();
      return new NodeLifecycleController(ctx, {
        nodeMonitorPeriodMs: c.nodeMonitorPeriodMs,
        nodeMonitorGracePeriodMs: c.nodeMonitorGracePeriodMs,
        nodeStartupGracePeriodMs: c.nodeStartupGracePeriodMs,
        evictionLimiterQPS: c.nodeEvictionRate,
      });
    }),
    controller('node-controller', (ctx) => new TaintEvictionController(ctx)),
    controller('pod-garbage-collector', (ctx) => {
      const c = cfg();
      return new PodGCController(ctx, { terminatedPodThreshold: c.terminatedPodGCThreshold, gcCheckPeriodMs: c.podGCPeriodMs, quarantineMs: c.podGCQuarantineMs });
    }),
    controller('ttl-after-finished-controller', (ctx) => new TTLAfterFinishedController(ctx)),
    controller('disruption-controller', (ctx) => new DisruptionController(ctx)),
  ];
}

export const HOUSEKEEPING_CONTROLLERS: ControllerDescriptor[] = housekeepingControllers();
