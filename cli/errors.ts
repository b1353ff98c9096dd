// Errors the CLI reports to the user: one line on stderr (plus optional detail lines
// such as a log tail) and exit code 1.

export class CliError extends Error {
  /** Extra lines printed after the message, e.g. the tail of a log file. */
  readonly details: string[];
  constructor(message: string, details: string[] = []) {
    super(message);
    this.name = 'CliError';
    this.details = details;
  }
}

/** The one-line text for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const first = err.message.split('\n')[0] ?? String(err);
    return code && !first.includes(code) ? `${first} (${code})` : first;
  }
  return String(err);
}
