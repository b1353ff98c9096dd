// The SQLite store's checkpointer thread: copies committed WAL frames into the database
// file (and fsyncs it) on its own connection, so the request thread never stops for
// that, as it does when SQLite checkpoints automatically inside a commit.
//
// Messages: `checkpoint` → a PASSIVE checkpoint (it never blocks the store's writer),
// answered with the WAL's frame count; `close` → the connection closes and the thread ends.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

export interface CheckpointerInit {
  file: string;
}

export type CheckpointerRequest = { op: 'checkpoint' } | { op: 'close' };

export interface CheckpointDone {
  /** Frames in the WAL when the checkpoint began, and how many of them are now in the database file. */
  walFrames: number;
  checkpointed: number;
}

const { file } = workerData as CheckpointerInit;
const db = new Database(file);
// NORMAL: a checkpoint fsyncs the WAL before copying it and the database file before the
// WAL may be reused, which is what keeps acknowledged writes durable across a restart.
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');

parentPort!.on('message', (req: CheckpointerRequest) => {
  if (req.op === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
  parentPort!.postMessage({ walFrames: row.log, checkpointed: row.checkpointed } satisfies CheckpointDone);
});
