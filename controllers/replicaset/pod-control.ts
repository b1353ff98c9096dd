// Creating and deleting pods on behalf of a controller, with the events upstream's
// RealPodControl records (SuccessfulCreate / FailedCreate / SuccessfulDelete /
// FailedDelete on the controller object).
import type { Pod, PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ApiObject, ApiTransport } from '../../client/transport.js';
import type { EventRecorder } from '../../client/events.js';
import { deepCopy, errorMessage } from './controller-utils.js';

export const PODS = resourceByPath('', 'v1', 'pods')!;

/** The generateName prefix for a controller's pods: `<name>-` (upstream getPodsPrefix). */
export function podsPrefix(controllerName: string): string {
  const prefix = `${controllerName}-`;
  // A prefix that can't make a valid pod name (with its 5 random characters) is used bare.
  return prefix.length + 5 > 253 ? controllerName : prefix;
}

/** controller.GetPodFromTemplate: labels, annotations, finalizers and spec from the template. */
export function podFromTemplate(template: PodTemplateSpec, parent: ApiObject, controllerRef?: OwnerReference): Pod {
  const tm = template.metadata ?? {};
  const metadata: Pod['metadata'] = { generateName: podsPrefix(parent.metadata?.name ?? '') };
  if (tm.labels) metadata.labels = { ...tm.labels };
  if (tm.annotations) metadata.annotations = { ...tm.annotations };
  if (tm.finalizers) metadata.finalizers = [...tm.finalizers];
  if (controllerRef) metadata.ownerReferences = [{ ...controllerRef }];
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: deepCopy(template.spec ?? { containers: [] }) };
}

export class PodControl {
  constructor(
    private readonly transport: ApiTransport,
    private readonly recorder: EventRecorder,
  ) {}

  /** Create a pod from `template` for `parent`, recording the event. */
  async createPods(namespace: string, template: PodTemplateSpec, parent: ApiObject, controllerRef: OwnerReference, mutate?: (pod: Pod) => void): Promise<Pod> {
    const pod = podFromTemplate(template, parent, controllerRef);
    mutate?.(pod);
    return this.createPod(namespace, pod, parent);
  }

  async createPod(namespace: string, pod: Pod, parent: ApiObject): Promise<Pod> {
    if (Object.keys(pod.metadata?.labels ?? {}).length === 0) throw new Error('unable to create pods, no labels');
    try {
      const created = await this.transport.create<Pod>(PODS, namespace, pod);
      this.recorder.event(parent, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`);
      return created;
    } catch (err) {
      // A terminating namespace refuses new objects; that is not worth an event.
      if (!isNamespaceTerminating(err)) this.recorder.event(parent, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(err)}`);
      throw err;
    }
  }

  async deletePod(namespace: string, name: string, parent: ApiObject): Promise<void> {
    try {
      await this.transport.delete(PODS, namespace, name);
    } catch (err) {
      if ((err as { code?: number }).code !== 404) this.recorder.event(parent, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(err)}`);
      throw err;
    }
    this.recorder.event(parent, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
  }
}

/** The API server refuses creates in a namespace that is being deleted (cause NamespaceTerminating). */
export function isNamespaceTerminating(err: unknown): boolean {
  const e = err as { code?: number; status?: { details?: { causes?: { reason?: string }[] } }; message?: string };
  if (e?.code !== 403) return false;
  const causes = e.status?.details?.causes ?? [];
  return causes.some((c) => c.reason === 'NamespaceTerminating') || /because it is being terminated/.test(e.message ?? '');
}
