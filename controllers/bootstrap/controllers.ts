// Bootstrap token housekeeping (upstream: pkg/controller/bootstrap):
//  - the token cleaner deletes kube-system bootstrap-token-* Secrets once their
//    `expiration` has passed (the authenticator already refuses them);
//  - the bootstrap signer keeps kube-public/cluster-info signed: one
//    `jws-kubeconfig-<id>` entry per token usable for signing, a detached HS256 JWS of
//    the `kubeconfig` value keyed by the token's secret, so a joining node that knows
//    the token can tell the ConfigMap came from this cluster.
import type { ConfigMap, Secret } from 'kubernetes-types/core/v1.js';
import { QueueController, type Controller } from '../../client/controller.js';
import type { Informer } from '../../client/informer.js';
import type { ApiTransport } from '../../client/transport.js';
import { isConflict, isNotFound } from '../../client/transport.js';
import {
  BOOTSTRAP_TOKEN_NAMESPACE,
  BOOTSTRAP_TOKEN_SECRET_PREFIX,
  BOOTSTRAP_TOKEN_SECRET_TYPE,
  CLUSTER_INFO_NAME,
  CLUSTER_INFO_NAMESPACE,
  JWS_KEY_PREFIX,
  TOKEN_ID_PATTERN,
  detachedJws,
  isTokenExpired,
  secretValues,
  tokenExpiry,
} from '../../machinery/bootstrap-token.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ControllerContext } from '../manager.js';

const SECRETS = resourceByPath('', 'v1', 'secrets')!;
const CONFIGMAPS = resourceByPath('', 'v1', 'configmaps')!;

function isTokenSecret(s: Secret): boolean {
  return s.type === BOOTSTRAP_TOKEN_SECRET_TYPE && (s.metadata?.name ?? '').startsWith(BOOTSTRAP_TOKEN_SECRET_PREFIX);
}

export class TokenCleaner extends QueueController {
  readonly secrets: Informer<Secret>;
  private readonly transport: ApiTransport;

  constructor(ctx: ControllerContext) {
    super({ name: 'tokencleaner', workers: 1 });
    this.transport = ctx.transport;
    this.secrets = ctx.informers.informerFor<Secret>(SECRETS, { namespace: BOOTSTRAP_TOKEN_NAMESPACE });
    this.secrets.addEventHandler({ onAdd: (s) => this.enqueue(s.metadata!.name!), onUpdate: (_o, s) => this.enqueue(s.metadata!.name!) });
    this.requireSynced(this.secrets);
  }

  protected override async reconcile(name: string): Promise<void> {
    const s = this.secrets.store.get(BOOTSTRAP_TOKEN_NAMESPACE, name);
    if (!s || !isTokenSecret(s) || s.metadata?.deletionTimestamp) return;
    const values = secretValues(s);
    if (!isTokenExpired(values)) {
      const at = tokenExpiry(values);
      // Checked again when it expires (timers are capped: a far expiry is re-armed).
      if (at !== undefined) this.enqueueAfter(name, Math.min(at - Date.now() + 1000, 24 * 3600_000));
      return;
    }
    try {
      await this.transport.delete(SECRETS, BOOTSTRAP_TOKEN_NAMESPACE, name, { preconditions: { uid: s.metadata?.uid } });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }
}

export class BootstrapSigner extends QueueController {
  readonly secrets: Informer<Secret>;
  readonly configMaps: Informer<ConfigMap>;
  private readonly transport: ApiTransport;

  constructor(ctx: ControllerContext) {
    super({ name: 'bootstrapsigner', workers: 1 });
    this.transport = ctx.transport;
    this.secrets = ctx.informers.informerFor<Secret>(SECRETS, { namespace: BOOTSTRAP_TOKEN_NAMESPACE });
    this.configMaps = ctx.informers.informerFor<ConfigMap>(CONFIGMAPS, { namespace: CLUSTER_INFO_NAMESPACE, fieldSelector: `metadata.name=${CLUSTER_INFO_NAME}` });
    const all = () => this.enqueue(CLUSTER_INFO_NAME);
    this.secrets.addEventHandler({ onAdd: all, onUpdate: all, onDelete: all });
    this.configMaps.addEventHandler({ onAdd: all, onUpdate: all });
    this.requireSynced(this.secrets);
    this.requireSynced(this.configMaps);
  }

  /** The signatures cluster-info should carry for `kubeconfig`. */
  private signatures(kubeconfig: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const s of this.secrets.store.listNamespace(BOOTSTRAP_TOKEN_NAMESPACE)) {
      if (!isTokenSecret(s) || s.metadata?.deletionTimestamp) continue;
      const v = secretValues(s);
      const id = v['token-id'] ?? '';
      if (!TOKEN_ID_PATTERN.test(id) || s.metadata?.name !== BOOTSTRAP_TOKEN_SECRET_PREFIX + id) continue;
      if (v['usage-bootstrap-signing'] !== 'true' || isTokenExpired(v)) continue;
      out[JWS_KEY_PREFIX + id] = detachedJws(kubeconfig, id, v['token-secret'] ?? '');
    }
    return out;
  }

  protected override async reconcile(): Promise<void> {
    const cm = this.configMaps.store.get(CLUSTER_INFO_NAMESPACE, CLUSTER_INFO_NAME);
    const kubeconfig = cm?.data?.kubeconfig;
    if (!cm || kubeconfig === undefined) return;
    const wanted = this.signatures(kubeconfig);
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(cm.data ?? {})) if (!k.startsWith(JWS_KEY_PREFIX)) data[k] = v;
    Object.assign(data, wanted);
    const same = Object.keys(data).length === Object.keys(cm.data ?? {}).length && Object.entries(data).every(([k, v]) => cm.data?.[k] === v);
    if (same) return;
    try {
      await this.transport.update<ConfigMap>(CONFIGMAPS, CLUSTER_INFO_NAMESPACE, { ...cm, data });
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err)) return this.enqueue(CLUSTER_INFO_NAME);
      throw err;
    }
  }
}

export function newTokenCleaner(ctx: ControllerContext): Controller {
  return new TokenCleaner(ctx);
}

export function newBootstrapSigner(ctx: ControllerContext): Controller {
  return new BootstrapSigner(ctx);
}
