// The API's core in one place, shared by the control plane, tests and benchmarks: the
// watch cache over a store, the lookups the policy plugins read, the registry with its
// admission chain, and the request pipeline with the authorizer, its subresources and
// reviews. Who authorizes and which admission plugins run is the caller's choice
// (server/ passes the cluster's policy).
import { RESOURCES, allResources } from '../machinery/resources.js';
import { defaultRegistry } from '../machinery/metrics.js';
import type { Store } from '../store/types.js';
import { WatchCache } from './watchcache.js';
import { ClusterLookups, storagePrefix } from './lookups.js';
import { Registry } from './registry.js';
import { AdmissionChain } from './admission/chain.js';
import type { AdmissionPlugin } from './admission/chain.js';
import { RequestPipeline } from './pipeline.js';
import type { RulesResolver } from './pipeline.js';
import type { Authorizer, Decision } from './authorization/types.js';
import { registerSubresources } from './subresources.js';
import { registerReviews } from './reviews.js';
import { CrdController } from './crd/controller.js';
import { HistoryRecorder, type HistoryOptions } from './history/recorder.js';
import { registerHistory } from './history/serve.js';

export interface ApiCore {
  store: Store;
  cache: WatchCache;
  lookups: ClusterLookups;
  registry: Registry;
  pipeline: RequestPipeline;
  admission: AdmissionChain;
  /** Every object's history, when recorded. */
  history?: HistoryRecorder;
  stop(): void;
}

/** Who may do what and what every write passes through; made once the lookups exist. */
export interface ApiPolicy {
  authorizer: Authorizer;
  rules?: RulesResolver;
  /** The admission plugins, in order. */
  admission: AdmissionPlugin[];
}

/** Allows everything and admits with no plugins: for unit tests of machinery below authorization. */
export const OPEN_POLICY = (): ApiPolicy => ({ authorizer: { authorize: (): Decision => ({ decision: 'allow', reason: '' }) }, admission: [] });

export interface ApiCoreOptions {
  /** Record every object's history there (served as `<object>/history`). */
  history?: HistoryOptions;
}

export async function startApiCore(store: Store, policyFor: (lookups: ClusterLookups) => ApiPolicy, opts: ApiCoreOptions = {}): Promise<ApiCore> {
  const cache = new WatchCache(store);
  await cache.start([...new Set(RESOURCES.filter((r) => !r.virtual && !r.computed).map((r) => storagePrefix(r)))]);
  const lookups = new ClusterLookups(cache);
  const policy = policyFor(lookups);
  const admission = new AdmissionChain(policy.admission);
  const history = opts.history ? new HistoryRecorder(store, opts.history) : undefined;
  const registry = new Registry(store, cache, admission);
  // Each revision a request writes is credited to its user.
  if (history) registry.onWritten((key, revision, writer) => history.attribute(key, revision, writer));
  const pipeline = new RequestPipeline(registry, policy.authorizer, policy.rules);
  registerSubresources(pipeline);
  registerReviews(pipeline);
  // Custom resources are served before the first request, as upstream's CRD handler waits for its informer.
  const crds = new CrdController(registry, cache);
  await crds.start();
  if (history) {
    await history.start();
    registerHistory(pipeline, history);
  }
  // apiserver_storage_objects, counted from the watch cache when scraped.
  const storageObjects = defaultRegistry.gauge('apiserver_storage_objects', 'Number of stored objects at the time of last check split by kind.', ['resource'], 'STABLE');
  const stopCollecting = defaultRegistry.collect(() => {
    for (const r of allResources()) {
      if (r.virtual || r.computed || r.storedAs) continue;
      let n: number;
      try {
        n = cache.resource(storagePrefix(r)).objects.size;
      } catch {
        continue;
      }
      storageObjects.set({ resource: r.group ? `${r.plural}.${r.group}` : r.plural }, n);
    }
  });
  const stop = () => {
    stopCollecting();
    crds.stop();
    history?.close();
    cache.stop();
  };
  return { store, cache, lookups, registry, pipeline, admission, history, stop };
}
