// Label selectors, node selectors and taints/tolerations as the scheduler evaluates
// them, compiled once per object so that the per-node checks are a few map lookups
// (upstream: apimachinery labels.Selector, component-helpers nodeaffinity and
// corev1 toleration helpers).
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration } from 'kubernetes-types/core/v1.js';

export type Labels = Readonly<Record<string, string>>;
export const NO_LABELS: Labels = Object.freeze({});

type Op = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

interface Requirement {
  key: string;
  op: Op;
  values: readonly string[];
}

/**
 * A compiled metav1.LabelSelector. `nothing` (a nil selector) matches no object;
 * `empty` (`{}`) matches every object.
 */
export class Selector {
  /** Requirements that pin a key to one value: usable to look candidates up in a label index. */
  readonly equalities: readonly (readonly [string, string])[];
  /** A stable text form: two selectors with the same signature select the same objects. */
  readonly signature: string;

  private constructor(
    private readonly reqs: readonly Requirement[],
    readonly nothing: boolean,
  ) {
    const eq: [string, string][] = [];
    for (const r of reqs) if (r.op === 'In' && r.values.length === 1) eq.push([r.key, r.values[0]]);
    this.equalities = eq;
    this.signature = nothing ? '!nothing' : reqs.map((r) => `${r.key}\u0001${r.op}\u0001${r.values.join('\u0002')}`).join('\u0003');
  }

  static readonly NOTHING = new Selector([], true);
  static readonly EVERYTHING = new Selector([], false);

  /** metav1.LabelSelectorAsSelector: nil → nothing, {} → everything. */
  static from(sel: LabelSelector | null | undefined): Selector {
    if (sel === undefined || sel === null) return Selector.NOTHING;
    const reqs: Requirement[] = [];
    for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, op: 'In', values: [String(v)] });
    for (const e of sel.matchExpressions ?? []) {
      const op = e.operator as Op;
      if (op !== 'In' && op !== 'NotIn' && op !== 'Exists' && op !== 'DoesNotExist') return Selector.NOTHING;
      reqs.push({ key: e.key, op, values: [...new Set((e.values ?? []).map(String))].sort() });
    }
    reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.op < b.op ? -1 : a.op > b.op ? 1 : 0));
    return reqs.length === 0 ? Selector.EVERYTHING : new Selector(reqs, false);
  }

  /** A selector requiring exactly these labels (labels.SelectorFromSet). */
  static fromSet(set: Labels): Selector {
    return Selector.from({ matchLabels: { ...set } });
  }

  /** This selector with the other's requirements added (labels.Selector.Add). */
  and(other: Selector): Selector {
    if (this.nothing || other.nothing) return Selector.NOTHING;
    const all = [...this.reqs, ...other.reqs];
    const seen = new Set<string>();
    const uniq = all.filter((r) => {
      const k = `${r.key}\u0001${r.op}\u0001${r.values.join('\u0002')}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    uniq.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.op < b.op ? -1 : a.op > b.op ? 1 : 0));
    return uniq.length === 0 ? Selector.EVERYTHING : new Selector(uniq, false);
  }

  /** labels.Selector.Empty(): selects everything. */
  get empty(): boolean {
    return !this.nothing && this.reqs.length === 0;
  }

  matches(labels: Labels | undefined): boolean {
    if (this.nothing) return false;
    const l = labels ?? NO_LABELS;
    for (const r of this.reqs) {
      const has = Object.prototype.hasOwnProperty.call(l, r.key);
      switch (r.op) {
        case 'In':
          if (!has) return false;
          if (r.values.length === 1 ? l[r.key] !== r.values[0] : !r.values.includes(l[r.key])) return false;
          break;
        case 'NotIn':
          if (has && r.values.includes(l[r.key])) return false;
          break;
        case 'Exists':
          if (!has) return false;
          break;
        case 'DoesNotExist':
          if (has) return false;
          break;
      }
    }
    return true;
  }
}

// ---- node selectors (node affinity) ----------------------------------------------------

type NodeOp = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

interface NodeRequirement {
  key: string;
  op: NodeOp;
  values: readonly string[];
  /** For Gt/Lt: the parsed integer (NaN when it doesn't parse: never matches). */
  num: number;
}

function parseInt64(s: string): number {
  return /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
}

function compileNodeRequirements(reqs: readonly NodeSelectorRequirement[] | undefined): NodeRequirement[] | undefined {
  const out: NodeRequirement[] = [];
  for (const r of reqs ?? []) {
    const op = r.operator as NodeOp;
    const values = (r.values ?? []).map(String);
    switch (op) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) return undefined;
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length !== 0) return undefined;
        break;
      case 'Gt':
      case 'Lt':
        if (values.length !== 1) return undefined;
        break;
      default:
        return undefined;
    }
    out.push({ key: r.key, op, values, num: op === 'Gt' || op === 'Lt' ? parseInt64(values[0]) : NaN });
  }
  return out;
}

function requirementMatches(r: NodeRequirement, value: string | undefined): boolean {
  const has = value !== undefined;
  switch (r.op) {
    case 'In':
      return has && r.values.includes(value);
    case 'NotIn':
      return !has || !r.values.includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || Number.isNaN(r.num)) return false;
      const v = parseInt64(value);
      if (Number.isNaN(v)) return false;
      return r.op === 'Gt' ? v > r.num : v < r.num;
    }
  }
}

/** The node a term is checked against: labels and the name (for matchFields metadata.name). */
export interface NodeLike {
  name: string;
  labels: Labels;
}

/** One compiled NodeSelectorTerm: expressions and fields ANDed; an empty term matches nothing. */
export class CompiledNodeTerm {
  private constructor(
    private readonly exprs: readonly NodeRequirement[],
    private readonly fields: readonly NodeRequirement[],
    /** The term is empty or could not be parsed: it matches no node. */
    readonly never: boolean,
  ) {}

  static compile(term: NodeSelectorTerm | undefined): CompiledNodeTerm {
    const exprs = compileNodeRequirements(term?.matchExpressions);
    const fieldsRaw = compileNodeRequirements(term?.matchFields);
    if (!exprs || !fieldsRaw) return new CompiledNodeTerm([], [], true);
    // Only metadata.name with In/NotIn is a valid field requirement.
    for (const f of fieldsRaw) if (f.key !== 'metadata.name' || (f.op !== 'In' && f.op !== 'NotIn')) return new CompiledNodeTerm([], [], true);
    const never = exprs.length === 0 && fieldsRaw.length === 0;
    return new CompiledNodeTerm(exprs, fieldsRaw, never);
  }

  /** Node names this term pins the node to (matchFields metadata.name In), intersected; undefined if none. */
  pinnedNames(): Set<string> | undefined {
    let out: Set<string> | undefined;
    for (const f of this.fields) {
      if (f.op !== 'In') continue;
      const s = new Set(f.values);
      out = out ? new Set([...out].filter((n) => s.has(n))) : s;
    }
    return out;
  }

  matches(node: NodeLike): boolean {
    if (this.never) return false;
    for (const r of this.exprs) if (!requirementMatches(r, Object.prototype.hasOwnProperty.call(node.labels, r.key) ? node.labels[r.key] : undefined)) return false;
    for (const r of this.fields) if (!requirementMatches(r, node.name)) return false;
    return true;
  }
}

/** A NodeSelector: terms ORed. */
export class CompiledNodeSelector {
  constructor(readonly terms: readonly CompiledNodeTerm[]) {}

  static compile(sel: NodeSelector | undefined): CompiledNodeSelector {
    return new CompiledNodeSelector((sel?.nodeSelectorTerms ?? []).map((t) => CompiledNodeTerm.compile(t)));
  }

  matches(node: NodeLike): boolean {
    for (const t of this.terms) if (t.matches(node)) return true;
    return false;
  }
}

/**
 * A pod's required node placement: spec.nodeSelector AND the required node affinity
 * (upstream: nodeaffinity.GetRequiredNodeAffinity).
 */
export class RequiredNodeAffinity {
  constructor(
    private readonly nodeSelector: readonly (readonly [string, string])[],
    private readonly affinity: CompiledNodeSelector | undefined,
  ) {}

  static readonly NONE = new RequiredNodeAffinity([], undefined);

  get isEmpty(): boolean {
    return this.nodeSelector.length === 0 && this.affinity === undefined;
  }

  matches(node: NodeLike): boolean {
    for (const [k, v] of this.nodeSelector) if (node.labels[k] !== v) return false;
    return this.affinity === undefined || this.affinity.matches(node);
  }
}

// ---- taints and tolerations --------------------------------------------------------------

export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

/** corev1 ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

export function tolerationsTolerateTaint(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first taint (among those `filter` admits) no toleration tolerates. */
export function findUntoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[], filter?: (t: Taint) => boolean): Taint | undefined {
  for (const taint of taints) {
    if (filter && !filter(taint)) continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

export const doNotScheduleTaint = (t: Taint): boolean => t.effect === 'NoSchedule' || t.effect === 'NoExecute';
