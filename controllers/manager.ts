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
}

export interface ControllerManagerOptions {
  /** The cluster CA certificate (PEM), published as ConfigMap kube-root-ca.crt in every namespace. */
  rootCACert?: string;
}

export type ControllerConstructor = (ctx: ControllerContext) => Controller;

export interface ControllerManager {
  controllers: readonly Controller[];
  stop(): Promise<void>;
}

/** Start every controller, then the informers they asked for. */
export async function startControllerManager(transport: ApiTransport, constructors: readonly ControllerConstructor[], options: ControllerManagerOptions = {}): Promise<ControllerManager> {
  const informers = new SharedInformerFactory(transport);
  const events = new EventBroadcaster(transport, { host: 'kite' });
  const ctx: ControllerContext = { transport, informers, events, rootCACert: options.rootCACert };
  const controllers = constructors.map((make) => make(ctx));
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
