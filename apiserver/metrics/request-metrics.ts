// The API server's request metrics (upstream: apiserver/pkg/endpoints/metrics):
// apiserver_request_total and apiserver_request_duration_seconds per verb, group,
// version, resource, subresource, scope and code; apiserver_current_inflight_requests;
// apiserver_storage_objects per resource, read from the watch cache at each scrape.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { defaultRegistry, type HistogramState, type Labels } from '../../machinery/metrics.js';
import type { ResourceRequest } from '../request.js';

const BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];
const LABELS = ['verb', 'dry_run', 'group', 'version', 'resource', 'subresource', 'scope', 'component'] as const;

/** The series a request's answer counts in, made once per label set. */
interface RequestSeries {
  labels: Labels;
  duration: HistogramState;
  /** apiserver_request_total's series of these labels, by response code. */
  totalByCode: Map<number, { n: number }>;
}

/** Upstream's canonical verb: LIST and WATCH for collection reads, APPLY for server-side apply, else the method. */
function canonicalVerb(r: ResourceRequest, method: string, contentType: string | undefined): string {
  switch (r.verb) {
    case 'list':
      return 'LIST';
    case 'watch':
      return 'WATCH';
    case 'connect':
      return 'CONNECT';
    case 'patch':
      return (contentType ?? '').startsWith('application/apply-patch') ? 'APPLY' : 'PATCH';
    default:
      return method.toUpperCase();
  }
}

/**
 * One request's bookkeeping until its answer is finished: when it started, the series it
 * counts in once resolved, and what else ends with it. One object and one 'close'
 * listener per request, rather than a listener per concern and a side table by request.
 */
export class TrackedRequest {
  /** performance.now() at the start: a number, where hrtime.bigint() makes two BigInts per request. */
  readonly start = performance.now();
  series: RequestSeries | undefined = undefined;
  /** Called when the answer is finished (the server's in-flight count of the request's kind). */
  onEnd: (() => void) | undefined = undefined;
  constructor(readonly req: IncomingMessage) {}
}

class RequestMetrics {
  private readonly total = defaultRegistry.counter('apiserver_request_total', 'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.', [...LABELS, 'code'], 'STABLE');
  private readonly duration = defaultRegistry.histogram('apiserver_request_duration_seconds', 'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.', LABELS, BUCKETS, 'STABLE');
  private readonly inflight = defaultRegistry.gauge('apiserver_current_inflight_requests', 'Maximal number of currently used inflight request limit of this apiserver per request kind in last second.', ['request_kind'], 'STABLE');
  private readonly seriesByLabels = new Map<string, RequestSeries>();
  /** The labels of the request resolved last, and their series (see resolved). */
  private lastResolved: { resource: ResourceRequest['resource']; verb: string; dryRun: string; subresource: string; scope: string; series: RequestSeries } | undefined;

  /** Counts the request when its answer is finished (or the client went away). */
  track(req: IncomingMessage, res: ServerResponse): TrackedRequest {
    const tracked = new TrackedRequest(req);
    // 'close' comes once per response: no once() wrapper needed.
    res.on('close', () => this.ended(tracked, res.statusCode || 0));
    return tracked;
  }

  private ended(t: TrackedRequest, code: number): void {
    t.onEnd?.();
    const s = t.series ?? this.seriesOf((t.req.method ?? 'GET').toUpperCase(), '', '', '', '', '', '');
    let total = s.totalByCode.get(code);
    if (!total) {
      total = this.total.seriesFor({ ...s.labels, code: String(code) });
      s.totalByCode.set(code, total);
    }
    total.n++;
    this.duration.observeIn(s.duration, (performance.now() - t.start) / 1000);
  }

  /** Names the resource request `t` addresses (called once it is parsed). */
  resolved(t: TrackedRequest, r: ResourceRequest, query: URLSearchParams): void {
    const verb = canonicalVerb(r, t.req.method ?? 'GET', t.req.headers['content-type']);
    const dryRun = query.size === 0 ? '' : query.getAll('dryRun').join(',');
    const subresource = r.subresource ?? '';
    const scope = r.name ? 'resource' : r.namespace ? 'namespace' : 'cluster';
    // Requests come in runs of the same kind (a client creating many objects): the last
    // series is compared label by label instead of found again by its key.
    const last = this.lastResolved;
    if (last && last.resource === r.resource && last.verb === verb && last.dryRun === dryRun && last.subresource === subresource && last.scope === scope) {
      t.series = last.series;
      return;
    }
    const series = this.seriesOf(verb, dryRun, r.resource.group, r.resource.version, r.resource.plural, subresource, scope);
    this.lastResolved = { resource: r.resource, verb, dryRun, subresource, scope, series };
    t.series = series;
  }

  /** The series of one label set: a request finds its series by one key instead of labelling each metric anew. */
  private seriesOf(verb: string, dryRun: string, group: string, version: string, resource: string, subresource: string, scope: string): RequestSeries {
    const key = `${verb}\u0000${dryRun}\u0000${group}\u0000${version}\u0000${resource}\u0000${subresource}\u0000${scope}`;
    let s = this.seriesByLabels.get(key);
    if (!s) {
      const labels: Labels = { verb, dry_run: dryRun, group, version, resource, subresource, scope, component: 'apiserver' };
      s = { labels, duration: this.duration.seriesFor(labels), totalByCode: new Map() };
      this.seriesByLabels.set(key, s);
    }
    return s;
  }

  /**
   * The in-flight counters of the server's max-in-flight filter, read at each scrape.
   * Returns the unsubscribe: the registry is process-wide, so a server that closes must
   * leave it, or its collector keeps the whole closed server reachable.
   */
  inflightFrom(read: () => { mutating: number; readonly: number }): () => void {
    return defaultRegistry.collect(() => {
      const v = read();
      this.inflight.set({ request_kind: 'mutating' }, v.mutating);
      this.inflight.set({ request_kind: 'readOnly' }, v.readonly);
    });
  }
}

export const requestMetrics = new RequestMetrics();
