// Small formatting helpers shared by the printers: label maps, label selectors,
// container lists, int-or-string values.
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';

type Labels = Record<string, string> | undefined | null;

/** `k1=v1,k2=v2` with keys sorted; empty string for none. */
export function labelsString(labels: Labels): string {
  if (!labels) return '';
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  if (keys.length > 1) keys.sort(cmp);
  let out = '';
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out += ',';
    out += keys[i] + '=' + labels[keys[i]!];
  }
  return out;
}

/** Label map, or `<none>` when empty. */
export function formatLabels(labels: Labels): string {
  return labelsString(labels) || '<none>';
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Requirement {
  key: string;
  text: string;
}

/**
 * The selector as a label query string (`app=web,tier in (a,b),!legacy`), requirements
 * ordered by key. Empty string for a missing or empty selector; `undefined` when the
 * selector has an unknown operator (upstream reports it as invalid).
 */
export function selectorString(sel: LabelSelector | undefined | null): string | undefined {
  if (!sel) return '';
  const reqs: Requirement[] = [];
  const ml = sel.matchLabels;
  if (ml) for (const k of Object.keys(ml)) reqs.push({ key: k, text: k + '=' + ml[k] });
  const exprs = sel.matchExpressions;
  if (exprs) {
    for (const e of exprs) {
      const n = e.values ? e.values.length : 0;
      if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0) return undefined;
      if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && n !== 0) return undefined;
      const values = n > 1 ? [...e.values!].sort(cmp).join(',') : n === 1 ? e.values![0]! : '';
      switch (e.operator) {
        case 'In':
          reqs.push({ key: e.key, text: `${e.key} in (${values})` });
          break;
        case 'NotIn':
          reqs.push({ key: e.key, text: `${e.key} notin (${values})` });
          break;
        case 'Exists':
          reqs.push({ key: e.key, text: e.key });
          break;
        case 'DoesNotExist':
          reqs.push({ key: e.key, text: '!' + e.key });
          break;
        default:
          return undefined;
      }
    }
  }
  if (reqs.length === 0) return '';
  if (reqs.length > 1) reqs.sort((a, b) => cmp(a.key, b.key));
  let out = '';
  for (let i = 0; i < reqs.length; i++) {
    if (i > 0) out += ',';
    out += reqs[i]!.text;
  }
  return out;
}

/** Selector string, `<none>` when empty and `<error>` when invalid. */
export function formatLabelSelector(sel: LabelSelector | undefined | null): string {
  const s = selectorString(sel);
  if (s === undefined) return '<error>';
  return s || '<none>';
}

interface NamedImage {
  name?: string;
  image?: string;
}

/** Comma-joined container names and images. */
export function containerNames(containers: readonly NamedImage[] | undefined): string {
  if (!containers) return '';
  let out = '';
  for (let i = 0; i < containers.length; i++) {
    if (i > 0) out += ',';
    out += containers[i]!.name ?? '';
  }
  return out;
}

export function containerImages(containers: readonly NamedImage[] | undefined): string {
  if (!containers) return '';
  let out = '';
  for (let i = 0; i < containers.length; i++) {
    if (i > 0) out += ',';
    out += containers[i]!.image ?? '';
  }
  return out;
}

/** An int-or-string value as text. */
export function intOrString(v: unknown): string {
  return typeof v === 'number' ? String(v) : typeof v === 'string' ? v : String(v ?? '');
}

/** `host:port`, bracketing IPv6 literals. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `True` / `False` for a set boolean, `<unset>` otherwise. */
export function boolPtr(v: boolean | undefined | null): string {
  if (v === undefined || v === null) return '<unset>';
  return v ? 'True' : 'False';
}

/** Sorted, de-duplicated, comma-joined. */
export function sortedUniqueJoin(values: string[]): string {
  if (values.length === 0) return '';
  if (values.length === 1) return values[0]!;
  values.sort(cmp);
  let out = values[0]!;
  for (let i = 1; i < values.length; i++) if (values[i] !== values[i - 1]) out += ',' + values[i];
  return out;
}

/** `a,b,c + N more...` over at most `max` shown items; `<unset>` when nothing at all. */
export function listWithMore(list: string[], more: boolean, count: number, max: number): string {
  const ret = list.join(',');
  if (more) return `${ret} + ${count - max} more...`;
  return ret === '' ? '<unset>' : ret;
}

export const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
