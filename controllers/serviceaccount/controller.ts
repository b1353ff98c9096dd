// The service accounts controller (upstream: pkg/controller/serviceaccount/
// serviceaccounts_controller.go): every active namespace has the ServiceAccounts named
// in the options (`default`), created again when deleted. Namespaces that are
// terminating are left alone.
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { QueueController } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { ApiTransport } from '../../client/transport.js';
import { isAlreadyExists, isNotFound } from '../../client/transport.js';
import { resourceByPath } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import type { ControllerContext } from '../manager.js';

const NAMESPACES = resourceByPath('', 'v1', 'namespaces')!;
const SERVICE_ACCOUNTS = resourceByPath('', 'v1', 'serviceaccounts')!;

export interface ServiceAccountsControllerOptions {
  /** The accounts every namespace gets (upstream default: just `default`). */
  serviceAccounts?: readonly string[];
  workers?: number;
}

function isNamespaceTerminating(err: unknown): boolean {
  return err instanceof StatusError && err.code === 403 && (err.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}

export class ServiceAccountsController extends QueueController {
  readonly namespaces: Informer<Namespace>;
  readonly serviceAccounts: Informer<ServiceAccount>;
  private readonly transport: ApiTransport;
  private readonly wanted: readonly string[];

  constructor(ctx: ControllerContext, opts: ServiceAccountsControllerOptions = {}) {
    super({ name: 'serviceaccount', workers: opts.workers ?? 1 });
    this.transport = ctx.transport;
    this.wanted = opts.serviceAccounts ?? ['default'];
    this.namespaces = ctx.informers.informerFor<Namespace>(NAMESPACES);
    this.serviceAccounts = ctx.informers.informerFor<ServiceAccount>(SERVICE_ACCOUNTS);
    this.watch(this.namespaces, (ns) => ns.metadata?.name);
    this.serviceAccounts.addEventHandler({
      onDelete: (sa) => {
        if (sa.metadata?.namespace && this.wanted.includes(sa.metadata.name ?? '')) this.enqueue(sa.metadata.namespace);
      },
    });
    this.requireSynced(this.serviceAccounts);
  }

  protected override async reconcile(namespace: string): Promise<void> {
    const ns = this.namespaces.store.get(undefined, namespace);
    // Gone, or terminating: nothing to create.
    if (!ns || ns.metadata?.deletionTimestamp || (ns.status?.phase ?? 'Active') !== 'Active') return;
    for (const name of this.wanted) {
      if (this.serviceAccounts.store.get(namespace, name)) continue;
      try {
        await this.transport.create<ServiceAccount>(SERVICE_ACCOUNTS, namespace, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
      } catch (err) {
        if (isAlreadyExists(err) || isNamespaceTerminating(err) || isNotFound(err)) continue;
        throw err;
      }
    }
  }
}

export function newServiceAccountsController(ctx: ControllerContext, opts: ServiceAccountsControllerOptions = {}): ServiceAccountsController {
  return new ServiceAccountsController(ctx, opts);
}
