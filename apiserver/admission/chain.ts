// The admission chain (upstream: apiserver/pkg/admission): after a request is
// authenticated and authorized, and after the kind's strategy has defaulted and
// prepared the object, every mutating plugin may change it (in order), then every
// validating plugin may reject it. The chain is built once at start-up with the
// lookups each plugin needs passed in — no global configuration.
import type { KubeObject } from '../../machinery/object.js';
import type { ResourceInfo } from '../../machinery/resources.js';
import type { UserInfo } from '../context.js';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionRequest {
  operation: AdmissionOperation;
  resource: ResourceInfo;
  subresource: string;
  namespace: string;
  name: string;
  /** The incoming object (stored form); mutating plugins change it in place. Absent for DELETE/CONNECT. */
  object?: KubeObject;
  /** The stored object before this request (UPDATE, DELETE). */
  oldObject?: KubeObject;
  user: UserInfo;
  dryRun: boolean;
  /** Warnings for the client (`Warning: 299` headers). */
  warnings: string[];
}

export interface AdmissionPlugin {
  readonly name: string;
  /** Mutating phase: may change `req.object` in place; throws a StatusError to reject. */
  admit?(req: AdmissionRequest): void | Promise<void>;
  /** Validating phase: throws a StatusError to reject; must not change anything. */
  validate?(req: AdmissionRequest): void | Promise<void>;
}

export class AdmissionChain {
  private readonly mutating: AdmissionPlugin[];
  private readonly validating: AdmissionPlugin[];

  constructor(readonly plugins: AdmissionPlugin[]) {
    this.mutating = plugins.filter((p) => p.admit);
    this.validating = plugins.filter((p) => p.validate);
  }

  // A plugin that has nothing to do for a request answers synchronously (most, for most
  // requests): only a plugin's promise is awaited, so that the others cost no promise
  // and no turn of the microtask queue each.

  async admit(req: AdmissionRequest): Promise<void> {
    for (const p of this.mutating) {
      const pending = p.admit!(req);
      if (pending) await pending;
    }
  }

  async validate(req: AdmissionRequest): Promise<void> {
    for (const p of this.validating) {
      const pending = p.validate!(req);
      if (pending) await pending;
    }
  }
}
