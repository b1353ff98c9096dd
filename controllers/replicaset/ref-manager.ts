// Claiming objects for a controller (upstream: pkg/controller/controller_ref_manager.go):
// objects already controlled by the owner stay claimed while its selector matches and
// are released when it stops matching; orphans the selector matches are adopted. Both
// are strategic-merge patches of ownerReferences that carry the object's UID, so a
// patch never lands on a re-created namesake.
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import type { ApiObject, ApiTransport } from '../../client/transport.js';
import { isNotFound } from '../../client/transport.js';
import { aggregateErrors, getControllerOf } from './controller-utils.js';

export interface ClaimOwner {
  /** The controller object as the cache has it. */
  obj: ApiObject;
  /** The reference claimed objects get. */
  ref: OwnerReference;
  /** Where the owner lives (for the fresh read before adopting). */
  resource: ResourceInfo;
}

/**
 * Claims objects of one resource for one owner. `canAdopt` re-reads the owner from the
 * API server once, before the first adoption (upstream RecheckDeletionTimestamp): an
 * owner that was deleted or re-created meanwhile must not adopt anything.
 */
export class ControllerRefManager<T extends ApiObject> {
  private adoptCheck?: Promise<void>;

  constructor(
    private readonly transport: ApiTransport,
    private readonly owner: ClaimOwner,
    private readonly objects: ResourceInfo,
    private readonly match: (obj: T) => boolean,
  ) {}

  private canAdopt(): Promise<void> {
    this.adoptCheck ??= (async () => {
      const m = this.owner.obj.metadata ?? {};
      const fresh = await this.transport.get(this.owner.resource, m.namespace, m.name ?? '');
      if (fresh.metadata?.uid !== m.uid) throw new Error(`original ${m.namespace}/${m.name} is gone: got uid ${fresh.metadata?.uid}, wanted ${m.uid}`);
      if (fresh.metadata?.deletionTimestamp) throw new Error(`${m.namespace}/${m.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    })();
    return this.adoptCheck;
  }

  /** The objects this owner controls after adoption and release; errors are thrown after every object was tried. */
  async claim(objs: readonly T[], filters: ((obj: T) => boolean)[] = []): Promise<T[]> {
    const claimed: T[] = [];
    const errs: unknown[] = [];
    const match = (o: T) => this.match(o) && filters.every((f) => f(o));
    for (const obj of objs) {
      try {
        const out = await this.claimObject(obj, match);
        if (out) claimed.push(out);
      } catch (err) {
        errs.push(err);
      }
    }
    const err = aggregateErrors(errs);
    if (err) throw Object.assign(err, { claimed });
    return claimed;
  }

  private async claimObject(obj: T, match: (o: T) => boolean): Promise<T | undefined> {
    const ownerUid = this.owner.obj.metadata?.uid;
    const ownerDeleting = !!this.owner.obj.metadata?.deletionTimestamp;
    const ref = getControllerOf(obj);
    if (ref) {
      if (ref.uid !== ownerUid) return undefined; // someone else's
      if (match(obj)) return obj;
      if (ownerDeleting) return undefined;
      try {
        await this.release(obj);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      return undefined;
    }
    // An orphan.
    if (ownerDeleting || !match(obj)) return undefined;
    if (obj.metadata?.deletionTimestamp) return undefined;
    const ns = this.owner.obj.metadata?.namespace;
    if (ns && ns !== obj.metadata?.namespace) return undefined;
    try {
      await this.canAdopt();
      return await this.adopt(obj);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async adopt(obj: T): Promise<T> {
    const body = { metadata: { ownerReferences: [this.owner.ref], uid: obj.metadata?.uid } };
    return this.transport.patch<T>(this.objects, obj.metadata?.namespace, obj.metadata?.name ?? '', 'strategic', body);
  }

  private async release(obj: T): Promise<void> {
    const body = { metadata: { ownerReferences: [{ $patch: 'delete', uid: this.owner.ref.uid }], uid: obj.metadata?.uid } };
    try {
      await this.transport.patch(this.objects, obj.metadata?.namespace, obj.metadata?.name ?? '', 'strategic', body);
    } catch (err) {
      // Invalid: the object was re-created under the same name (its UID changed) — nothing to release.
      if ((err as { code?: number }).code === 422) return;
      throw err;
    }
  }
}
