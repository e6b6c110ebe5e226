// One CommitLog (or ConsumeQueue) file of fixed size, named by its 20-digit start offset.
// Three positions, all relative to the file start, never move backwards except on rollback:
//   wrotePosition     bytes assigned to records (encoded, maybe not yet in the file)
//   committedPosition bytes handed to write(): in the OS page cache, visible to readers
//   flushedPosition   bytes covered by a completed fdatasync
import path from 'node:path';
import { FlushbenchError } from '../../protocol/errors.js';
import { type FileIo, OPEN_READ_WRITE_CREATE, segmentFileName } from './fileIo.js';

export class Segment {
  wrotePosition = 0;
  committedPosition = 0;
  flushedPosition = 0;
  /** Store timestamp of the last committed record, for the checkpoint. */
  lastCommittedStoreTimestamp = 0;
  /** Store timestamp of the last record covered by a completed fdatasync. */
  lastFlushedStoreTimestamp = 0;
  /** Store timestamp of the last record encoded into poolBuffer. */
  poolStoreTimestampLast = 0;
  /** transientStorePool buffer holding [committed, wrote) until the commit service writes it. */
  poolBuffer: Buffer | null = null;

  private constructor(
    readonly io: FileIo,
    readonly filePath: string,
    readonly fileFromOffset: number,
    readonly sizeBytes: number,
    readonly fd: number,
  ) {}

  /**
   * Opens (creating if needed) the segment and makes it exactly sizeBytes long (sparse, so a
   * full disk shows up as ENOSPC on write, not here). Synchronous: once per segment.
   */
  static openSync(io: FileIo, dir: string, fileFromOffset: number, sizeBytes: number): Segment {
    const filePath = path.join(dir, segmentFileName(fileFromOffset));
    const fd = io.openSync(filePath, OPEN_READ_WRITE_CREATE);
    try {
      io.ftruncateSync(fd, sizeBytes);
    } catch (error) {
      void io.close(fd);
      throw error;
    }
    return new Segment(io, filePath, fileFromOffset, sizeBytes, fd);
  }

  get freeBytes(): number {
    return this.sizeBytes - this.wrotePosition;
  }

  get isFull(): boolean {
    return this.wrotePosition === this.sizeBytes;
  }

  get endOffset(): number {
    return this.fileFromOffset + this.sizeBytes;
  }

  /** Sets all three positions, e.g. after recovery found the valid end. */
  resetPositions(position: number): void {
    this.wrotePosition = position;
    this.committedPosition = position;
    this.flushedPosition = position;
  }

  close(): Promise<void> {
    return this.io.close(this.fd);
  }
}

/** A segment's positions broke wrote ≥ committed ≥ flushed: a bug, never an I/O condition. */
export class StoreInvariantError extends FlushbenchError {
  constructor(message: string) {
    super('STORE_INVARIANT', `${message}; this is a bug in the store: restart the broker (recovery re-checks the log) and report it`);
  }
}

/** TigerStyle invariant at every position update: integer compares only (hot path). */
export function assertPositions(segment: Segment): void {
  const { wrotePosition, committedPosition, flushedPosition } = segment;
  if (wrotePosition >= committedPosition && committedPosition >= flushedPosition && flushedPosition >= 0 && wrotePosition <= segment.sizeBytes) return;
  throw new StoreInvariantError(`segment ${segment.filePath}: wrote ${wrotePosition} ≥ committed ${committedPosition} ≥ flushed ${flushedPosition} does not hold`);
}
