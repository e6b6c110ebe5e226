// The `checkpoint` file: 4 KiB, int64 physicMsgTimestamp @0, logicsMsgTimestamp @8,
// indexMsgTimestamp @16 (StoreCheckpoint). Abnormal recovery starts from the first CommitLog
// segment whose first record is older than min(physic, logics) − 3 s.
import fs from 'node:fs';
import { type FileIo, OPEN_READ_WRITE_CREATE, writeFully } from './fileIo.js';
import { readInt64, writeInt64 } from './messageCodec.js';

const CHECKPOINT_FILE_BYTES = 4096;
const RECOVERY_SAFETY_MARGIN_MS = 3000;

export class Checkpoint {
  physicMsgTimestamp = 0;
  logicsMsgTimestamp = 0;
  indexMsgTimestamp = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly buffer = Buffer.alloc(CHECKPOINT_FILE_BYTES);

  private constructor(private readonly io: FileIo, readonly filePath: string, private readonly fd: number) {}

  static open(io: FileIo, filePath: string): Checkpoint {
    const existed = fs.existsSync(filePath);
    const fd = io.openSync(filePath, OPEN_READ_WRITE_CREATE);
    const checkpoint = new Checkpoint(io, filePath, fd);
    if (existed) {
      const read = io.readSync(fd, checkpoint.buffer, 0, 24, 0);
      if (read === 24) {
        checkpoint.physicMsgTimestamp = readInt64(checkpoint.buffer, 0);
        checkpoint.logicsMsgTimestamp = readInt64(checkpoint.buffer, 8);
        checkpoint.indexMsgTimestamp = readInt64(checkpoint.buffer, 16);
      }
    }
    return checkpoint;
  }

  /** RocketMQ's getMinTimestamp: recovery may trust records older than this. */
  get minTimestamp(): number {
    return Math.max(0, Math.min(this.physicMsgTimestamp, this.logicsMsgTimestamp) - RECOVERY_SAFETY_MARGIN_MS);
  }

  /** Writes and fdatasyncs the current values; calls are serialized. */
  flush(): Promise<void> {
    this.writing = this.writing.then(async () => {
      writeInt64(this.buffer, 0, this.physicMsgTimestamp);
      writeInt64(this.buffer, 8, this.logicsMsgTimestamp);
      writeInt64(this.buffer, 16, this.indexMsgTimestamp);
      await writeFully(this.io, this.fd, this.buffer, 0, CHECKPOINT_FILE_BYTES, 0);
      await this.io.fdatasync(this.fd);
    });
    return this.writing;
  }

  async close(): Promise<void> {
    await this.writing.catch(() => {});
    await this.io.close(this.fd);
  }
}
