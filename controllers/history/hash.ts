// Hashes that name workload objects. Upstream (controller.ComputeHash,
// history.HashControllerRevision) feeds an FNV-32 hash with a deep print of the Go
// struct and encodes the decimal number with rand.SafeEncodeString's alphabet (no
// vowels, no look-alike digits). kite hashes a canonical JSON rendering instead (keys
// sorted at every level): the names look the same and are stable for an unchanged
// template, though not bit-identical with a real cluster's.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32 bits, continuing from `h`. */
export function fnv32a(bytes: Uint8Array, h: number = FNV_OFFSET): number {
  let x = h >>> 0;
  for (const b of bytes) {
    x ^= b;
    x = Math.imul(x, FNV_PRIME) >>> 0;
  }
  return x >>> 0;
}

/** FNV-1, 32 bits (multiply, then xor), continuing from `h`. */
export function fnv32(bytes: Uint8Array, h: number = FNV_OFFSET): number {
  let x = h >>> 0;
  for (const b of bytes) {
    x = Math.imul(x, FNV_PRIME) >>> 0;
    x ^= b;
  }
  return x >>> 0;
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** rand.SafeEncodeString: every byte mapped onto a 27-character alphabet. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += ALPHANUMS[b % ALPHANUMS.length];
  return out;
}

/** JSON with object keys sorted at every level (what json.Marshal of a map produces). */
export function canonicalJSON(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/**
 * The pod-template hash (controller.ComputeHash): FNV-1a of the template, then the
 * collision count as 8 little-endian bytes when there is one.
 */
export function computeHash(template: unknown, collisionCount?: number | null): string {
  let h = fnv32a(Buffer.from(canonicalJSON(template ?? {}), 'utf8'));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(collisionCount >>> 0, 0);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}

/**
 * A ControllerRevision's hash (history.HashControllerRevision): FNV-1 of the data's
 * bytes, then the collision count in decimal when there is one.
 */
export function hashControllerRevision(data: unknown, probe?: number | null): string {
  let h = fnv32(Buffer.from(canonicalJSON(data ?? null), 'utf8'));
  if (probe !== undefined && probe !== null) h = fnv32(Buffer.from(String(probe), 'utf8'), h);
  return safeEncodeString(String(h));
}
