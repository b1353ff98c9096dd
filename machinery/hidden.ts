// Hidden marks: symbol-keyed, non-enumerable properties that no copy, spread, walk,
// comparison or JSON encoding sees. Hot paths note facts about objects this way ("this
// buffer encodes that object", "this member never changes") rather than in a WeakMap or
// WeakSet: each weak entry is an ephemeron the garbage collector revisits on every
// collection, while a property lives and dies with its object at no extra cost.

/** Sets `key` on `target`, hidden; `rewritable` when the mark may be replaced later. */
export function setHidden(target: object, key: symbol, value: unknown, rewritable = false): void {
  Object.defineProperty(target, key, { value, writable: rewritable, configurable: rewritable });
}

/** The hidden mark `key` of `target`, if set. */
export function getHidden<T>(target: object, key: symbol): T | undefined {
  return (target as { [k: symbol]: T | undefined })[key];
}
