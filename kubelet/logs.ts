// Reading container logs in the CRI format (what containerd writes for each
// container): one entry per line,
//
//   <RFC3339Nano timestamp> <stdout|stderr> <tag> <message>
//
// where tag is F (full line: the message was followed by a newline) or P
// (partial: a long line split at the runtime's maximum line size). The output
// is what `kubectl logs` shows: messages re-joined, optionally prefixed with
// their timestamps, filtered by tail / since / limitBytes, and followed while
// the container runs.
import { closeSync, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import type { Writable } from 'node:stream';

export interface LogOptions {
  follow?: boolean;
  /** Last N lines (entries) only. */
  tailLines?: number;
  /** Entries at or after this instant, as nanoseconds since the epoch. */
  sinceNanos?: bigint;
  timestamps?: boolean;
  /** Stop after this many bytes of output. */
  limitBytes?: number;
  /** Only this stream (kubectl never asks; the API has `stream` since 1.32 alpha). */
  stream?: 'stdout' | 'stderr' | 'All';
}

export interface LogEntry {
  timestamp: string;
  nanos: bigint;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  message: Buffer;
}

/** Nanoseconds since the epoch of an RFC 3339 timestamp with up to 9 fractional digits. */
export function rfc3339ToNanos(ts: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (!m) return undefined;
  const secondsMs = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(secondsMs)) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return BigInt(secondsMs) * 1_000_000n + BigInt(frac);
}

/** Parses one CRI log line (without its newline). */
export function parseCriLogLine(line: Buffer): LogEntry | undefined {
  const s1 = line.indexOf(0x20);
  if (s1 < 0) return undefined;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  let s3 = line.indexOf(0x20, s2 + 1);
  if (s3 < 0) s3 = line.length; // empty message without the separating space
  const timestamp = line.toString('latin1', 0, s1);
  const stream = line.toString('latin1', s1 + 1, s2);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tags = line.toString('latin1', s2 + 1, s3).split(':');
  const nanos = rfc3339ToNanos(timestamp);
  if (nanos === undefined) return undefined;
  return {
    timestamp,
    nanos,
    stream,
    partial: tags[0] === 'P',
    message: line.subarray(Math.min(s3 + 1, line.length)),
  };
}

/** The output bytes for an entry: message (+ newline unless partial), with an optional timestamp prefix. */
export function formatEntry(e: LogEntry, timestamps: boolean): Buffer {
  const parts: Buffer[] = [];
  if (timestamps) parts.push(Buffer.from(`${e.timestamp} `, 'latin1'));
  parts.push(e.message);
  if (!e.partial) parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

/** Byte offset where the last `n` lines of `buf` start. */
export function tailStart(buf: Buffer, n: number): number {
  if (n <= 0) return buf.length;
  let end = buf.length;
  // A trailing newline ends the last line; it does not start another.
  if (end > 0 && buf[end - 1] === 0x0a) end--;
  let count = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (buf[i] === 0x0a) {
      count++;
      if (count === n) return i + 1;
    }
  }
  return 0;
}

export interface FollowControl {
  /** Whether the container still runs (checked when the file stops growing). */
  isRunning: () => Promise<boolean>;
  /** Abort (client went away). */
  signal?: AbortSignal;
  /** How often to re-check the file while following (ms). */
  pollMs?: number;
}

/**
 * Writes the log of one container instance (its CRI log file) to `out`,
 * applying the options. Resolves when done (at EOF, or, when following, once
 * the container stopped and the file is drained, or on abort).
 */
export async function writeContainerLog(path: string, opts: LogOptions, out: Writable, follow?: FollowControl): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      // No output yet (or the file is gone): nothing to show unless following.
      if (!opts.follow || !follow) return;
      fd = await waitForFile(path, follow);
      if (fd < 0) return;
    } else {
      throw err;
    }
  }
  let watcher: FSWatcher | undefined;
  try {
    let remaining = opts.limitBytes && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
    let position = 0;
    let pending: Buffer = Buffer.alloc(0);
    const wantStream = opts.stream && opts.stream !== 'All' ? opts.stream : undefined;

    const emit = async (line: Buffer): Promise<boolean> => {
      const e = parseCriLogLine(line);
      if (!e) return true;
      if (opts.sinceNanos !== undefined && e.nanos < opts.sinceNanos) return true;
      if (wantStream && e.stream !== wantStream) return true;
      let chunk = formatEntry(e, !!opts.timestamps);
      if (chunk.length > remaining) chunk = chunk.subarray(0, remaining);
      remaining -= chunk.length;
      if (chunk.length > 0 && !out.write(chunk)) await drained(out, follow?.signal);
      return remaining > 0;
    };

    const readAvailable = (): Buffer => {
      const size = fstatSync(fd).size;
      if (size < position) position = 0; // truncated: start over
      if (size === position) return Buffer.alloc(0);
      const buf = Buffer.allocUnsafe(size - position);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, position + got);
        if (n === 0) break;
        got += n;
      }
      position += got;
      return buf.subarray(0, got);
    };

    // Initial contents, with the tail applied to whole lines.
    let initial = readAvailable();
    if (opts.tailLines !== undefined && opts.tailLines >= 0) {
      const complete = initial.lastIndexOf(0x0a) + 1;
      const start = tailStart(initial.subarray(0, complete), opts.tailLines);
      initial = Buffer.concat([initial.subarray(start, complete), initial.subarray(complete)]);
    }
    const consume = async (data: Buffer): Promise<boolean> => {
      pending = pending.length ? Buffer.concat([pending, data]) : data;
      let start = 0;
      for (let nl = pending.indexOf(0x0a, start); nl >= 0; nl = pending.indexOf(0x0a, start)) {
        if (!(await emit(pending.subarray(start, nl)))) return false;
        start = nl + 1;
        if (follow?.signal?.aborted) return false;
      }
      pending = Buffer.from(pending.subarray(start));
      return true;
    };
    if (!(await consume(initial))) return;
    if (!opts.follow || !follow) return;

    // Follow: wake on file changes, poll as a fallback, stop once the container is gone.
    let wake: (() => void) | undefined;
    try {
      watcher = watch(path, () => wake?.());
      watcher.on('error', () => {});
    } catch {
      watcher = undefined;
    }
    const pollMs = follow.pollMs ?? 500;
    let idleChecks = 0;
    for (;;) {
      if (follow.signal?.aborted) return;
      const data = readAvailable();
      if (data.length > 0) {
        idleChecks = 0;
        if (!(await consume(data))) return;
        continue;
      }
      // Nothing new: is the container still there to write more?
      if (++idleChecks % 2 === 0 || idleChecks === 1) {
        let running = true;
        try {
          running = await follow.isRunning();
        } catch {
          running = false;
        }
        if (!running) {
          const last = readAvailable();
          if (last.length > 0) await consume(last);
          return;
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, pollMs);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          follow?.signal?.removeEventListener('abort', done);
          resolve();
        }
        wake = done;
        follow.signal?.addEventListener('abort', done);
      });
    }
  } finally {
    watcher?.close();
    closeSync(fd);
  }
}

function drained(out: Writable, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    out.once('drain', done);
    out.once('close', done);
    signal?.addEventListener('abort', done);
  });
}

async function waitForFile(path: string, follow: FollowControl): Promise<number> {
  for (;;) {
    if (follow.signal?.aborted) return -1;
    try {
      statSync(path);
      return openSync(path, 'r');
    } catch {
      // not there yet
    }
    let running: boolean;
    try {
      running = await follow.isRunning();
    } catch {
      running = false;
    }
    if (!running) return -1;
    await new Promise((r) => setTimeout(r, follow.pollMs ?? 500));
  }
}
