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

export { errorMessage } from '../machinery/errors.js';
