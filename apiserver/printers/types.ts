// Wire shapes of meta.k8s.io/v1 Table, as kubectl reads them with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
import type { KubeObject } from '../../machinery/object.js';

export interface TableColumnDefinition {
  name: string;
  /** OpenAPI type of the cells: `string`, `integer`, `number`, `boolean`, `date`. */
  type: string;
  /** Extra hint; `name` marks the column holding the object's name. */
  format: string;
  description: string;
  /** 0 = always shown; 1 = shown only with `-o wide`. */
  priority: number;
}

export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  object?: unknown;
}

export interface TableListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: TableListMeta;
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

/** Computes one row's cells; `now` is the request time in epoch milliseconds. */
export type RowFn = (obj: KubeObject, now: number) => unknown[];

export interface Printer {
  group: string;
  kind: string;
  columns: TableColumnDefinition[];
  row: RowFn;
}
