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
  // requests): only a plugin's promise is awaited, and a phase whose plugins all answered
  // synchronously returns undefined, so that they cost no promise and no turn of the
  // microtask queue. A plugin's error is thrown, or its promise rejected, as it happens.

  /** The mutating phase; a promise only if a plugin returned one. */
  admit(req: AdmissionRequest): Promise<void> | undefined {
    return runPhase(this.mutating, 'admit', req);
  }

  /** The validating phase; a promise only if a plugin returned one. */
  validate(req: AdmissionRequest): Promise<void> | undefined {
    return runPhase(this.validating, 'validate', req);
  }
}

function runPhase(plugins: readonly AdmissionPlugin[], phase: 'admit' | 'validate', req: AdmissionRequest): Promise<void> | undefined {
  for (let i = 0; i < plugins.length; i++) {
    const pending = plugins[i][phase]!(req);
    if (pending) return finishPhase(plugins, phase, req, pending, i + 1);
  }
  return undefined;
}

/** The rest of a phase after a plugin's promise, each plugin after the one before it. */
async function finishPhase(plugins: readonly AdmissionPlugin[], phase: 'admit' | 'validate', req: AdmissionRequest, pending: Promise<void>, next: number): Promise<void> {
  await pending;
  for (let i = next; i < plugins.length; i++) {
    const more = plugins[i][phase]!(req);
    if (more) await more;
  }
}
