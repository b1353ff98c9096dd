// What a write request carries besides its body: who asks, and how.
export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export interface RequestContext {
  user: UserInfo;
  dryRun: boolean;
  /** `fieldManager=`; when absent the manager is derived from the User-Agent. */
  fieldManager?: string;
  fieldValidation: FieldValidation;
  userAgent?: string;
  /** Set by server-side apply, which records field ownership itself. */
  skipManagedFields?: boolean;
  /** Warnings to return as `Warning: 299 - "..."` headers. */
  warnings: string[];
  /**
   * The write request this work is for, whose user the object history credits with its
   * writes: set by the pipeline's write calls; copies of the context keep it.
   */
  writer?: HistoryWriter;
}

export interface HistoryWriter {
  user: string;
  fieldManager: string;
  userAgent: string;
}

export const SYSTEM_USER: UserInfo = { name: 'system:kite', groups: ['system:masters'] };

export function internalContext(manager: string): RequestContext {
  return { user: SYSTEM_USER, dryRun: false, fieldManager: manager, fieldValidation: 'Ignore', warnings: [] };
}
