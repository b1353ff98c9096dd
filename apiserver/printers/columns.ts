// Column definition building blocks. Names, types, formats and priorities follow the
// upstream printers exactly; descriptions are kite's own wording.
import type { TableColumnDefinition } from './types.js';

export function col(name: string, type: string, description: string, priority = 0, format = ''): TableColumnDefinition {
  return Object.freeze({ name, type, format, description, priority });
}

/** Freezes a column list so shared definitions cannot be changed by a caller. */
export function cols(...c: TableColumnDefinition[]): TableColumnDefinition[] {
  return Object.freeze(c) as TableColumnDefinition[];
}

export const D_NAME =
  'Name of the object, unique within its namespace (or cluster-wide for cluster-scoped kinds). Set at creation and immutable afterwards.';
export const D_CREATED =
  'When the server created the object, in RFC 3339 form and UTC, set by the system and read-only.';
export const D_CONTAINERS = 'Names of the containers in the pod template.';
export const D_IMAGES = 'Container images used by the pod template.';
export const D_SELECTOR = 'Label query over the pods this object manages.';

export const NAME = col('Name', 'string', D_NAME, 0, 'name');
export const AGE = col('Age', 'string', D_CREATED);
export const WIDE_CONTAINERS = col('Containers', 'string', D_CONTAINERS, 1);
export const WIDE_IMAGES = col('Images', 'string', D_IMAGES, 1);
export const WIDE_SELECTOR = col('Selector', 'string', D_SELECTOR, 1);

/** Columns of the generic table for kinds without a dedicated printer. */
export const DEFAULT_COLUMNS = cols(NAME, col('Created At', 'date', D_CREATED));
