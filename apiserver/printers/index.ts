// Server-side printing: turns objects into meta.k8s.io/v1 Tables for
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, with the columns and cell
// values kubectl shows for each kind. Cells are computed as if for `-o wide`; kubectl
// hides priority-1 columns itself unless asked for them.
import { RESOURCES } from '../../machinery/resources.js';
import { customPrinterFor } from './custom.js';
import type { KubeObject } from '../../machinery/object.js';
import { APPS_PRINTERS } from './apps.js';
import { DEFAULT_COLUMNS } from './columns.js';
import { CORE_PRINTERS, podRowConditions } from './core.js';
import { rfc3339 } from './duration.js';
import { OTHER_PRINTERS, compareFlowSchemas } from './other.js';
import type { Printer, RowFn, Table, TableColumnDefinition, TableListMeta, TableRow } from './types.js';

export { humanDuration } from './duration.js';
export { canonicalQuantity } from './quantity.js';
export type { Table, TableColumnDefinition, TableListMeta, TableRow, TableRowCondition } from './types.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface BuildTableOptions {
  /** Request time, epoch milliseconds; AGE-style cells are relative to it. */
  now: number;
  includeObject: IncludeObject;
  listMeta: TableListMeta;
}

const key = (group: string, kind: string): string => group + '/' + kind;

const PRINTERS = new Map<string, Printer>();
for (const p of [...CORE_PRINTERS, ...APPS_PRINTERS, ...OTHER_PRINTERS]) PRINTERS.set(key(p.group, p.kind), p);

/** apiVersion to stamp on full row objects that lack one (the served, non-aliased version). */
const API_VERSIONS = new Map<string, string>();
for (const r of RESOURCES) {
  const k = key(r.group, r.kind);
  if (r.storedAs && API_VERSIONS.has(k)) continue;
  if (!API_VERSIONS.has(k) || !r.storedAs) API_VERSIONS.set(k, r.group ? `${r.group}/${r.version}` : r.version);
}

/** Cells of the generic table: name and creation time. */
const defaultRow: RowFn = (obj) => [obj.metadata?.name ?? '', rfc3339(obj.metadata?.creationTimestamp)];

/** Column definitions for a kind; the generic Name / Created At pair for kinds without a printer. */
export function tableColumns(group: string, kind: string): TableColumnDefinition[] {
  return (PRINTERS.get(key(group, kind)) ?? customPrinterFor(group, kind))?.columns ?? DEFAULT_COLUMNS;
}

/** Whether the kind has a dedicated printer (otherwise the generic table is used). */
export function hasPrinter(group: string, kind: string): boolean {
  return PRINTERS.has(key(group, kind)) || !!customPrinterFor(group, kind);
}

/** One object's cells, all columns including the `-o wide` ones. */
export function tableRow(group: string, kind: string, obj: KubeObject, now: number): unknown[] {
  const p = PRINTERS.get(key(group, kind)) ?? customPrinterFor(group, kind);
  return p ? p.row(obj, now) : defaultRow(obj, now);
}

/** Builds the Table for a list (or, with one object, for a get or a watch event). */
export function buildTable(group: string, kind: string, objs: readonly KubeObject[], opts: BuildTableOptions): Table {
  const k = key(group, kind);
  const printer = PRINTERS.get(k) ?? customPrinterFor(group, kind);
  const row = printer ? printer.row : defaultRow;
  const isPod = group === '' && kind === 'Pod';
  const { now, includeObject } = opts;
  const apiVersion = API_VERSIONS.get(k);
  let items = objs;
  if (group === 'flowcontrol.apiserver.k8s.io' && kind === 'FlowSchema' && objs.length > 1) items = [...objs].sort(compareFlowSchemas);

  const rows: TableRow[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const obj = items[i]!;
    const r: TableRow = { cells: row(obj, now) };
    if (isPod) {
      const conditions = podRowConditions(obj);
      if (conditions) r.conditions = conditions;
    }
    if (includeObject === 'Metadata') {
      r.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata ?? {} };
    } else if (includeObject === 'Object') {
      r.object = obj.kind && obj.apiVersion ? obj : { ...obj, kind: obj.kind || kind, apiVersion: obj.apiVersion || apiVersion };
    }
    rows[i] = r;
  }

  const metadata: TableListMeta = {};
  const lm = opts.listMeta;
  if (lm.resourceVersion !== undefined) metadata.resourceVersion = lm.resourceVersion;
  if (lm.continue !== undefined && lm.continue !== '') metadata.continue = lm.continue;
  if (lm.remainingItemCount !== undefined && lm.remainingItemCount !== null) metadata.remainingItemCount = lm.remainingItemCount;

  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: printer ? printer.columns : DEFAULT_COLUMNS,
    rows,
  };
}
