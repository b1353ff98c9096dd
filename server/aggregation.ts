// The aggregation layer's upkeep (upstream: kube-aggregator's AvailableConditionController
// and the API server's cluster-authentication-trust controller): the Available condition
// of every APIService served by a Service in the cluster, and the
// extension-apiserver-authentication ConfigMap that tells aggregated API servers which
// client certificates and X-Remote-* headers to trust.
import type { ApiTransport } from '../client/transport.js';
import type { Aggregator, AggregatorLookups } from '../apiserver/aggregator.js';
import type { KubeObject } from '../machinery/object.js';
import { resourceByPath } from '../machinery/resources.js';
import { StatusError } from '../machinery/status.js';
import { FRONT_PROXY_CLIENT_USER } from '../machinery/pki.js';

const APISERVICES = resourceByPath('apiregistration.k8s.io', 'v1', 'apiservices')!;
const CONFIGMAPS = resourceByPath('', 'v1', 'configmaps')!;
/** Upstream re-checks every APIService this often even when nothing changed (its discovery check). */
const RECHECK_MS = 10_000;

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export class APIServiceAvailabilityController {
  private readonly stops: (() => void)[] = [];
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly client: ApiTransport,
    private readonly lookups: AggregatorLookups,
    private readonly aggregator: Aggregator,
  ) {}

  start(): void {
    for (const [group, plural] of [
      ['apiregistration.k8s.io', 'apiservices'],
      ['', 'services'],
      ['discovery.k8s.io', 'endpointslices'],
    ]) {
      this.stops.push(this.lookups.onChange(group, plural, (ev) => this.changed(plural, ev.object)));
    }
    this.timer = setInterval(() => this.kick(), RECHECK_MS);
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.stops.splice(0)) s();
    if (this.timer) clearInterval(this.timer);
  }

  private changed(plural: string, o: KubeObject): void {
    // Services and slices matter only when some APIService points into their namespace.
    if (plural !== 'apiservices' && !this.aggregator.servesFrom(o.metadata?.namespace)) return;
    this.kick();
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.sync()
      .catch((err) => console.error('apiservice availability:', (err as Error).message))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async sync(): Promise<void> {
    for (const svc of this.lookups.list('apiregistration.k8s.io', 'apiservices')) {
      const spec = (svc.spec ?? {}) as { group?: string; version?: string; service?: unknown };
      if (!spec.service) continue;
      const cond = await this.aggregator.check(spec.group ?? '', spec.version ?? '');
      if (!cond || this.stopped) continue;
      const cur = this.lookups.get('apiregistration.k8s.io', 'apiservices', undefined, svc.metadata!.name!) ?? svc;
      const conds = ((cur.status as { conditions?: Condition[] } | undefined)?.conditions ?? []) as Condition[];
      const old = conds.find((c) => c.type === 'Available');
      if (old && old.status === cond.status && old.reason === cond.reason && old.message === cond.message) continue;
      const next: Condition = { type: 'Available', status: cond.status, lastTransitionTime: old && old.status === cond.status ? old.lastTransitionTime : now(), reason: cond.reason, message: cond.message };
      try {
        await this.client.updateStatus(APISERVICES, undefined, { ...cur, status: { ...(cur.status ?? {}), conditions: [...conds.filter((c) => c.type !== 'Available'), next] } });
      } catch (err) {
        // A newer version or a deleted object: the change that caused it brings another pass.
        if (!(err instanceof StatusError && (err.code === 409 || err.code === 404))) throw err;
        this.again = true;
      }
    }
  }
}

/**
 * kube-system/extension-apiserver-authentication, as kube-apiserver publishes it: the
 * client CA, and the front-proxy CA with the names and headers an aggregated API server
 * accepts identities from.
 */
export async function publishExtensionAuthentication(client: ApiTransport, clientCA: string, frontProxyCA: string | undefined): Promise<void> {
  const data: Record<string, string> = { 'client-ca-file': clientCA };
  if (frontProxyCA) {
    data['requestheader-client-ca-file'] = frontProxyCA;
    data['requestheader-allowed-names'] = JSON.stringify([FRONT_PROXY_CLIENT_USER]);
    data['requestheader-username-headers'] = JSON.stringify(['X-Remote-User']);
    data['requestheader-group-headers'] = JSON.stringify(['X-Remote-Group']);
    data['requestheader-extra-headers-prefix'] = JSON.stringify(['X-Remote-Extra-']);
    data['requestheader-uid-headers'] = JSON.stringify(['X-Remote-Uid']);
  }
  const name = 'extension-apiserver-authentication';
  for (let attempt = 0; attempt < 5; attempt++) {
    let cur: KubeObject | undefined;
    try {
      cur = await client.get(CONFIGMAPS, 'kube-system', name);
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    }
    try {
      if (!cur) await client.create(CONFIGMAPS, 'kube-system', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'kube-system' }, data });
      else if (JSON.stringify((cur as { data?: unknown }).data) !== JSON.stringify(data)) await client.update(CONFIGMAPS, 'kube-system', { ...cur, data });
      return;
    } catch (err) {
      if (!(err instanceof StatusError && (err.code === 409 || err.code === 404))) throw err;
    }
  }
}
