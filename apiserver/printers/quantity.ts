// Canonical text of a resource quantity (`1Gi`, `500m`, `1e3`), as the API server
// re-serializes quantities: trailing zeros folded into the largest fitting suffix of
// the quantity's own family (binary, decimal SI or decimal exponent).

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_BY_EXP: Record<number, string> = { [-9]: 'n', [-6]: 'u', [-3]: 'm', 0: '', 3: 'k', 6: 'M', 9: 'G', 12: 'T', 15: 'P', 18: 'E' };
const BINARY_BY_EXP = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

const QUANTITY_RE = /^([+-]?)(\d*)(?:\.(\d*))?([a-zA-Z]*|[eE][+-]?\d+)$/;

const cache = new Map<string, string>();
const CACHE_LIMIT = 4096;

/** Canonical form of a quantity; text that does not parse is returned unchanged. */
export function canonicalQuantity(q: unknown): string {
  if (q === undefined || q === null) return '0';
  const text = typeof q === 'number' ? String(q) : typeof q === 'string' ? q.trim() : String(q);
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const out = canonicalize(text);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, out);
  return out;
}

function canonicalize(text: string): string {
  const m = QUANTITY_RE.exec(text);
  if (!m) return text;
  const [, sign, whole = '', frac = '', suffix = ''] = m;
  if (whole === '' && frac === '') return text;

  let format: 'bin' | 'dec' | 'exp';
  let exp10 = 0;
  let exp1024 = 0;
  if (suffix in BINARY_SUFFIX) {
    format = 'bin';
    exp1024 = BINARY_SUFFIX[suffix]!;
  } else if (suffix in DECIMAL_SUFFIX) {
    format = 'dec';
    exp10 = DECIMAL_SUFFIX[suffix]!;
  } else if (/^[eE]/.test(suffix)) {
    format = 'exp';
    exp10 = Number(suffix.slice(1));
  } else {
    return text;
  }

  // value = n * 10^scale
  let n = BigInt((whole || '0') + frac);
  if (sign === '-') n = -n;
  let scale = exp10 - frac.length;
  if (exp1024 > 0) n *= 1n << BigInt(10 * exp1024);
  if (n === 0n) return '0';

  // Precision finer than nano is rounded away from zero to nano.
  if (scale < -9) {
    const div = 10n ** BigInt(-9 - scale);
    const neg = n < 0n;
    let abs = neg ? -n : n;
    abs = (abs + div - 1n) / div;
    n = neg ? -abs : abs;
    scale = -9;
  }

  if (format === 'bin') {
    let integer: bigint | undefined;
    if (scale >= 0) integer = n * 10n ** BigInt(scale);
    else {
      const div = 10n ** BigInt(-scale);
      if (n % div === 0n) integer = n / div;
    }
    if (integer !== undefined && (integer <= -1024n || integer >= 1024n)) {
      let e = 0;
      while (e < 6 && integer % 1024n === 0n) {
        integer /= 1024n;
        e++;
      }
      return integer.toString() + BINARY_BY_EXP[e];
    }
    format = 'dec'; // small or fractional binary quantities print in decimal SI
  }

  while (n % 10n === 0n) {
    n /= 10n;
    scale++;
  }
  const r = scale % 3;
  if (r === 1 || r === -2) {
    n *= 10n;
    scale -= 1;
  } else if (r === 2 || r === -1) {
    n *= 100n;
    scale -= 2;
  }
  if (format === 'exp') return scale === 0 ? n.toString() : `${n}e${scale}`;
  const sfx = DECIMAL_BY_EXP[scale];
  return sfx !== undefined ? n.toString() + sfx : `${n}e${scale}`;
}
