// SLAVE side of the store: appends the master's CommitLog bytes, then builds ConsumeQueue
// entries later, in RocketMQ's order. DefaultMessageStore.appendToCommitLog (rocketmq-all-4.9.7
// DefaultMessageStore.java) copies the bytes into the mapped file and only wakes the
// ReputMessageService; HAClient reports the new offset right after the copy
// (HAService.java:458-463). Here the copy is a synchronous write() into the page cache, and
// the ConsumeQueue dispatch (a decode of every record) runs in a later event-loop turn.
//
// Crash safety is unchanged: the reported offset is what write() put in the page cache, as
// before; ConsumeQueue entries are made only for bytes in the file, and recovery rebuilds
// them from the CommitLog (FORMAT.md, recovery rule 5).
import { FlushbenchError } from '../../protocol/errors.js';
import type { CommitLog } from './commitLog.js';
import type { ConsumeQueueStore } from './consumeQueueStore.js';
import { type FileIo, writeFully, writeFullySync } from './fileIo.js';
import { storeTimestampOf } from './messageCodec.js';
import { dispatchRecord, scanRecords } from './recovery.js';
import { assertPositions } from './segment.js';

export class ReplicaAppender {
  /** CommitLog offset up to which records were turned into ConsumeQueue entries. */
  dispatchedOffset = 0;
  /** Called after each deferred dispatch round (long polling, flush wake-ups). */
  onDispatched: (committedOffset: number) => void = () => {};
  private dispatchScheduled = false;
  private stopped = false;

  constructor(
    private readonly commitLog: CommitLog,
    private readonly queues: ConsumeQueueStore,
    private readonly io: FileIo,
    private readonly segmentSizeBytes: number,
    private readonly delayLevelsMs: readonly number[],
  ) {}

  /**
   * Appends `data` at `physicalOffset`, which must be the local end (never a gap). The write is
   * synchronous (a page-cache copy, like RocketMQ's mmap) unless a large fdatasync is running,
   * when ext4 may make it wait; then it goes through the thread pool.
   */
  async append(physicalOffset: number, data: Buffer): Promise<void> {
    const commitLog = this.commitLog;
    const empty = commitLog.segments.length === 0;
    if (empty && physicalOffset % this.segmentSizeBytes !== 0) {
      throw new FlushbenchError('HA_OFFSET_MISMATCH', `an empty slave can only start at a segment boundary, master sent ${physicalOffset}`);
    }
    if (empty) this.dispatchedOffset = physicalOffset;
    const end = empty ? physicalOffset : commitLog.maxCommittedOffset;
    if (physicalOffset !== end) {
      throw new FlushbenchError('HA_OFFSET_MISMATCH', `master sent data at ${physicalOffset} but the local CommitLog ends at ${end}`);
    }
    let written = 0;
    while (written < data.length) {
      const offset = physicalOffset + written;
      const segment = commitLog.findSegment(offset) ?? commitLog.rollSegmentAt(offset);
      const position = offset - segment.fileFromOffset;
      const length = Math.min(data.length - written, segment.sizeBytes - position);
      if (commitLog.writesAvoidEventLoop) await writeFully(this.io, segment.fd, data, written, length, position);
      else writeFullySync(this.io, segment.fd, data.subarray(written, written + length), length, position);
      segment.wrotePosition = segment.committedPosition = position + length;
      assertPositions(segment);
      written += length;
    }
    this.scheduleDispatch();
  }

  /** ReputMessageService: decode the new records into ConsumeQueue entries in a later turn. */
  private scheduleDispatch(): void {
    if (this.dispatchScheduled || this.stopped) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      if (this.stopped) return;
      this.dispatchNow();
    });
  }

  /** Dispatches every complete record written so far (a record split across frames waits for its rest). */
  dispatchNow(): void {
    const commitLog = this.commitLog;
    const scan = scanRecords(commitLog, this.dispatchedOffset, false, (chunk, at, physicalOffset, size) => {
      dispatchRecord(this.queues, chunk, at, physicalOffset, size, this.delayLevelsMs);
      const segment = commitLog.findSegment(physicalOffset);
      if (segment) segment.lastCommittedStoreTimestamp = storeTimestampOf(chunk, at);
      commitLog.metrics.messagesAppended++;
      commitLog.metrics.messagesCommitted++;
    }, commitLog.maxCommittedOffset);
    this.dispatchedOffset = scan.endOffset;
    this.onDispatched(commitLog.maxCommittedOffset);
  }

  /** Shutdown or crash: no more deferred rounds. */
  stop(): void {
    this.stopped = true;
  }
}
