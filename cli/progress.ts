// Step-by-step progress lines for long-running commands:
//    ✓ Writing certificates
// On a terminal the step shows as "•" while it runs and is rewritten in place.
import type { Writable } from 'node:stream';

export class Progress {
  private readonly tty: boolean;
  constructor(private readonly out: Writable & { isTTY?: boolean } = process.stdout) {
    this.tty = Boolean(out.isTTY);
  }

  info(line: string): void {
    this.out.write(`${line}\n`);
  }

  /** Prints a note under the current steps, e.g. a port change. */
  note(line: string): void {
    this.out.write(` • ${line}\n`);
  }

  /**
   * Runs `fn` as a step titled `title`; `done` may give the final line from the result
   * (e.g. "API server ready at ..."). Failures mark the step ✗ and rethrow.
   */
  async step<T>(title: string, fn: () => Promise<T> | T, done?: (result: T) => string): Promise<T> {
    if (this.tty) this.out.write(` • ${title} ...`);
    try {
      const result = await fn();
      this.finish('✓', done ? done(result) : title);
      return result;
    } catch (err) {
      this.finish('✗', title);
      throw err;
    }
  }

  private finish(mark: string, line: string): void {
    this.out.write(this.tty ? `\r\x1b[2K ${mark} ${line}\n` : ` ${mark} ${line}\n`);
  }
}
