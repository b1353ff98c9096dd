// Shared by the benchmarks: run n numbered jobs with a fixed number of workers.

/** Runs work(0..n-1) on `width` concurrent workers; resolves to the elapsed milliseconds. */
export async function runParallel(n: number, width: number, work: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await work(next++);
    }),
  );
  return performance.now() - t;
}
