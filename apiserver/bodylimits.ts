// Bounds on what a request body may make the server do, checked before it is decoded.
import { badRequest } from '../machinery/status.js';

/** Go's encoding/json nesting limit (maxNestingDepth), which upstream's decoder inherits. */
export const MAX_JSON_DEPTH = 10_000;

/**
 * A 400 when the JSON text nests arrays/objects deeper than upstream's decoder allows,
 * found by one pass over the bytes (strings skipped) so that no recursive walker ever
 * sees such a document.
 */
export function checkJsonDepth(body: Buffer, limit = MAX_JSON_DEPTH): void {
  // Each level opens with a byte of its own: a body no longer than the limit cannot exceed it.
  if (body.length <= limit) return;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) throw badRequest(`json: invalid character '${String.fromCharCode(c)}' exceeded max depth`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}
