// Cooperative time slicing for the in-process control plane. A controller's workers, an
// informer's list and the API's in-process transport all resolve through promises
// alone (the SQLite store answers synchronously), so a queue of 150,000 keys, or a list
// of 150,000 objects, would otherwise be worked through in one unbroken chain of
// microtasks while HTTP requests wait. Every such loop asks sliceUsedUp() between
// items; once the work of this turn of the event loop has taken SLICE_MS, it yields
// (setImmediate: after pending I/O) and carries on in a fresh slice.
import { setImmediate as nextTurn } from 'node:timers/promises';

/** How long sliced work may hold the event loop in one turn. */
export const SLICE_MS = 10;

/** When the current turn's slice ends (performance.now()); 0: no slice started this turn. */
let sliceEnd = 0;

function endSlice(): void {
  sliceEnd = 0;
}

/**
 * True once the sliced work of this turn of the event loop has used its SLICE_MS: the
 * caller should `await yieldToEventLoop()` before its next item. The first call of a
 * turn starts the slice (shared by every caller in the process).
 */
export function sliceUsedUp(): boolean {
  const now = performance.now();
  if (sliceEnd === 0) {
    sliceEnd = now + SLICE_MS;
    setImmediate(endSlice);
    return false;
  }
  return now >= sliceEnd;
}

/** Lets pending I/O and timers run; resolves in the next turn, where a new slice starts. */
export function yieldToEventLoop(): Promise<void> {
  return nextTurn();
}
