// The command line every benchmark reads: `--name value` pairs, and `--flag` alone (true).

/** The benchmark's `--name value` options; a `--flag` with no value reads as `'true'`. */
export function benchArgs(argv: readonly string[] = process.argv.slice(2)): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    args.set(a.slice(2), next !== undefined && !next.startsWith('--') ? argv[++i]! : 'true');
  }
  return args;
}
