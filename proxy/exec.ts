// Running the kernel tools (nft, iptables-restore, sysctl) — optionally inside a
// network namespace (`ip netns exec`), which is how the tests drive a private ruleset.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/**
 * A long-running `nft -i`, fed one transaction at a time: spawning `nft` (and loading
 * libnftables) costs more than a small transaction itself. Each transaction is written
 * to a private file and run as `include "<file>"` — one line, so one atomic batch —
 * followed by a marker line that nft rejects as a syntax error: everything nft prints
 * on stderr before that marker's error belongs to the transaction.
 */
const RESTART_AFTER = 10_000;

export class NftSession {
  private child?: ChildProcessWithoutNullStreams;
  private stderr = '';
  private waiter?: () => void;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly dir = mkdtempSync(join(tmpdir(), 'kite-nft-'));
  private seq = 0;
  /** Transactions sent to the current process. */
  private sent = 0;
  private closed = false;

  constructor(private readonly netns?: string) {}

  private start(): ChildProcessWithoutNullStreams {
    const argv = this.netns ? ['ip', 'netns', 'exec', this.netns, 'nft', '-i'] : ['nft', '-i'];
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      this.waiter?.();
    });
    const gone = () => {
      if (this.child === child) this.child = undefined;
      this.waiter?.();
    };
    child.on('error', gone);
    child.on('close', gone);
    child.stdin.on('error', () => {});
    this.stderr = '';
    return (this.child = child);
  }

  /** Run `script` as one transaction; rejects with nft's message when it fails. */
  apply(script: string): Promise<void> {
    const run = this.queue.then(() => this.applyNow(script));
    this.queue = run.catch(() => {});
    return run;
  }

  private async applyNow(script: string): Promise<void> {
    if (this.closed) throw new Error('nft session closed');
    // nft -i keeps every line in its readline history: start afresh now and then.
    if (this.child && this.sent >= RESTART_AFTER) {
      this.child.stdin.end();
      this.child = undefined;
    }
    if (!this.child) this.sent = 0;
    const child = this.child ?? this.start();
    this.sent++;
    const file = join(this.dir, 'txn.nft');
    writeFileSync(file, script);
    const marker = `kite-txn-end-${++this.seq}`;
    child.stdin.write(`include "${file}"\n${marker}\n`);
    // The marker's error is three lines: the message, the marker, a caret line.
    const done = (): number => {
      const at = this.stderr.indexOf(`\n${marker}\n`);
      if (at < 0) return -1;
      const caretEnd = this.stderr.indexOf('\n', at + marker.length + 2);
      return caretEnd < 0 ? -1 : at;
    };
    while (done() < 0) {
      if (this.child !== child) throw new Error(`nft -i exited: ${this.stderr.trim().split('\n').slice(0, 20).join('\n')}`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
    const at = done();
    const before = this.stderr.slice(0, at);
    const markerError = before.lastIndexOf('Error:');
    const output = (markerError >= 0 ? before.slice(0, markerError) : before).trim();
    this.stderr = this.stderr.slice(this.stderr.indexOf('\n', at + marker.length + 2) + 1);
    if (output.includes('Error:')) throw new Error(`nft failed: ${output.split('\n').slice(0, 20).join('\n')}`);
  }

  /** The nft process's id (undefined until the first transaction). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Stop the process and remove the transaction file. */
  close(): void {
    this.closed = true;
    this.child?.stdin.end();
    this.child = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
