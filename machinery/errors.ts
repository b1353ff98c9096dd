// One line of text for any thrown value (logs, CLI messages).
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const first = err.message.split('\n')[0] ?? String(err);
    return code && !first.includes(code) ? `${first} (${code})` : first;
  }
  return String(err);
}
