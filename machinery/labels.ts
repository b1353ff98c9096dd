// Matching a metav1.LabelSelector (matchLabels AND every matchExpression) against
// labels, as metav1.LabelSelectorAsSelector(sel).Matches does. One implementation for
// the API server, the controllers, the scheduler's helpers and NetworkPolicy.

export interface LabelSelectorLike {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
}

/** A nil selector matches nothing; an empty one matches everything; unknown operators match nothing. */
export function labelSelectorMatches(sel: LabelSelectorLike | null | undefined | unknown, labels: Record<string, string> | undefined | null): boolean {
  if (!sel || typeof sel !== 'object') return false;
  const s = sel as LabelSelectorLike;
  const l = labels ?? {};
  if (s.matchLabels && typeof s.matchLabels === 'object') {
    for (const [k, v] of Object.entries(s.matchLabels)) if (l[k] !== String(v)) return false;
  }
  for (const e of Array.isArray(s.matchExpressions) ? s.matchExpressions : []) {
    if (!e || typeof e !== 'object') return false;
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const values = Array.isArray(e.values) ? e.values.map(String) : [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(l[e.key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(l[e.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * A map selector (a Service's, a ReplicationController's): every pair must be in `labels`.
 * An empty one matches everything. Also whether an object already has every label and
 * annotation one wants on it.
 */
export function mapSelectorMatches(sel: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel ?? {})) if (l[k] !== v) return false;
  return true;
}
