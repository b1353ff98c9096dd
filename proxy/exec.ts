// Running the kernel tools (nft, iptables-restore, sysctl) — optionally inside a
// network namespace (`ip netns exec`), which is how the tests drive a private ruleset.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, constants, existsSync, linkSync, mkdtempSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
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
 * Produces a transaction's text piece by piece through `write`, which resolves once the
 * previous piece has been taken (one piece in flight), so nft parses while the rest is
 * being produced.
 */
export type ScriptProducer = (write: (chunk: string) => Promise<void>) => Promise<void>;

/**
 * A long-running `nft -i`, fed one transaction at a time: spawning `nft` (and loading
 * libnftables) costs more than a small transaction itself. Each transaction is written
 * to a private file and run as `include "<file>"` — one line, so one atomic batch —
 * followed by a marker line that nft rejects as a syntax error: everything nft prints
 * on stderr before that marker's error belongs to the transaction.
 *
 * A large transaction (a full sync) can instead be streamed (applyStreamed): the
 * include names a FIFO, which nft's scanner reads as it parses (`nft -f -` would read
 * all of stdin first), so nft parses on one core while the proxy renders on the other;
 * nft still evaluates and commits only once the whole text is in.
 */
const RESTART_AFTER = 10_000;

/** A line nft cannot parse: appended to a streamed transaction whose producer failed, so nothing of it is committed. */
const ABORT_LINE = '\nkite-transaction-aborted\n';

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
    return this.enqueue(script);
  }

  /** Run the text `produce` writes as one transaction, streamed to nft while it is produced. */
  applyStreamed(produce: ScriptProducer): Promise<void> {
    return this.enqueue(produce);
  }

  private enqueue(source: string | ScriptProducer): Promise<void> {
    const run = this.queue.then(() => this.applyNow(source));
    this.queue = run.catch(() => {});
    return run;
  }

  private async applyNow(source: string | ScriptProducer): Promise<void> {
    if (this.closed) throw new Error('nft session closed');
    // nft -i keeps every line in its readline history: start afresh now and then.
    if (this.child && this.sent >= RESTART_AFTER) {
      this.child.stdin.end();
      this.child = undefined;
    }
    if (!this.child) this.sent = 0;
    const child = this.child ?? this.start();
    this.sent++;
    const file = join(this.dir, typeof source === 'string' ? 'txn.nft' : 'txn-stream.nft');
    if (typeof source === 'string') writeFileSync(file, source);
    else {
      await this.linkFifo(file);
      if (this.closed) throw new Error('nft session closed');
    }
    const marker = `kite-txn-end-${++this.seq}`;
    child.stdin.write(`include "${file}"\n${marker}\n`);
    // A producer's failure is reported after nft's answer to the aborted transaction
    // has been read, so that answer is not taken for the next one's.
    const streamError: unknown = typeof source === 'string' ? undefined : await this.stream(child, file, source).then(() => undefined, (err: unknown) => err ?? new Error('streamed transaction failed'));
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
    if (streamError) throw streamError;
    if (output.includes('Error:')) throw new Error(`nft failed: ${output.split('\n').slice(0, 20).join('\n')}`);
  }

  /** Makes `path` the session's FIFO (made once; a streamed transaction leaves a regular file there). */
  private async linkFifo(path: string): Promise<void> {
    const fifo = join(this.dir, 'txn.fifo');
    // Node has no mkfifo(3); a synchronous spawn from a large process blocked its event loop ~50 ms.
    if (!existsSync(fifo)) await mustRun(commandRunner(), ['mkfifo', '-m', '600', fifo]);
    rmSync(path, { force: true });
    linkSync(fifo, path);
  }

  /**
   * Feeds the FIFO at `path`, which `child` is including, from `produce`. nft opens an
   * included file a second time to quote the line of an error: before the FIFO is
   * closed, a regular file with the same text takes its name (nft's reading end stays
   * on the FIFO), so that second open finds it instead of waiting for a writer.
   */
  private async stream(child: ChildProcessWithoutNullStreams, path: string, produce: ScriptProducer): Promise<void> {
    // Opening a FIFO for writing waits for its reader: should nft exit before it opens
    // it, opening the reading end here lets the open return (its writes then fail).
    const exited = () => {
      try {
        closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK));
      } catch {
        // (gone with the session's directory: the open has failed already)
      }
    };
    if (this.child !== child) throw new Error('nft -i exited');
    child.once('close', exited);
    let fh: FileHandle;
    try {
      fh = await open(path, 'w');
    } finally {
      child.off('close', exited);
    }
    const text: string[] = [];
    let inFlight: Promise<unknown> = Promise.resolve();
    const write = async (chunk: string) => {
      await inFlight;
      text.push(chunk);
      inFlight = fh.write(chunk);
    };
    try {
      await produce(write);
      await inFlight;
    } catch (err) {
      await inFlight.catch(() => {});
      text.push(ABORT_LINE);
      await fh.write(ABORT_LINE).catch(() => {});
      throw err;
    } finally {
      const copy = join(this.dir, 'txn-copy.nft');
      writeFileSync(copy, text.join(''));
      renameSync(copy, path);
      // nft's include ends at end of file: when the last writer closes the FIFO.
      await fh.close();
    }
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
