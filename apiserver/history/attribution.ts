// Who is writing: the pipeline runs each write request inside `asWriter(ctx, …)`, and
// the history's store wrapper reads it when the store write returns, so every revision
// can be credited to the request's user without threading the context through the
// registry and every subresource handler.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestContext } from '../context.js';

const writers = new AsyncLocalStorage<RequestContext>();

export function asWriter<T>(ctx: RequestContext, fn: () => T): T {
  return writers.run(ctx, fn);
}

/** The request context of the write running now, if any. */
export function currentWriter(): RequestContext | undefined {
  return writers.getStore();
}
