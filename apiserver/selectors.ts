// Label and field selectors as the API accepts them in `labelSelector=` and
// `fieldSelector=` (k8s.io/apimachinery/pkg/labels and pkg/fields): parsed once per
// request into a matcher, then applied to every candidate object.
import { badRequest } from '../machinery/status.js';

export type Matcher = (values: Record<string, string> | undefined) => boolean;

interface Requirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!' | '=' | '!=' | 'gt' | 'lt';
  values: string[];
}

const everything: Matcher = () => true;

/** Split on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out.map((x) => x.trim()).filter((x) => x.length > 0);
}

function parseLabelRequirement(term: string): Requirement {
  let m = /^!\s*([^\s!=<>()]+)$/.exec(term);
  if (m) return { key: m[1], op: '!', values: [] };
  m = /^([^\s!=<>()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m) return { key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()) };
  m = /^([^\s!=<>()]+)\s*(==|=|!=|>|<)\s*([^\s,]*)$/.exec(term);
  if (m) {
    const op = m[2] === '==' || m[2] === '=' ? '=' : m[2] === '!=' ? '!=' : m[2] === '>' ? 'gt' : 'lt';
    return { key: m[1], op, values: [m[3]] };
  }
  m = /^([^\s!=<>()]+)$/.exec(term);
  if (m) return { key: m[1], op: 'exists', values: [] };
  throw badRequest(`unable to parse requirement: found '${term}', expected: identifier`);
}

function matches(req: Requirement, labels: Record<string, string> | undefined): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, req.key);
  const v = has ? labels![req.key] : undefined;
  switch (req.op) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case '=':
      return has && v === req.values[0];
    case '!=':
      return !has || v !== req.values[0];
    case 'in':
      return has && req.values.includes(v!);
    case 'notin':
      return !has || !req.values.includes(v!);
    case 'gt':
    case 'lt': {
      if (!has) return false;
      const n = Number(v);
      const bound = Number(req.values[0]);
      if (Number.isNaN(n) || Number.isNaN(bound)) return false;
      return req.op === 'gt' ? n > bound : n < bound;
    }
  }
}

export interface ParsedSelector {
  matcher: Matcher;
  /** Exact `key=value` requirements, usable for index lookups. */
  equalities: Map<string, string>;
  empty: boolean;
}

export function parseLabelSelector(selector: string | null | undefined): ParsedSelector {
  if (!selector || !selector.trim()) return { matcher: everything, equalities: new Map(), empty: true };
  const reqs = splitTop(selector).map(parseLabelRequirement);
  const equalities = new Map<string, string>();
  for (const r of reqs) if (r.op === '=') equalities.set(r.key, r.values[0]);
  return { matcher: (labels) => reqs.every((r) => matches(r, labels)), equalities, empty: false };
}

/** Field selectors support only `=`, `==` and `!=` on the fields a kind declares. */
export function parseFieldSelector(selector: string | null | undefined, allowed?: (field: string) => boolean): ParsedSelector {
  if (!selector || !selector.trim()) return { matcher: everything, equalities: new Map(), empty: true };
  const reqs: Requirement[] = [];
  for (const term of splitTop(selector)) {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const key = m[1].trim();
    if (allowed && !allowed(key)) {
      throw badRequest(`field label not supported: ${key}`);
    }
    reqs.push({ key, op: m[2] === '!=' ? '!=' : '=', values: [unescapeFieldValue(m[3])] });
  }
  const equalities = new Map<string, string>();
  for (const r of reqs) if (r.op === '=') equalities.set(r.key, r.values[0]);
  // Field values are always present (missing fields read as ""), unlike labels.
  const matcher: Matcher = (fields) =>
    reqs.every((r) => {
      const v = fields?.[r.key] ?? '';
      return r.op === '=' ? v === r.values[0] : v !== r.values[0];
    });
  return { matcher, equalities, empty: false };
}

function unescapeFieldValue(v: string): string {
  return v.replace(/\\([\\,=])/g, '$1');
}

export { labelSelectorMatches } from '../machinery/labels.js';
