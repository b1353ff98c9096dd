// Running the kernel tools (nft, iptables-restore, sysctl) — optionally inside a
// network namespace (`ip netns exec`), which is how the tests drive a private ruleset.
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (argv: readonly string[], stdin?: string) => Promise<RunResult>;

/** A runner that executes commands directly, or inside network namespace `netns`. */
export function commandRunner(netns?: string): CommandRunner {
  return (argv, stdin) =>
    new Promise((resolve) => {
      const full = netns ? ['ip', 'netns', 'exec', netns, ...argv] : [...argv];
      const child = spawn(full[0], full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: e.code === 'ENOENT' ? 127 : 1, stdout: '', stderr: e.message }));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
      child.stdin.on('error', () => {});
      child.stdin.end(stdin ?? '');
    });
}

/** Runs and throws with the tool's stderr on failure. */
export async function mustRun(run: CommandRunner, argv: readonly string[], stdin?: string): Promise<string> {
  const r = await run(argv, stdin);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(0, 20).join('\n')}`);
  return r.stdout;
}

/** Whether `tool` can be run (exit status of `tool --version`, or `-V`). */
export async function hasTool(run: CommandRunner, tool: string, versionFlag = '--version'): Promise<boolean> {
  const r = await run([tool, versionFlag]);
  return r.code !== 127;
}
