// Follows every Node through an informer and hands each change, one at a time in arrival
// order, to a per-node sync: what the host-gw routes and the VXLAN peers both are (each
// change runs `ip` commands that must not interleave with another node's).
import type { Node } from 'kubernetes-types/core/v1.js';
import { SharedInformerFactory } from '../client/informer.js';
import type { ApiTransport } from '../client/transport.js';
import { resourceByPath } from '../machinery/resources.js';

const NODES = resourceByPath('', 'v1', 'nodes')!;

export interface NodeSync {
  /** A node was added or changed. */
  sync(node: Node): Promise<void>;
  /** A node was deleted. */
  remove(name: string): Promise<void>;
  /** Where a failed sync is reported (it is tried again at the node's next change). */
  log(message: string): void;
}

export class NodeFollower {
  private readonly informers: SharedInformerFactory;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(transport: ApiTransport, handler: NodeSync) {
    this.informers = new SharedInformerFactory(transport);
    const serialize = (fn: () => Promise<void>): void => {
      this.chain = this.chain.then(fn).catch((err) => handler.log((err as Error).message));
    };
    const sync = (n: Node) => serialize(() => handler.sync(n));
    this.informers.informerFor<Node>(NODES).addEventHandler({ onAdd: sync, onUpdate: (_o, n) => sync(n), onDelete: (n) => serialize(() => handler.remove(n.metadata!.name!)) });
  }

  start(): void {
    this.informers.start();
  }

  /** Stops following; resolves once the change in progress (if any) is done. */
  async stop(): Promise<void> {
    await this.informers.stop();
    await this.chain;
  }
}
