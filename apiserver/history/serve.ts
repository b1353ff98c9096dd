// GET <object path>/history: an object's recorded changes, on every stored resource
// (kite-specific). Authorized like any read of a subresource: `get` on
// `<plural>/history` (so `kubectl get --raw …/pods/web/history` works under RBAC); it
// answers for deleted objects too, since it reads the history, not the object.
import { apiVersionOf } from '../../machinery/resources.js';
import { notFound } from '../../machinery/status.js';
import type { KubeObject } from '../../machinery/object.js';
import type { RequestPipeline, SubresourceHandler } from '../pipeline.js';
import { HISTORY_API_VERSION, type HistoryRecorder } from './recorder.js';
import { HISTORY_SUBRESOURCE } from './names.js';

export function registerHistory(pipeline: RequestPipeline, recorder: HistoryRecorder): void {
  const handler: SubresourceHandler = {
    anyResource: true,
    async get({ resource, namespace, name }) {
      const registry = pipeline.registry;
      // Read-your-writes: every change up to the store's revision is written first.
      await recorder.caughtUp();
      const { entries, gaps } = await recorder.readAsync(registry.key(resource, namespace, name));
      if (entries.length === 0 && !registry.getStored(resource, namespace, name)) throw notFound(resource.group, resource.plural, name);
      const body = {
        apiVersion: HISTORY_API_VERSION,
        kind: 'ObjectHistory',
        metadata: namespace ? { name, namespace } : { name },
        object: { apiVersion: apiVersionOf(resource), kind: resource.kind, resource: resource.plural },
        entries,
        // Revisions whose changes were not recorded (the recorder fell behind or was down past compaction).
        ...(gaps.length ? { gaps } : {}),
      };
      return { code: 200, body: body as unknown as KubeObject, isObject: false };
    },
  };
  pipeline.handleSubresource(`*/*/${HISTORY_SUBRESOURCE}`, handler);
}
