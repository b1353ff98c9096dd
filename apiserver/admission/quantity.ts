// Resource quantities (k8s.io/apimachinery/pkg/api/resource): parsing, comparison,
// arithmetic and the canonical string upstream serializes (`0.5` → `500m`,
// `1024Mi` → `1Gi`, `1.5Gi` → `1536Mi`, `1000` → `1k`, `1e3` stays `1e3`).
//
// A quantity is held exactly as `unscaled × 10^scale` (BigInt), so arbitrary sizes
// and precisions are safe; like upstream, values finer than 1n round up (away from 0).

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export const QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";
export const QUANTITY_NUMERIC_ERROR = 'unable to parse numeric part of quantity';

export class QuantityError extends Error {}

const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXP = new Map(Object.entries(DECIMAL_SUFFIXES).map(([s, e]) => [e, s]));
const BINARY_BY_EXP = new Map<number, string>([[0, ''], ...Object.entries(BINARY_SUFFIXES).map(([s, e]) => [e, s] as [number, string])]);

const MAX_INT64 = (1n << 63n) - 1n;
const SUFFIX_CHARS = 'eEinumkKMGTP';

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

interface Split {
  positive: boolean;
  num: string;
  denom: string;
  suffix: string;
}

// parseQuantityString, step for step: sign, zeros, numerator, '.', denominator, suffix.
function splitQuantity(str: string): Split {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (pos < end) {
    if (str[0] === '-') {
      positive = false;
      pos++;
    } else if (str[0] === '+') pos++;
  }
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, num: '0', denom: '', suffix: '' };
  let i = pos;
  while (i < end && isDigit(str[i])) i++;
  let num = str.slice(pos, i);
  pos = i;
  if (pos >= end) return { positive, num: num || '0', denom: '', suffix: '' };
  if (num.length === 0) num = '0';
  let denom = '';
  if (str[pos] === '.') {
    pos++;
    i = pos;
    while (i < end && isDigit(str[i])) i++;
    denom = str.slice(pos, i);
    pos = i;
    if (pos >= end) return { positive, num, denom, suffix: '' };
  }
  const suffixStart = pos;
  i = pos;
  while (i < end && SUFFIX_CHARS.includes(str[i])) i++;
  if (i >= end) return { positive, num, denom, suffix: str.slice(suffixStart) };
  pos = i;
  if (str[pos] === '-' || str[pos] === '+') pos++;
  i = pos;
  while (i < end && isDigit(str[i])) i++;
  if (i >= end) return { positive, num, denom, suffix: str.slice(suffixStart) };
  throw new QuantityError(QUANTITY_FORMAT_ERROR);
}

function interpretSuffix(s: string): { base: 2 | 10; exponent: number; format: QuantityFormat } {
  if (s in DECIMAL_SUFFIXES) return { base: 10, exponent: DECIMAL_SUFFIXES[s], format: 'DecimalSI' };
  if (s in BINARY_SUFFIXES) return { base: 2, exponent: BINARY_SUFFIXES[s], format: 'BinarySI' };
  if (s.length > 1 && (s[0] === 'e' || s[0] === 'E')) {
    const rest = s.slice(1);
    if (/^[-+]?\d+$/.test(rest)) {
      const n = Number(rest);
      if (Number.isSafeInteger(n) && Math.abs(n) <= 2147483647) return { base: 10, exponent: n, format: 'DecimalExponent' };
    }
  }
  throw new QuantityError(QUANTITY_SUFFIX_ERROR);
}

/** Divide rounding away from zero ("RoundUp" in inf.Dec terms). */
function divAwayFromZero(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b === 0n ? q : a < 0n ? q - 1n : q + 1n;
}

export class Quantity {
  /** value = unscaled × 10^scale */
  readonly unscaled: bigint;
  readonly scale: number;
  readonly format: QuantityFormat;

  private constructor(unscaled: bigint, scale: number, format: QuantityFormat) {
    this.unscaled = unscaled;
    this.scale = scale;
    this.format = format;
  }

  static zero(format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(0n, 0, format);
  }

  static fromInt(n: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(BigInt(n), 0, format);
  }

  /** Milli-units: `fromMilli(1500)` is `1500m`. */
  static fromMilli(n: number | bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(BigInt(n), -3, format);
  }

  /** ParseQuantity. Throws QuantityError worded as upstream. Numbers are read as their decimal text. */
  static parse(input: string | number): Quantity {
    const str = typeof input === 'number' ? numberText(input) : input.trim();
    if (str.length === 0) throw new QuantityError(QUANTITY_FORMAT_ERROR);
    if (str === '0') return Quantity.zero();
    const { positive, num, denom, suffix } = splitQuantity(str);
    const { base, exponent, format: fmt0 } = interpretSuffix(suffix);
    let format = fmt0;
    let unscaled = BigInt(num + denom);
    let scale = -denom.length;
    if (base === 10) scale += exponent;
    else unscaled *= 1n << BigInt(exponent);
    if (!positive) unscaled = -unscaled;
    if (scale < -9) {
      unscaled = divAwayFromZero(unscaled, pow10(-9 - scale));
      scale = -9;
    }
    let q = new Quantity(unscaled, scale, format).normalized();
    const abs = q.abs();
    if (format === 'BinarySI' && abs.cmp(Quantity.fromInt(MAX_INT64)) > 0) {
      q = new Quantity(q.unscaled < 0n ? -MAX_INT64 : MAX_INT64, 0, format);
    }
    if (format === 'BinarySI' && !abs.isZero() && abs.cmp(Quantity.fromInt(1)) < 0) format = 'DecimalSI';
    return new Quantity(q.unscaled, q.scale, format);
  }

  static tryParse(input: unknown): Quantity | undefined {
    if (typeof input !== 'string' && typeof input !== 'number') return undefined;
    try {
      return Quantity.parse(input);
    } catch {
      return undefined;
    }
  }

  /** Trailing zeros folded into the scale (value unchanged). */
  private normalized(): Quantity {
    if (this.unscaled === 0n) return new Quantity(0n, 0, this.format);
    let u = this.unscaled;
    let s = this.scale;
    while (u % 10n === 0n) {
      u /= 10n;
      s++;
    }
    return new Quantity(u, s, this.format);
  }

  isZero(): boolean {
    return this.unscaled === 0n;
  }

  sign(): -1 | 0 | 1 {
    return this.unscaled === 0n ? 0 : this.unscaled < 0n ? -1 : 1;
  }

  abs(): Quantity {
    return this.unscaled < 0n ? new Quantity(-this.unscaled, this.scale, this.format) : this;
  }

  neg(): Quantity {
    return new Quantity(-this.unscaled, this.scale, this.format);
  }

  private alignedWith(o: Quantity): [bigint, bigint, number] {
    const s = Math.min(this.scale, o.scale);
    return [this.unscaled * pow10(this.scale - s), o.unscaled * pow10(o.scale - s), s];
  }

  cmp(o: Quantity): -1 | 0 | 1 {
    const [a, b] = this.alignedWith(o);
    return a === b ? 0 : a < b ? -1 : 1;
  }

  equals(o: Quantity): boolean {
    return this.cmp(o) === 0;
  }

  /** Sum; like upstream, a zero receiver takes the other's format. */
  add(o: Quantity): Quantity {
    const [a, b, s] = this.alignedWith(o);
    return new Quantity(a + b, s, this.isZero() ? o.format : this.format).normalized();
  }

  sub(o: Quantity): Quantity {
    return this.add(o.neg().withFormat(o.format));
  }

  withFormat(f: QuantityFormat): Quantity {
    return new Quantity(this.unscaled, this.scale, f);
  }

  /** Round up (away from zero) to a multiple of 10^scale, e.g. roundUp(-3) keeps milli precision. */
  roundUp(scale: number): Quantity {
    if (this.scale >= scale) return this;
    return new Quantity(divAwayFromZero(this.unscaled, pow10(scale - this.scale)), scale, this.format).normalized();
  }

  /** The value scaled to 10^scale as a (rounded-up) BigInt: scaledValue(0) is Value(), -3 is MilliValue(). */
  scaledValue(scale: number): bigint {
    if (this.scale >= scale) return this.unscaled * pow10(this.scale - scale);
    return divAwayFromZero(this.unscaled, pow10(scale - this.scale));
  }

  /** Value(): integer units, rounded up. */
  value(): number {
    return Number(this.scaledValue(0));
  }

  /** MilliValue(): thousandths, rounded up. */
  milliValue(): number {
    return Number(this.scaledValue(-3));
  }

  asApproximateFloat64(): number {
    return Number(this.unscaled) * 10 ** this.scale;
  }

  /** The canonical string upstream serializes. */
  toString(): string {
    if (this.unscaled === 0n) return '0';
    let format = this.format;
    if (format === 'BinarySI') {
      const inSmallRange = this.cmp(Quantity.fromInt(-1024)) > 0 && this.cmp(Quantity.fromInt(1024)) < 0;
      if (inSmallRange || this.scale < 0) format = 'DecimalSI';
    }
    const neg = this.unscaled < 0n;
    let amount = neg ? -this.unscaled : this.unscaled;
    if (format === 'BinarySI') {
      amount *= pow10(this.scale);
      let exp = 0;
      while (amount % 1024n === 0n && exp < 60) {
        amount /= 1024n;
        exp += 10;
      }
      return `${neg ? '-' : ''}${amount}${BINARY_BY_EXP.get(exp) ?? ''}`;
    }
    let exponent = this.scale;
    while (amount % 10n === 0n) {
      amount /= 10n;
      exponent++;
    }
    while (((exponent % 3) + 3) % 3 !== 0) {
      amount *= 10n;
      exponent--;
    }
    let suffix: string;
    if (format === 'DecimalExponent') suffix = exponent === 0 ? '' : `e${exponent}`;
    else suffix = DECIMAL_BY_EXP.get(exponent) ?? `e${exponent}`;
    return `${neg ? '-' : ''}${amount}${suffix}`;
  }

  toJSON(): string {
    return this.toString();
  }
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  // JSON numbers reach us already parsed; print them without exponent noise where possible
  const s = String(n);
  return s.includes('e') ? n.toExponential().replace('e+', 'e') : s;
}

// ---- convenience functions ---------------------------------------------------------

export function parseQuantity(s: string | number): Quantity {
  return Quantity.parse(s);
}

export function isQuantity(s: unknown): boolean {
  return Quantity.tryParse(s) !== undefined;
}

/** The canonical form of a quantity string; throws QuantityError when it is not one. */
export function canonicalQuantity(s: string | number): string {
  return Quantity.parse(s).toString();
}

/** Compare two quantity strings numerically: -1, 0 or 1. */
export function compareQuantities(a: string | number | Quantity, b: string | number | Quantity): -1 | 0 | 1 {
  const qa = a instanceof Quantity ? a : Quantity.parse(a);
  const qb = b instanceof Quantity ? b : Quantity.parse(b);
  return qa.cmp(qb);
}

/** Sum of quantity strings (missing entries count as zero). */
export function sumQuantities(values: (string | number | Quantity | undefined)[]): Quantity {
  let total = Quantity.zero();
  for (const v of values) {
    if (v === undefined) continue;
    total = total.add(v instanceof Quantity ? v : Quantity.parse(v));
  }
  return total;
}
