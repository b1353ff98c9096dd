// The controller manager (upstream: kube-controller-manager): one shared informer
// factory and one event broadcaster for every controller, each controller a folder
// under controllers/ exporting a constructor of this shape.
import type { ApiTransport } from '../client/transport.js';
import { SharedInformerFactory } from '../client/informer.js';
import { EventBroadcaster } from '../client/events.js';
import type { Controller } from '../client/controller.js';

export interface ControllerContext {
  transport: ApiTransport;
  informers: SharedInformerFactory;
  events: EventBroadcaster;
  /** The cluster CA certificate (PEM) the root CA publisher puts into every namespace. */
  rootCACert?: string;
  /** The cluster CA's certificate and key (PEM): the CSR signer issues certificates with them. */
  clusterSigning?: { cert: string; key: string };
}

export interface ControllerManagerOptions {
  /** The cluster CA certificate (PEM), published as ConfigMap kube-root-ca.crt in every namespace. */
  rootCACert?: string;
  /** The cluster CA's certificate and key (PEM), for the CSR signer. */
  clusterSigning?: { cert: string; key: string };
}

export type ControllerConstructor = (ctx: ControllerContext) => Controller;

/**
 * A controller as the manager runs it: with its own identity, the kube-system service
 * account upstream's kube-controller-manager uses for it (--use-service-account-credentials),
 * so each controller holds only its own role's permissions.
 */
export interface ControllerDescriptor {
  serviceAccount: string;
  make: ControllerConstructor;
}

export function controller(serviceAccount: string, make: ControllerConstructor): ControllerDescriptor {
  return { serviceAccount, make };
}

export interface ControllerManager {
  controllers: readonly Controller[];
  stop(): Promise<void>;
}

/**
 * Start every controller, then the informers they asked for. Informers and events use
 * `transport` (the manager's own identity); each controller writes through
 * `clientFor(its service account)` when given, else through `transport` too.
 */
export async function startControllerManager(
  transport: ApiTransport,
  descriptors: readonly ControllerDescriptor[],
  options: ControllerManagerOptions & { clientFor?: (serviceAccount: string) => ApiTransport } = {},
): Promise<ControllerManager> {
  // As upstream's controller manager, its informers keep no managedFields.
  const informers = new SharedInformerFactory(transport, { informerDefaults: { stripManagedFields: true } });
  const events = new EventBroadcaster(transport, { host: 'kite' });
  const clientFor = options.clientFor;
  const controllers = descriptors.map((d) => d.make({ transport: clientFor ? clientFor(d.serviceAccount) : transport, informers, events, rootCACert: options.rootCACert, clusterSigning: options.clusterSigning }));
  informers.start();
  for (const c of controllers) {
    c.start().catch((err) => console.error(`controller ${c.name} failed to start:`, err));
  }
  return {
    controllers,
    async stop() {
      await Promise.all(controllers.map((c) => c.stop()));
      informers.stop();
      events.shutdown();
    },
  };
}
