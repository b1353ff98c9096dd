// The subset of OpenAPI schema objects kite produces and consumes.

export interface GroupVersionKind {
  group: string;
  kind: string;
  version: string;
}

export interface Schema {
  $ref?: string;
  description?: string;
  type?: string;
  format?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  'x-kubernetes-group-version-kind'?: GroupVersionKind[];
  'x-kubernetes-patch-merge-key'?: string;
  /** `merge`, `retainKeys`, `merge,retainKeys` or `replace`. */
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  [extension: string]: unknown;
}
