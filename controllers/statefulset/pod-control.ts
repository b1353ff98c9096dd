// Creating, updating and deleting a StatefulSet's pods and their claims (upstream:
// pkg/controller/statefulset/stateful_pod_control.go): a pod's PVCs are created before
// the pod, claim owner references follow the retention policy, and every action is an
// event on the set ("create Pod web-0 in StatefulSet web successful").
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import { resourceByPath } from '../../machinery/resources.js';
import type { ApiTransport } from '../../client/transport.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../client/transport.js';
import type { EventRecorder } from '../../client/events.js';
import type { ReadonlyStore } from '../../client/store.js';
import { aggregateErrors, deepCopy, errorMessage } from '../replicaset/controller-utils.js';
import { PODS } from '../replicaset/pod-control.js';
import {
  claimOwnerMatchesSetAndPod,
  getOrdinal,
  claimName,
  hasStaleOwnerRef,
  identityMatches,
  persistentVolumeClaims,
  retentionPolicy,
  storageMatches,
  updateClaimOwnerRefs,
  updateIdentity,
  updateStorage,
} from './utils.js';

export const PVCS = resourceByPath('', 'v1', 'persistentvolumeclaims')!;

const title = (verb: string) => verb.charAt(0).toUpperCase() + verb.slice(1);

export class StatefulPodControl {
  constructor(
    private readonly transport: ApiTransport,
    private readonly recorder: EventRecorder,
    private readonly podStore: ReadonlyStore<Pod>,
    private readonly claimStore: ReadonlyStore<PersistentVolumeClaim>,
  ) {}

  private getClaim(namespace: string | undefined, name: string): PersistentVolumeClaim | undefined {
    return this.claimStore.get(namespace, name);
  }

  /** Create the pod's claims, then the pod. */
  async createStatefulPod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.createPersistentVolumeClaims(set, pod);
    } catch (err) {
      this.recordPodEvent('create', set, pod, err);
      throw err;
    }
    let created: Pod | undefined;
    try {
      created = await this.transport.create<Pod>(PODS, set.metadata?.namespace, pod);
    } catch (err) {
      // Already there: the cache is behind; the next sync sees it.
      if (isAlreadyExists(err)) throw err;
      this.recordPodEvent('create', set, pod, err);
      throw err;
    }
    // Claim references to the pod need its UID: set them now that it has one.
    try {
      await this.updatePodClaimForRetentionPolicy(set, created);
    } catch (err) {
      this.recordPodEvent('update', set, pod, err);
      throw err;
    }
    this.recordPodEvent('create', set, pod, undefined);
  }

  /** Bring an existing pod's identity, storage and claim ownership in line with the set. */
  async updateStatefulPod(set: StatefulSet, original: Pod): Promise<void> {
    let pod = deepCopy(original);
    let attempted = false;
    let lastErr: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      let consistent = true;
      if (!identityMatches(set, pod)) {
        updateIdentity(set, pod);
        consistent = false;
      }
      if (!storageMatches(set, pod)) {
        updateStorage(set, pod);
        consistent = false;
        try {
          await this.createPersistentVolumeClaims(set, pod);
        } catch (err) {
          this.recordPodEvent('update', set, pod, err);
          throw err;
        }
      }
      try {
        if (!this.claimsMatchRetentionPolicy(set, pod)) {
          await this.updatePodClaimForRetentionPolicy(set, pod);
          consistent = false;
        }
      } catch (err) {
        this.recordPodEvent('update', set, pod, err);
        throw err;
      }
      if (consistent) return;
      attempted = true;
      try {
        await this.transport.update<Pod>(PODS, set.metadata?.namespace, pod);
        lastErr = undefined;
        break;
      } catch (err) {
        lastErr = err;
        if (!isConflict(err)) break;
        const fresh = this.podStore.get(set.metadata?.namespace, pod.metadata?.name ?? '');
        if (fresh) pod = deepCopy(fresh);
      }
    }
    if (attempted) this.recordPodEvent('update', set, pod, lastErr);
    if (lastErr) throw lastErr;
  }

  async deleteStatefulPod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.transport.delete(PODS, pod.metadata?.namespace, pod.metadata?.name ?? '', { preconditions: pod.metadata?.uid ? { uid: pod.metadata.uid } : undefined });
    } catch (err) {
      this.recordPodEvent('delete', set, pod, err);
      throw err;
    }
    this.recordPodEvent('delete', set, pod, undefined);
  }

  /** Every existing claim of the pod has the owner references the policy asks for. */
  claimsMatchRetentionPolicy(set: StatefulSet, pod: Pod): boolean {
    const ordinal = getOrdinal(pod);
    for (const t of set.spec?.volumeClaimTemplates ?? []) {
      const claim = this.getClaim(set.metadata?.namespace, claimName(set, t, ordinal));
      if (claim && !claimOwnerMatchesSetAndPod(claim, set, pod)) return false;
    }
    return true;
  }

  /** Fix the owner references of the pod's claims (missing claims are picked up later). */
  async updatePodClaimForRetentionPolicy(set: StatefulSet, pod: Pod): Promise<void> {
    const ordinal = getOrdinal(pod);
    for (const t of set.spec?.volumeClaimTemplates ?? []) {
      const name = claimName(set, t, ordinal);
      const cached = this.getClaim(set.metadata?.namespace, name);
      if (!cached || claimOwnerMatchesSetAndPod(cached, set, pod)) continue;
      const claim = deepCopy(cached);
      updateClaimOwnerRefs(claim, set, pod);
      try {
        await this.transport.update<PersistentVolumeClaim>(PVCS, set.metadata?.namespace, claim);
      } catch (err) {
        throw new Error(`Could not update claim ${name} for delete policy ownerRefs: ${errorMessage(err)}`, { cause: err });
      }
    }
  }

  /**
   * With WhenScaled=Delete, a claim still owned by an earlier pod of the same name is
   * about to be garbage collected: the new pod must wait for it to go.
   */
  podClaimIsStale(set: StatefulSet, pod: Pod): boolean {
    if (retentionPolicy(set).whenScaled === 'Retain') return false;
    for (const claim of persistentVolumeClaims(set, pod).values()) {
      const pvc = this.getClaim(claim.metadata?.namespace, claim.metadata?.name ?? '');
      if (pvc && hasStaleOwnerRef(pvc, { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid })) return true;
    }
    return false;
  }

  /** Create the claims a pending pod still lacks, then set their references. */
  async createMissingPersistentVolumeClaims(set: StatefulSet, pod: Pod): Promise<void> {
    await this.createPersistentVolumeClaims(set, pod);
    try {
      await this.updatePodClaimForRetentionPolicy(set, pod);
    } catch (err) {
      this.recordPodEvent('update', set, pod, err);
      throw err;
    }
  }

  /** Create every claim of the pod that does not exist; a claim being deleted is an error. */
  async createPersistentVolumeClaims(set: StatefulSet, pod: Pod): Promise<void> {
    const errs: unknown[] = [];
    for (const claim of persistentVolumeClaims(set, pod).values()) {
      const name = claim.metadata?.name ?? '';
      const existing = this.getClaim(claim.metadata?.namespace, name);
      if (existing) {
        if (existing.metadata?.deletionTimestamp) errs.push(new Error(`pvc ${name} is being deleted`));
        continue;
      }
      try {
        await this.transport.create<PersistentVolumeClaim>(PVCS, claim.metadata?.namespace, claim);
        this.recordClaimEvent('create', set, pod, claim, undefined);
      } catch (err) {
        if (isAlreadyExists(err)) continue; // the cache is behind
        errs.push(new Error(`failed to create PVC ${name}: ${errorMessage(err)}`));
        this.recordClaimEvent('create', set, pod, claim, err);
      }
    }
    const err = aggregateErrors(errs);
    if (err) throw err;
  }

  private recordPodEvent(verb: string, set: StatefulSet, pod: Pod, err: unknown): void {
    const name = pod.metadata?.name;
    if (err === undefined) {
      this.recorder.event(set, 'Normal', `Successful${title(verb)}`, `${verb} Pod ${name} in StatefulSet ${set.metadata?.name} successful`);
    } else if (!isNotFound(err)) {
      this.recorder.event(set, 'Warning', `Failed${title(verb)}`, `${verb} Pod ${name} in StatefulSet ${set.metadata?.name} failed error: ${errorMessage(err)}`);
    }
  }

  private recordClaimEvent(verb: string, set: StatefulSet, pod: Pod, claim: PersistentVolumeClaim, err: unknown): void {
    const c = claim.metadata?.name;
    if (err === undefined) {
      this.recorder.event(set, 'Normal', `Successful${title(verb)}`, `${verb} Claim ${c} Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} success`);
    } else {
      this.recorder.event(set, 'Warning', `Failed${title(verb)}`, `${verb} Claim ${c} for Pod ${pod.metadata?.name} in StatefulSet ${set.metadata?.name} failed error: ${errorMessage(err)}`);
    }
  }
}
