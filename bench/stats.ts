// Summaries of measured samples, the same in every benchmark.

/** The nearest-rank `p`th percentile of ascending `sorted` samples (NaN when there are none). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The middle of the samples (the upper of the two middle ones for an even count), unsorted as given. */
export function median(samples: readonly number[]): number {
  return [...samples].sort((a, b) => a - b)[samples.length >> 1]!;
}
