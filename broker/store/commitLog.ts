// The CommitLog: a queue of fixed-size segment files holding RocketMQ 4.x records.
//
// Append is synchronous: it assigns the physical offset, queue offset and store timestamp
// and encodes the record either into this turn's batch buffer (default) or into the
// segment's transientStorePool buffer. The batch is written with one write() after the
// event-loop turn; the pool buffer is written by the CommitRealTimeService. Either way, a
// record becomes visible to readers (ConsumeQueue, HA, pulls) only once it is committed,
// i.e. in the file. flush() fdatasyncs committed bytes.
import fs from 'node:fs';
import path from 'node:path';
import { childLogger } from '../../protocol/logger.js';
import { errnoCode, errorMessage, FlushbenchError } from '../../protocol/errors.js';
import { DispatchQueue } from './dispatchQueue.js';
import { type FileIo, fsyncDirectory, writeFully, writeFullySync } from './fileIo.js';
import type { ConsumeQueue } from './consumeQueue.js';
import {
  BLANK_MAGIC_CODE, END_FILE_MIN_BLANK_LENGTH, encodeMessage, type MessageToStore, measureMessage, MessageEncodingError, numericFieldProblem,
} from './messageCodec.js';
import { PUT_OK_SETTLED, type PutStatus } from './putStatus.js';
import { assertPositions, Segment } from './segment.js';
import { StoreMetrics } from './storeMetrics.js';
import type { TransientStorePool } from './transientStorePool.js';
import { PAGE_SIZE_BYTES } from './storeConfig.js';
import { RECORD_OVERHEAD_ALLOWANCE_BYTES } from './storeSettings.js';

const log = childLogger('commitlog');
const BATCH_BUFFER_BYTES = 256 * 1024;
/**
 * An fdatasync covering more than this keeps ext4's journal commit busy long enough (5–9 ms
 * measured for ASYNC_FLUSH's 500 ms of data) that a write started meanwhile waits for it.
 * Group-commit fsyncs (a few KiB) do not: writing synchronously through them measured faster.
 */
const LARGE_FLUSH_BYTES = 1024 * 1024;
/**
 * A synchronous write() slower than this stalled the event loop (dirty-page throttling, a
 * slow disk): later writes go through the thread pool for SLOW_WRITE_ASYNC_MS so the broker
 * keeps reading frames and can shed load (SYSTEM_BUSY) instead of going deaf.
 */
const SLOW_SYNC_WRITE_MS = 20;
const SLOW_WRITE_ASYNC_MS = 1000;

export interface AppendResult {
  status: PutStatus;
  physicalOffset: number;
  queueOffset: number;
  sizeBytes: number;
  storeTimestamp: number;
  /** Settles with PUT_OK once the flush policy holds, or with the failure status. */
  settled: Promise<PutStatus>;
  /** Human-readable reason for a failure status. */
  reason?: string;
}

interface Batch {
  segment: Segment;
  startPosition: number;
  buffer: Buffer;
  length: number;
  storeTimestampLast: number;
  messages: number;
  /** Ends with the blank filler: once written, the whole segment counts as committed. */
  endsSegment: boolean;
  settled: Promise<PutStatus>;
  resolve: (status: PutStatus) => void;
}

/** Decides when a written batch is acknowledged: ASYNC_FLUSH at once, SYNC_FLUSH after fsync. */
export type AckPolicy = (committedEndOffset: number, resolve: (status: PutStatus) => void) => void;

export class CommitLog {
  readonly segments: Segment[] = [];
  readonly metrics = new StoreMetrics();
  readonly dispatch = new DispatchQueue();
  /** Called after every commit with the new committed end (HA, long polling, flush wakeups). */
  readonly commitListeners: Array<(committedOffset: number) => void> = [];
  ackPolicy: AckPolicy = (_end, resolve) => resolve('PUT_OK');
  acceptingAppends = true;
  /** Called with an error that leaves the CommitLog unusable (the store then fails: MessageStore.failStore). */
  onFatal: (error: Error) => void = (error) => log.fatal({ err: errorMessage(error) }, 'CommitLog failed');
  /** Set once the store failed: no more writes or flushes. */
  private failure: Error | null = null;
  /** The batch a write pass is working on (answered if the pass throws). */
  private inFlight: Batch | null = null;

  private current: Batch | null = null;
  private readonly sealed: Batch[] = [];
  /** A write pass is scheduled for after this turn. */
  private writeScheduled = false;
  private readonly spareBuffers: Buffer[] = [];
  private flushing: Promise<boolean> | null = null;
  /** An fdatasync of more than LARGE_FLUSH_BYTES is running: batch writes avoid the event loop. */
  private largeFlushRunning = false;
  /** Until this time (performance.now()) writes avoid the event loop: a sync write was slow. */
  private asyncWritesUntilMs = 0;
  /**
   * When the write() in progress started (performance.now()), 0 if none: RocketMQ's
   * beginTimeInLock (CommitLog.java:680 in 4.9.7), the put lock being the copy into the page cache.
   */
  writeStartedMs = 0;
  /** Called when a write pass finished and nothing waits to be written (admits queued sends). */
  onWritesIdle: () => void = () => {};

  constructor(
    readonly io: FileIo,
    readonly dir: string,
    readonly segmentSizeBytes: number,
    readonly maxMessageSize: number,
    /** Present only when the transient store pool is in effect (ASYNC_FLUSH master). */
    readonly pool: TransientStorePool | null,
  ) {}

  /** The write pass, bound once: any throw in it fails the store instead of escaping as an unhandled rejection. */
  private readonly runWriteBatches = (): void => {
    this.writeBatches().catch(this.onWritePassError);
  };

  private readonly onWritePassError = (error: unknown): void => {
    this.writeScheduled = false;
    this.onFatal(error instanceof Error ? error : new Error(String(error)));
  };

  /**
   * Stops writes and flushes for good (called by MessageStore.failStore): batches not yet
   * written answer SERVICE_NOT_AVAILABLE; nothing is rolled back, reads go on.
   */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.acceptingAppends = false;
    const pending = [...this.sealed.splice(0), ...(this.current ? [this.current] : []), ...(this.inFlight ? [this.inFlight] : [])];
    this.current = null;
    this.inFlight = null;
    for (const batch of pending) batch.resolve('SERVICE_NOT_AVAILABLE');
  }

  get minOffset(): number {
    return this.segments[0]?.fileFromOffset ?? 0;
  }

  /** End of the data handed to appends. */
  get maxWroteOffset(): number {
    const last = this.segments.at(-1);
    return last ? last.fileFromOffset + last.wrotePosition : 0;
  }

  /** End of the data in the file: what readers and slaves may see. */
  get maxCommittedOffset(): number {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const segment = this.segments[i];
      if (segment.committedPosition > 0 || i === 0) return segment.fileFromOffset + segment.committedPosition;
    }
    return 0;
  }

  get flushedOffset(): number {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const segment = this.segments[i];
      if (segment.flushedPosition > 0 || i === 0) return segment.fileFromOffset + segment.flushedPosition;
    }
    return 0;
  }

  /** Writes should go through the thread pool now (large fdatasync running, or a recent slow write). */
  get writesAvoidEventLoop(): boolean {
    return this.largeFlushRunning || (this.asyncWritesUntilMs !== 0 && performance.now() < this.asyncWritesUntilMs);
  }

  /** A write() has been in progress since writeStartedMs (the broker then queues new sends). */
  get writeInProgress(): boolean {
    return this.writeStartedMs !== 0;
  }

  /** Opens a new segment at the end of the queue (synchronous; once per segment). */
  private rollSegment(): Segment {
    const last = this.segments.at(-1);
    const segment = Segment.openSync(this.io, this.dir, last ? last.endOffset : 0, this.segmentSizeBytes);
    fsyncDirectory(this.io, this.dir); // the new file's entry must survive a power cut that its fsynced data survives
    if (this.pool) segment.poolBuffer = this.pool.borrow();
    this.segments.push(segment);
    return segment;
  }

  /** Slave: opens the segment that starts at `fileFromOffset` (must follow the last one). */
  rollSegmentAt(fileFromOffset: number): Segment {
    const last = this.segments.at(-1);
    if ((last && last.endOffset !== fileFromOffset) || fileFromOffset % this.segmentSizeBytes !== 0) {
      throw new Error(`cannot open a segment at ${fileFromOffset}: it must follow ${last?.endOffset ?? 'nothing'} on a ${this.segmentSizeBytes}-byte boundary`);
    }
    const segment = Segment.openSync(this.io, this.dir, fileFromOffset, this.segmentSizeBytes);
    fsyncDirectory(this.io, this.dir);
    this.segments.push(segment);
    return segment;
  }

  /** The segment appends go to, rolling when the current one is full. */
  private writableSegment(): Segment {
    const last = this.segments.at(-1);
    return last && !last.isFull ? last : this.rollSegment();
  }

  /**
   * `deliverAfterMs` ≥ 0 makes the ConsumeQueue tag code storeTimestamp + deliverAfterMs instead
   * of `tagsCode` (SCHEDULE_TOPIC_XXXX: the deliver time, known only once the timestamp is set).
   */
  append(message: MessageToStore, queue: ConsumeQueue, tagsCode: number, deliverAfterMs = -1): AppendResult {
    if (!this.acceptingAppends) return failed('SERVICE_NOT_AVAILABLE', this.failure ? `the store failed: ${this.failure.message}` : 'the store is shutting down or read-only');
    // Every number is checked before any offset is assigned: an encode error must not leave a queue-offset hole.
    const numberProblem = numericFieldProblem(message);
    if (numberProblem !== null) return failed('MESSAGE_ILLEGAL', numberProblem);
    if (message.body.length > this.maxMessageSize) {
      return failed('MESSAGE_ILLEGAL', `message body is ${message.body.length} bytes; maxMessageSize is ${this.maxMessageSize}`);
    }
    let lengths;
    try {
      lengths = measureMessage(message);
    } catch (error) {
      if (!(error instanceof MessageEncodingError)) throw error;
      return failed(error.reason === 'PROPERTIES_TOO_LONG' ? 'PROPERTIES_SIZE_EXCEEDED' : 'MESSAGE_ILLEGAL', error.message);
    }
    const size = lengths.totalBytes;
    if (size > this.maxMessageSize + RECORD_OVERHEAD_ALLOWANCE_BYTES || size + END_FILE_MIN_BLANK_LENGTH > this.segmentSizeBytes) {
      return failed('MESSAGE_ILLEGAL', `record is ${size} bytes, too large for maxMessageSize ${this.maxMessageSize} / segment ${this.segmentSizeBytes}`);
    }
    let segment: Segment;
    try {
      segment = this.writableSegment();
      if (size + END_FILE_MIN_BLANK_LENGTH > segment.freeBytes) {
        this.appendBlankFiller(segment);
        segment = this.rollSegment();
      }
    } catch (error) {
      log.error({ err: errorMessage(error) }, 'cannot create a CommitLog segment');
      return failed('CREATE_MAPEDFILE_FAILED', `cannot create a CommitLog segment in ${this.dir}: ${errorMessage(error)}`);
    }
    const position = segment.wrotePosition;
    const physicalOffset = segment.fileFromOffset + position;
    const queueOffset = queue.nextAssignOffset++;
    const storeTimestamp = Date.now();
    let settled: Promise<PutStatus>;
    try {
      if (segment.poolBuffer) {
        encodeMessage(segment.poolBuffer, position, message, lengths, queueOffset, physicalOffset, storeTimestamp);
        segment.poolStoreTimestampLast = storeTimestamp;
        settled = PUT_OK_SETTLED; // RocketMQ acks pool-mode ASYNC_FLUSH right after the in-memory append.
      } else {
        const batch = this.batchFor(segment, size);
        encodeMessage(batch.buffer, batch.length, message, lengths, queueOffset, physicalOffset, storeTimestamp);
        batch.length += size;
        batch.messages++;
        batch.storeTimestampLast = storeTimestamp;
        settled = batch.settled;
      }
    } catch (error) {
      // Defence in depth behind numericFieldProblem: give the queue offset back (nothing else moved yet).
      queue.nextAssignOffset = queueOffset;
      return failed('MESSAGE_ILLEGAL', `cannot encode the message: ${errorMessage(error)}`);
    }
    segment.wrotePosition = position + size;
    assertPositions(segment);
    this.dispatch.push(queue, physicalOffset, size, deliverAfterMs >= 0 ? storeTimestamp + deliverAfterMs : tagsCode, queueOffset);
    this.metrics.messagesAppended++;
    this.metrics.bytesAppended += size;
    return { status: 'PUT_OK', physicalOffset, queueOffset, sizeBytes: size, storeTimestamp, settled };
  }

  /** Marks the rest of the segment unused: int32 free length + int32 blank magic. */
  private appendBlankFiller(segment: Segment): void {
    const free = segment.freeBytes;
    if (segment.poolBuffer) {
      segment.poolBuffer.writeInt32BE(free, segment.wrotePosition);
      segment.poolBuffer.writeInt32BE(BLANK_MAGIC_CODE, segment.wrotePosition + 4);
    } else {
      const batch = this.batchFor(segment, END_FILE_MIN_BLANK_LENGTH);
      batch.buffer.writeInt32BE(free, batch.length);
      batch.buffer.writeInt32BE(BLANK_MAGIC_CODE, batch.length + 4);
      batch.length += END_FILE_MIN_BLANK_LENGTH;
      batch.endsSegment = true;
    }
    segment.wrotePosition = segment.sizeBytes;
  }

  private batchFor(segment: Segment, bytesNeeded: number): Batch {
    const current = this.current;
    if (current && current.segment === segment && current.length + bytesNeeded <= current.buffer.length) return current;
    if (current) this.sealed.push(current);
    let resolve!: (status: PutStatus) => void;
    const settled = new Promise<PutStatus>((r) => (resolve = r));
    const buffer = bytesNeeded <= BATCH_BUFFER_BYTES ? (this.spareBuffers.pop() ?? Buffer.allocUnsafe(BATCH_BUFFER_BYTES)) : Buffer.allocUnsafe(bytesNeeded);
    this.current = { segment, startPosition: segment.wrotePosition, buffer, length: 0, storeTimestampLast: 0, messages: 0, endsSegment: false, settled, resolve };
    if (!this.writeScheduled) {
      this.writeScheduled = true;
      setImmediate(this.runWriteBatches);
    }
    return this.current;
  }

  /**
   * Writes sealed batches, then the current one, one write() per batch. The write is normally
   * synchronous, like RocketMQ's copy into the mapped segment on the sending thread: it only
   * reaches the page cache (tens of microseconds for a turn's batch), while a thread-pool round
   * trip per batch would idle the event loop between turns (bench:store ASYNC: 230k → 335k
   * msgs/s). While a large fdatasync is running, a write can wait for ext4's journal commit
   * (5–9 ms measured under bench:remoting, every one of them during a flush), so then it goes
   * through the thread pool instead. fdatasync itself never runs on the event loop.
   */
  private async writeBatches(): Promise<void> {
    for (;;) {
      if (this.failure) break;
      if (this.sealed.length === 0 && this.current) {
        this.sealed.push(this.current);
        this.current = null;
      }
      const batch = this.sealed.shift();
      if (!batch) break;
      this.inFlight = batch;
      try {
        if (this.writesAvoidEventLoop) {
          this.writeStartedMs = performance.now();
          await writeFully(this.io, batch.segment.fd, batch.buffer, 0, batch.length, batch.startPosition);
        } else {
          const startedMs = performance.now();
          writeFullySync(this.io, batch.segment.fd, batch.buffer, batch.length, batch.startPosition);
          if (performance.now() - startedMs > SLOW_SYNC_WRITE_MS) this.asyncWritesUntilMs = performance.now() + SLOW_WRITE_ASYNC_MS;
        }
      } catch (error) {
        this.failFrom(batch, error);
        continue;
      } finally {
        this.writeStartedMs = 0;
      }
      const segment = batch.segment;
      // A full segment is committed to its end (the tail after the blank marker is part of
      // the log, as in RocketMQ, so HA streams it and readers move on to the next segment).
      segment.committedPosition = batch.endsSegment ? segment.sizeBytes : batch.startPosition + batch.length;
      assertPositions(segment);
      if (batch.storeTimestampLast) segment.lastCommittedStoreTimestamp = batch.storeTimestampLast;
      if (batch.buffer.length === BATCH_BUFFER_BYTES && this.spareBuffers.length < 4) this.spareBuffers.push(batch.buffer);
      this.metrics.messagesCommitted += batch.messages;
      this.onCommitted();
      if (batch.messages > 0) this.ackPolicy(segment.fileFromOffset + segment.committedPosition, batch.resolve);
      else batch.resolve('PUT_OK');
      this.inFlight = null;
    }
    this.writeScheduled = false;
    this.onWritesIdle();
  }

  /** A write failed: fail this batch and every later one, and roll offsets back to its start. */
  private failFrom(batch: Batch, error: unknown): void {
    const code = errnoCode(error) ?? 'EIO';
    this.metrics.writeFailures++;
    this.metrics.lastWriteError = `${code}: ${errorMessage(error)}`;
    log.error({ err: this.metrics.lastWriteError, segment: batch.segment.filePath }, 'CommitLog write failed; failing the affected appends');
    const failed = [batch, ...this.sealed.splice(0), ...(this.current ? [this.current] : [])];
    this.current = null;
    this.inFlight = null;
    const rollbackOffset = batch.segment.fileFromOffset + batch.startPosition;
    this.dispatch.rollbackFrom(rollbackOffset);
    while (this.segments.length > 0 && this.segments[this.segments.length - 1] !== batch.segment) {
      const dropped = this.segments.pop() as Segment;
      dropped.close().catch((error: unknown) => log.warn({ err: errorMessage(error), segment: dropped.filePath }, 'closing a dropped segment failed'));
      fs.rmSync(dropped.filePath, { force: true });
    }
    batch.segment.wrotePosition = batch.startPosition;
    assertPositions(batch.segment);
    for (const each of failed) {
      this.metrics.messagesAppended -= each.messages;
      each.resolve('IO_ERROR');
    }
  }

  private onCommitted(): void {
    const committed = this.maxCommittedOffset;
    this.dispatch.dispatchUpTo(committed);
    for (const listener of this.commitListeners) listener(committed);
  }

  /** Transient pool: writes [committed, wrote) of pool buffers to their files (CommitRealTimeService). */
  async commitPool(leastPages: number): Promise<boolean> {
    let committedAny = false;
    for (const segment of this.segments) {
      if (this.failure) break;
      const buffer = segment.poolBuffer;
      if (!buffer || segment.committedPosition === segment.wrotePosition) continue;
      if (!segment.isFull && !enoughPages(segment.wrotePosition, segment.committedPosition, leastPages)) break;
      const from = segment.committedPosition;
      const to = segment.wrotePosition;
      const timestamp = segment.poolStoreTimestampLast;
      try {
        await writeFully(this.io, segment.fd, buffer, from, to - from, from);
      } catch (error) {
        this.metrics.writeFailures++;
        this.metrics.lastWriteError = `${errnoCode(error) ?? 'EIO'}: ${errorMessage(error)}`;
        log.error({ err: this.metrics.lastWriteError }, 'transient pool commit failed; will retry');
        return committedAny;
      }
      segment.committedPosition = to;
      assertPositions(segment);
      segment.lastCommittedStoreTimestamp = timestamp;
      committedAny = true;
      this.onCommitted();
      this.metrics.messagesCommitted = this.metrics.messagesAppended - this.dispatch.length;
      if (segment.isFull && segment.committedPosition === segment.sizeBytes) {
        this.pool?.giveBack(buffer);
        segment.poolBuffer = null;
      }
    }
    return committedAny;
  }

  /**
   * fdatasync every segment whose committed-but-unflushed span passes the page test
   * (leastPages 0 = any byte). One flush at a time; concurrent callers share it.
   */
  flush(leastPages: number): Promise<boolean> {
    if (this.flushing) return this.flushing.then(() => this.flush(leastPages));
    this.flushing = this.doFlush(leastPages).finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async doFlush(leastPages: number): Promise<boolean> {
    let flushedAny = false;
    for (const segment of this.segments) {
      // After a failed fdatasync a later one may "succeed" with the data gone (fsyncgate): never flush again.
      if (this.failure) return flushedAny;
      if (segment.flushedPosition === segment.committedPosition) continue;
      if (!segment.isFull && !enoughPages(segment.committedPosition, segment.flushedPosition, leastPages)) break;
      const target = segment.committedPosition;
      const messagesCovered = this.metrics.messagesCommitted;
      const startedMs = performance.now();
      this.largeFlushRunning = target - segment.flushedPosition > LARGE_FLUSH_BYTES;
      try {
        await this.io.fdatasync(segment.fd);
      } catch (error) {
        this.metrics.flushFailedTimes++;
        const code = errnoCode(error) ?? 'EIO';
        log.error({ err: errorMessage(error), segment: segment.filePath }, 'fdatasync failed; data stays unflushed');
        this.onFatal(new FlushbenchError('FSYNC_FAILED',
          `fdatasync of ${segment.filePath} failed (${code}: ${errorMessage(error)}); bytes written since the last good flush may be lost and a retry ` +
          'cannot tell (Linux reports the error once). The store stops accepting writes (fsyncErrorPolicy=fail-store); check the disk and restart the broker.', { cause: error }));
        return flushedAny;
      } finally {
        this.largeFlushRunning = false;
      }
      this.metrics.fsyncLatency.record(performance.now() - startedMs);
      this.metrics.fsyncCount++;
      this.metrics.messagesFlushed = messagesCovered;
      segment.flushedPosition = Math.max(segment.flushedPosition, target);
      assertPositions(segment);
      segment.lastFlushedStoreTimestamp = segment.lastCommittedStoreTimestamp;
      flushedAny = true;
    }
    return flushedAny;
  }

  /** Store timestamp of the newest flushed record (checkpoint physicMsgTimestamp). */
  get lastFlushedStoreTimestamp(): number {
    let newest = 0;
    for (const segment of this.segments) newest = Math.max(newest, segment.lastFlushedStoreTimestamp);
    return newest;
  }

  findSegment(physicalOffset: number): Segment | undefined {
    const first = this.segments[0];
    if (!first || physicalOffset < first.fileFromOffset) return undefined;
    return this.segments[Math.floor((physicalOffset - first.fileFromOffset) / this.segmentSizeBytes)];
  }

  /** Where a read of committed bytes at `physicalOffset` lands, clipped to its segment. */
  private committedSpan(physicalOffset: number, maxBytes: number): { segment: Segment; position: number; length: number } | null {
    const segment = this.findSegment(physicalOffset);
    if (!segment) return null;
    const position = physicalOffset - segment.fileFromOffset;
    const length = Math.min(maxBytes, segment.committedPosition - position);
    return length > 0 ? { segment, position, length } : null;
  }

  /**
   * Reads committed bytes [physicalOffset, physicalOffset + maxBytes) without crossing a
   * segment end. Returns null when nothing committed is there. Synchronous page-cache read.
   */
  readCommittedSync(physicalOffset: number, maxBytes: number): Buffer | null {
    const span = this.committedSpan(physicalOffset, maxBytes);
    if (!span) return null;
    const out = Buffer.allocUnsafe(span.length);
    const read = this.io.readSync(span.segment.fd, out, 0, span.length, span.position);
    return read === span.length ? out : out.subarray(0, read);
  }

  /** Asynchronous variant of readCommittedSync (HA transfer reads up to 32 KiB at a time). */
  async readCommitted(physicalOffset: number, maxBytes: number): Promise<Buffer | null> {
    const span = this.committedSpan(physicalOffset, maxBytes);
    if (!span) return null;
    const out = Buffer.allocUnsafe(span.length);
    const read = await this.io.read(span.segment.fd, out, 0, span.length, span.position);
    return read === span.length ? out : out.subarray(0, read);
  }

  /** Whether an append is waiting to be written (used by shutdown to drain). */
  get hasPendingWrites(): boolean {
    return this.writeScheduled || this.current !== null || this.sealed.length > 0;
  }

  async close(): Promise<void> {
    for (const segment of this.segments) {
      if (segment.poolBuffer) this.pool?.giveBack(segment.poolBuffer);
      segment.poolBuffer = null;
      await segment.close();
    }
    this.segments.length = 0;
  }

  /** Lists segment files on disk, sorted by start offset. */
  static listSegmentFiles(dir: string): Array<{ name: string; fileFromOffset: number; sizeBytes: number }> {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir)
      .filter((name) => /^\d{20}$/.test(name))
      .sort()
      .map((name) => ({ name, fileFromOffset: Number(name), sizeBytes: fs.statSync(path.join(dir, name)).size }));
  }
}

/** RocketMQ's page test: floor(write/4096) − floor(flushed/4096) ≥ leastPages, or any byte for 0. */
export function enoughPages(writePosition: number, donePosition: number, leastPages: number): boolean {
  if (leastPages > 0) return Math.floor(writePosition / PAGE_SIZE_BYTES) - Math.floor(donePosition / PAGE_SIZE_BYTES) >= leastPages;
  return writePosition > donePosition;
}

function failed(status: PutStatus, reason: string): AppendResult {
  return { status, physicalOffset: -1, queueOffset: -1, sizeBytes: 0, storeTimestamp: 0, settled: Promise.resolve(status), reason };
}
