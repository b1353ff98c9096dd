// Tables of custom resources (upstream: apiextensions-apiserver pkg/registry/customresource/
// tableconvertor): Name, then the CRD version's additionalPrinterColumns (Age from
// creationTimestamp when it declares none), cells found by JSONPath.
import type { KubeObject } from '../../machinery/object.js';
import { allResources, resourcesGeneration } from '../../machinery/resources.js';
import { jsonPathValues } from '../crd/jsonpath.js';
import { col, NAME } from './columns.js';
import { since } from './duration.js';
import type { Printer, TableColumnDefinition } from './types.js';

interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: '' };

function cell(column: PrinterColumn, obj: KubeObject, now: number): unknown {
  const values = jsonPathValues(obj, column.jsonPath);
  if (values.length === 0 || values[0] === null || values[0] === undefined) return null;
  const v = values.length === 1 ? values[0] : values;
  if (column.type === 'date') return typeof v === 'string' ? since(v, now) : null;
  if (column.type === 'integer') return typeof v === 'number' && Number.isInteger(v) ? v : null;
  if (column.type === 'number') return typeof v === 'number' ? v : null;
  if (column.type === 'boolean') return typeof v === 'boolean' ? v : null;
  if (column.type === 'string') {
    if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',');
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return v;
}

export function customPrinter(columns: PrinterColumn[] | undefined): Printer & { group: string; kind: string } {
  const list = columns?.length ? columns : [AGE_COLUMN];
  const defs: TableColumnDefinition[] = [NAME, ...list.map((c) => col(c.name, c.type, c.description ?? '', c.priority ?? 0, c.format ?? ''))];
  return {
    group: '',
    kind: '',
    columns: defs,
    row: (obj, now) => [obj.metadata?.name ?? '', ...list.map((c) => cell(c, obj, now))],
  };
}

let builtAt = -1;
const byKind = new Map<string, Printer>();

/** The printer of a custom resource's kind (the storage version's columns), if one is served. */
export function customPrinterFor(group: string, kind: string): Printer | undefined {
  if (builtAt !== resourcesGeneration()) {
    byKind.clear();
    for (const r of allResources()) {
      if (!r.custom) continue;
      const k = `${r.group}/${r.kind}`;
      if (byKind.has(k) && r.storedAs) continue;
      byKind.set(k, customPrinter(r.custom.version.additionalPrinterColumns));
    }
    builtAt = resourcesGeneration();
  }
  return byKind.get(`${group}/${kind}`);
}
