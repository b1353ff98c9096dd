// Prometheus metrics in the text exposition format (version 0.0.4), as every
// Kubernetes component serves them at /metrics (upstream: component-base/metrics).
// Counters, gauges and histograms with labels; a registry renders them. Components
// in one process share the default registry; collectors compute values when scraped.

export type Labels = Record<string, string>;

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const fmt = (n: number) => (Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN');

function labelKey(names: readonly string[], labels: Labels): string {
  return names.map((n) => labels[n] ?? '').join('\u0000');
}

function renderLabels(names: readonly string[], values: string[], extra?: [string, string]): string {
  const parts = names.map((n, i) => `${n}="${esc(values[i])}"`);
  if (extra) parts.push(`${extra[0]}="${esc(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

interface Metric {
  readonly name: string;
  render(): string[];
}

abstract class Vec<T> implements Metric {
  protected readonly series = new Map<string, { values: string[]; v: T }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly stability: 'STABLE' | 'ALPHA' | 'BETA' = 'ALPHA',
  ) {}
  protected abstract initial(): T;
  protected abstract get type(): string;
  protected abstract samples(values: string[], v: T): string[];
  /** The series of `labels`, for a caller that updates the same series often without a label key each time. */
  seriesFor(labels: Labels): T {
    return this.at(labels);
  }
  protected at(labels: Labels): T {
    const key = labelKey(this.labelNames, labels);
    let s = this.series.get(key);
    if (!s) {
      s = { values: this.labelNames.map((n) => labels[n] ?? ''), v: this.initial() };
      this.series.set(key, s);
    }
    return s.v;
  }
  render(): string[] {
    const out = [`# HELP ${this.name} [${this.stability}] ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const s of this.series.values()) out.push(...this.samples(s.values, s.v));
    return out;
  }
}

export class Counter extends Vec<{ n: number }> {
  protected initial() {
    return { n: 0 };
  }
  protected get type() {
    return 'counter';
  }
  inc(labels: Labels = {}, by = 1): void {
    this.at(labels).n += by;
  }
  get(labels: Labels = {}): number {
    return this.series.get(labelKey(this.labelNames, labels))?.v.n ?? 0;
  }
  protected samples(values: string[], v: { n: number }): string[] {
    return [`${this.name}${renderLabels(this.labelNames, values)} ${fmt(v.n)}`];
  }
}

export class Gauge extends Vec<{ n: number }> {
  protected initial() {
    return { n: 0 };
  }
  protected get type() {
    return 'gauge';
  }
  set(labels: Labels, value: number): void {
    this.at(labels).n = value;
  }
  inc(labels: Labels = {}, by = 1): void {
    this.at(labels).n += by;
  }
  dec(labels: Labels = {}, by = 1): void {
    this.at(labels).n -= by;
  }
  /** Forget every series (a collector sets them afresh at each scrape). */
  reset(): void {
    this.series.clear();
  }
  protected samples(values: string[], v: { n: number }): string[] {
    return [`${this.name}${renderLabels(this.labelNames, values)} ${fmt(v.n)}`];
  }
}

export interface HistogramState {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Vec<HistogramState> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
    stability: 'STABLE' | 'ALPHA' | 'BETA' = 'ALPHA',
  ) {
    super(name, help, labelNames, stability);
  }
  protected initial(): HistogramState {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }
  protected get type() {
    return 'histogram';
  }
  observe(labels: Labels, value: number): void {
    this.observeIn(this.at(labels), value);
  }
  /** Observes `value` in a series got from seriesFor. */
  observeIn(s: HistogramState, value: number): void {
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
  }
  protected samples(values: string[], v: HistogramState): string[] {
    const out: string[] = [];
    this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${renderLabels(this.labelNames, values, ['le', fmt(b)])} ${v.counts[i]}`));
    out.push(`${this.name}_bucket${renderLabels(this.labelNames, values, ['le', '+Inf'])} ${v.count}`);
    out.push(`${this.name}_sum${renderLabels(this.labelNames, values)} ${fmt(v.sum)}`);
    out.push(`${this.name}_count${renderLabels(this.labelNames, values)} ${v.count}`);
    return out;
  }
}

/** `count` buckets starting at `start`, each `factor` times the previous (upstream ExponentialBuckets). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0, b = start; i < count; i++, b *= factor) out.push(Number(b.toPrecision(12)));
  return out;
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors = new Set<() => void>();

  /** Registers `m`, or returns the one already registered under its name (so components may register twice). */
  register<M extends Metric>(m: M): M {
    const existing = this.metrics.get(m.name);
    if (existing) return existing as M;
    this.metrics.set(m.name, m);
    return m;
  }

  counter(name: string, help: string, labelNames: readonly string[] = [], stability: 'STABLE' | 'ALPHA' | 'BETA' = 'ALPHA'): Counter {
    return this.register(new Counter(name, help, labelNames, stability));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = [], stability: 'STABLE' | 'ALPHA' | 'BETA' = 'ALPHA'): Gauge {
    return this.register(new Gauge(name, help, labelNames, stability));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[], stability: 'STABLE' | 'ALPHA' | 'BETA' = 'ALPHA'): Histogram {
    return this.register(new Histogram(name, help, labelNames, buckets, stability));
  }

  /** Runs before each render: sets gauges whose values are read on demand. Returns its removal. */
  collect(fn: () => void): () => void {
    this.collectors.add(fn);
    return () => this.collectors.delete(fn);
  }

  render(): string {
    for (const c of this.collectors) {
      try {
        c();
      } catch {
        // a failing collector leaves its gauges as they were
      }
    }
    const names = [...this.metrics.keys()].sort();
    const out: string[] = [];
    for (const n of names) out.push(...this.metrics.get(n)!.render());
    return out.join('\n') + '\n';
  }
}

/** The registry of this process (API server, controller manager and scheduler share it in `kite server`). */
export const defaultRegistry = new MetricsRegistry();

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
