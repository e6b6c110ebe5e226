// The `checkpoint` file: 4 KiB, int64 physicMsgTimestamp @0, logicsMsgTimestamp @8,
// indexMsgTimestamp @16 (StoreCheckpoint). Abnormal recovery starts from the first CommitLog
// segment whose first record is older than min(physic, logics) − 3 s.
//
// RocketMQ rewrites its mmapped file in place and forces it. A crash during such a rewrite can
// leave a torn file, and without a checksum nobody can tell. We write the 4 KiB to
// `checkpoint.tmp`, fdatasync it, rename it over `checkpoint` and fsync the directory: after a
// crash the file holds either the old or the new values, never a mix. The file's bytes stay
// exactly RocketMQ's.
import fs from 'node:fs';
import path from 'node:path';
import { type FileIo, fsyncDirectory, writeFully } from './fileIo.js';
import { readInt64, writeInt64 } from './messageCodec.js';

const CHECKPOINT_FILE_BYTES = 4096;
const RECOVERY_SAFETY_MARGIN_MS = 3000;
const OPEN_WRITE_TRUNCATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC;

export class Checkpoint {
  physicMsgTimestamp = 0;
  logicsMsgTimestamp = 0;
  indexMsgTimestamp = 0;
  /** Number of completed writes (tests, metrics). */
  writes = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly buffer = Buffer.alloc(CHECKPOINT_FILE_BYTES);
  private written = { physic: -1, logics: -1, index: -1 };

  private constructor(private readonly io: FileIo, readonly filePath: string) {}

  static open(io: FileIo, filePath: string): Checkpoint {
    const checkpoint = new Checkpoint(io, filePath);
    fs.rmSync(`${filePath}.tmp`, { force: true }); // a write the last process did not finish
    if (fs.existsSync(filePath)) {
      const content = fs.readFileSync(filePath);
      if (content.length >= 24) {
        checkpoint.physicMsgTimestamp = readInt64(content, 0);
        checkpoint.logicsMsgTimestamp = readInt64(content, 8);
        checkpoint.indexMsgTimestamp = readInt64(content, 16);
      }
    }
    return checkpoint;
  }

  /** RocketMQ's getMinTimestamp: recovery may trust records older than this. */
  get minTimestamp(): number {
    return Math.max(0, Math.min(this.physicMsgTimestamp, this.logicsMsgTimestamp) - RECOVERY_SAFETY_MARGIN_MS);
  }

  get changed(): boolean {
    return this.physicMsgTimestamp !== this.written.physic || this.logicsMsgTimestamp !== this.written.logics || this.indexMsgTimestamp !== this.written.index;
  }

  /** Writes the current values atomically (tmp + fdatasync + rename + dir fsync); calls are serialized. */
  flush(): Promise<void> {
    const run = async () => {
      const values = { physic: this.physicMsgTimestamp, logics: this.logicsMsgTimestamp, index: this.indexMsgTimestamp };
      writeInt64(this.buffer, 0, values.physic);
      writeInt64(this.buffer, 8, values.logics);
      writeInt64(this.buffer, 16, values.index);
      const tmpPath = `${this.filePath}.tmp`;
      const fd = this.io.openSync(tmpPath, OPEN_WRITE_TRUNCATE);
      try {
        await writeFully(this.io, fd, this.buffer, 0, CHECKPOINT_FILE_BYTES, 0);
        await this.io.fdatasync(fd);
      } finally {
        await this.io.close(fd);
      }
      fs.renameSync(tmpPath, this.filePath);
      fsyncDirectory(this.io, path.dirname(this.filePath));
      this.written = values;
      this.writes++;
    };
    // A failed write does not block later ones; the caller of the failed one sees its error.
    const next = this.writing.catch(() => {}).then(run);
    this.writing = next;
    return next;
  }

  /** Flushes only when a value moved since the last write. */
  flushIfChanged(): Promise<void> {
    return this.changed ? this.flush() : this.writing.catch(() => {});
  }

  async close(): Promise<void> {
    await this.writing.catch(() => {});
  }
}
