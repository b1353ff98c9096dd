// A log of what changed, oldest first, read from a mark: a verdict kept per node is
// brought up to date by looking at the nodes logged since its mark alone. The older half
// is dropped when the log grows past its bound (`base` counts what was dropped), and a
// mark from before that is answered with undefined: the reader starts over.

export class ChangeLog<T> {
  private entries: T[] = [];
  private base = 0;

  constructor(private readonly maxEntries = 65536) {}

  /** Where the log stands now: pass it to `since` later. */
  get mark(): number {
    return this.base + this.entries.length;
  }

  /** What was logged since `mark` (repeats possible); undefined when that part of the log is gone. */
  since(mark: number): readonly T[] | undefined {
    const from = mark - this.base;
    if (from < 0) return undefined;
    return from === 0 ? this.entries : this.entries.slice(from);
  }

  add(entry: T): void {
    this.entries.push(entry);
    if (this.entries.length > this.maxEntries) {
      const drop = this.entries.length >> 1;
      this.entries = this.entries.slice(drop);
      this.base += drop;
    }
  }
}
