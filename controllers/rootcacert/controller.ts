// The root CA certificate publisher (upstream: pkg/controller/certificates/
// rootcacertpublisher): every active namespace has a ConfigMap `kube-root-ca.crt`
// whose `ca.crt` is the cluster CA, so pods can verify the API server (the
// kube-api-access volume projects it). Deleted, it is created again; edited, its
// data and description annotation are put back.
import type { ConfigMap, Namespace } from 'kubernetes-types/core/v1.js';
import { QueueController, type Controller } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { ApiTransport } from '../../client/transport.js';
import { isNotFound } from '../../client/transport.js';
import { resourceByPath } from '../../machinery/resources.js';
import { StatusError } from '../../machinery/status.js';
import type { ControllerContext } from '../manager.js';

const NAMESPACES = resourceByPath('', 'v1', 'namespaces')!;
const CONFIGMAPS = resourceByPath('', 'v1', 'configmaps')!;

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
export const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. ' +
  'No other usage is guaranteed across distributions of Kubernetes clusters.';

export interface RootCACertPublisherOptions {
  /** The cluster CA certificate (PEM). */
  rootCA: string;
  workers?: number;
}

function isNamespaceTerminating(err: unknown): boolean {
  return err instanceof StatusError && (err.status.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');
}

export class RootCACertPublisher extends QueueController {
  readonly namespaces: Informer<Namespace>;
  readonly configMaps: Informer<ConfigMap>;
  private readonly transport: ApiTransport;
  private readonly rootCA: string;

  constructor(ctx: ControllerContext, opts: RootCACertPublisherOptions) {
    super({ name: 'root-ca-cert-publisher', workers: opts.workers ?? 1 });
    this.transport = ctx.transport;
    this.rootCA = opts.rootCA;
    this.namespaces = ctx.informers.informerFor<Namespace>(NAMESPACES);
    // Only the one ConfigMap per namespace matters: no need to cache every ConfigMap.
    this.configMaps = ctx.informers.informerFor<ConfigMap>(CONFIGMAPS, { fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}` });
    this.namespaces.addEventHandler({
      onAdd: (ns) => this.enqueue(ns.metadata!.name!),
      onUpdate: (_old, ns) => {
        if ((ns.status?.phase ?? 'Active') === 'Active') this.enqueue(ns.metadata!.name!);
      },
    });
    this.configMaps.addEventHandler({
      onUpdate: (_old, cm) => this.enqueueFor(cm),
      onDelete: (cm) => this.enqueueFor(cm),
    });
    this.requireSynced(this.namespaces);
    this.requireSynced(this.configMaps);
  }

  private enqueueFor(cm: ConfigMap): void {
    if (cm.metadata?.name === ROOT_CA_CONFIGMAP && cm.metadata.namespace) this.enqueue(cm.metadata.namespace);
  }

  protected override async reconcile(namespace: string): Promise<void> {
    const ns = this.namespaces.store.get(undefined, namespace);
    if (!ns || ns.metadata?.deletionTimestamp || (ns.status?.phase ?? 'Active') !== 'Active') return;
    const data = { 'ca.crt': this.rootCA };
    const cm = this.configMaps.store.get(namespace, ROOT_CA_CONFIGMAP);
    if (!cm) {
      try {
        await this.transport.create<ConfigMap>(CONFIGMAPS, namespace, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIGMAP, namespace, annotations: { [DESCRIPTION_ANNOTATION]: ROOT_CA_DESCRIPTION } },
          data,
        });
      } catch (err) {
        // Not retried when the namespace is gone or going (upstream).
        if (isNotFound(err) || isNamespaceTerminating(err)) return;
        throw err;
      }
      return;
    }
    const current = cm.data ?? {};
    const same = Object.keys(current).length === 1 && current['ca.crt'] === this.rootCA;
    if (same && cm.metadata?.annotations?.[DESCRIPTION_ANNOTATION]) return;
    // Whatever else was put into the data goes; other annotations stay.
    await this.transport.update<ConfigMap>(CONFIGMAPS, namespace, {
      ...cm,
      metadata: { ...cm.metadata, annotations: { ...(cm.metadata?.annotations ?? {}), [DESCRIPTION_ANNOTATION]: ROOT_CA_DESCRIPTION } },
      data,
    });
  }
}

/** The publisher when the manager knows the CA (ControllerContext.rootCACert), else a controller that does nothing. */
export function newRootCACertPublisher(ctx: ControllerContext): Controller {
  if (!ctx.rootCACert) return { name: 'root-ca-cert-publisher', start: async () => undefined, stop: async () => undefined };
  return new RootCACertPublisher(ctx, { rootCA: ctx.rootCACert });
}
