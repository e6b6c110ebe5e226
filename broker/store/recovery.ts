// Start-up recovery (CommitLog.recoverNormally / recoverAbnormally). Rules in FORMAT.md:
//  - every segment but the last must be exactly mappedFileSizeCommitLog bytes (else refuse to
//    start, data untouched); a short last segment (torn creation) is extended;
//  - clean stop (no `abort` file): scan from the 3rd-last segment; crash: scan from the newest
//    segment whose first record is older than the checkpoint's minTimestamp;
//  - validate magic, length and CRC; stop at the first invalid record: that is the end.
//    Bytes past the end are copied to recovery-trash/ and zeroed, later segments moved there;
//  - ConsumeQueues are trimmed to the end and rebuilt from the CommitLog where they lag
//    (records with an invalid topic name or an implausible queue offset are left out, logged).
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError } from '../../protocol/errors.js';
import { childLogger } from '../../protocol/logger.js';
import type { Checkpoint } from './checkpoint.js';
import { CommitLog } from './commitLog.js';
import { type ConsumeQueueStore, isValidTopicName } from './consumeQueueStore.js';
import { fdatasyncNow } from './fileIo.js';
import {
  checkRecord, MESSAGE_MAGIC_CODE, RecordField, readInt64, storeTimestampOf, decodeMessage,
} from './messageCodec.js';
import { consumeQueueTagsCode } from './delayLevels.js';
import { Segment } from './segment.js';

const log = childLogger('recovery');
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;
/** At most this much of a discarded tail is copied to recovery-trash/ for inspection. */
const TRASH_TAIL_BYTES_MAX = 64 * 1024 * 1024;

export interface RecoveryReport {
  mode: 'fresh' | 'normal' | 'abnormal';
  segments: number;
  scannedFromOffset: number;
  validEndOffset: number;
  /** Bytes after the valid end that looked like data (moved to recovery-trash/). */
  discardedBytes: number;
  stopReason: string | null;
  redispatchedRecords: number;
  /** Valid records left out of the ConsumeQueues (invalid topic name, implausible queue offset). */
  skippedRecords: number;
}

/** Opens every segment file, checking sizes and continuity first so bad input changes nothing. */
function openSegments(commitLog: CommitLog): void {
  const files = CommitLog.listSegmentFiles(commitLog.dir);
  const size = commitLog.segmentSizeBytes;
  files.forEach((file, i) => {
    const last = i === files.length - 1;
    if (file.sizeBytes !== size && !(last && file.sizeBytes < size)) {
      throw new FlushbenchError('SEGMENT_SIZE_MISMATCH',
        `CommitLog segment ${path.join(commitLog.dir, file.name)} is ${file.sizeBytes} bytes but mappedFileSizeCommitLog is ${size}. ` +
        'Start the broker with the segment size this store was written with; nothing was changed.');
    }
    if (i > 0 && file.fileFromOffset !== files[i - 1].fileFromOffset + size) {
      throw new FlushbenchError('SEGMENT_GAP', `CommitLog segment ${file.name} does not follow ${files[i - 1].name}; a segment file is missing. Nothing was changed.`);
    }
  });
  for (const file of files) commitLog.segments.push(Segment.openSync(commitLog.io, commitLog.dir, file.fileFromOffset, size));
}

/**
 * Walks records from `fromOffset`; calls onRecord for each valid message; returns where it
 * stopped. With `limitOffset` (a slave's written end) nothing at or past it is read: a record
 * crossing it ends the scan with stopReason null, so a later call resumes there.
 */
export function scanRecords(
  commitLog: CommitLog,
  fromOffset: number,
  checkCrc: boolean,
  onRecord: (chunk: Buffer, at: number, physicalOffset: number, size: number) => void,
  limitOffset = Number.POSITIVE_INFINITY,
): { endOffset: number; stopReason: string | null } {
  let offset = fromOffset;
  for (let s = commitLog.segments.findIndex((seg) => seg.endOffset > fromOffset); s >= 0 && s < commitLog.segments.length; s++) {
    const segment = commitLog.segments[s];
    let position = offset - segment.fileFromOffset;
    const limit = Math.min(segment.sizeBytes, limitOffset - segment.fileFromOffset);
    let chunk = Buffer.alloc(0);
    let chunkStart = position;
    for (;;) {
      if (limit < segment.sizeBytes && limit - position < 8) return { endOffset: segment.fileFromOffset + position, stopReason: null };
      if (segment.sizeBytes - position < 8) return { endOffset: segment.fileFromOffset + position, stopReason: 'segment ended without a blank marker' };
      // Make sure the chunk holds the 8-byte header, then the whole record.
      let need = 8;
      for (let pass = 0; pass < 2; pass++) {
        if (position + need > chunkStart + chunk.length) {
          const length = Math.min(limit - position, Math.max(SCAN_CHUNK_BYTES, need));
          chunk = Buffer.alloc(length);
          commitLog.io.readSync(segment.fd, chunk, 0, length, position);
          chunkStart = position;
        }
        const declared = chunk.readInt32BE(position - chunkStart);
        const magic = chunk.readInt32BE(position - chunkStart + 4);
        if (magic !== MESSAGE_MAGIC_CODE || declared <= 8 || position + declared > segment.sizeBytes) break;
        if (position + declared > limit) return { endOffset: segment.fileFromOffset + position, stopReason: null };
        need = declared;
      }
      const at = position - chunkStart;
      const check = checkRecord(chunk, at, Math.min(chunk.length - at, limit - position), checkCrc);
      if (check.kind === 'invalid') return { endOffset: segment.fileFromOffset + position, stopReason: check.reason };
      if (check.kind === 'blank') break;
      onRecord(chunk, at, segment.fileFromOffset + position, check.size);
      position += check.size;
    }
    offset = segment.endOffset;
  }
  return { endOffset: offset, stopReason: null };
}

function firstRecordTimestamp(segment: Segment, io: CommitLog['io']): number | null {
  const head = Buffer.alloc(128);
  io.readSync(segment.fd, head, 0, head.length, 0);
  if (head.readInt32BE(4) !== MESSAGE_MAGIC_CODE) return null;
  return storeTimestampOf(head, 0);
}

/** Moves segments after the end to recovery-trash/, saves and zeroes the end segment's tail. */
function truncateAfter(commitLog: CommitLog, endOffset: number, trashDir: string): number {
  let discarded = 0;
  const keep = commitLog.segments.filter((s) => s.fileFromOffset <= endOffset);
  const drop = commitLog.segments.filter((s) => s.fileFromOffset > endOffset);
  for (const segment of drop) {
    fs.mkdirSync(trashDir, { recursive: true });
    void segment.close();
    fs.renameSync(segment.filePath, path.join(trashDir, path.basename(segment.filePath)));
    discarded += segment.sizeBytes;
  }
  commitLog.segments.length = 0;
  commitLog.segments.push(...keep);
  const last = keep.at(-1);
  if (!last) return discarded;
  const position = Math.min(endOffset - last.fileFromOffset, last.sizeBytes);
  for (const segment of keep) segment.resetPositions(segment === last ? position : segment.sizeBytes);
  if (position < last.sizeBytes) discarded += zeroTail(commitLog, last, position, trashDir);
  return discarded;
}

/**
 * Zeroes the end segment from `position` to its end, so no stale record behind a torn one can
 * come back, and fdatasyncs that. The first 64 MiB are copied to the trash first if any byte
 * there is non-zero (read in 4 MiB chunks). Zeroing is cut + re-extend (ftruncate): it reads
 * as zeros to the segment end at once, whatever the size, and leaves the file sparse.
 */
function zeroTail(commitLog: CommitLog, last: Segment, position: number, trashDir: string): number {
  const savedBytesMax = Math.min(last.sizeBytes - position, TRASH_TAIL_BYTES_MAX);
  const chunks: Buffer[] = [];
  let dataSeen = false;
  for (let at = 0; at < savedBytesMax; at += SCAN_CHUNK_BYTES) {
    const chunk = Buffer.alloc(Math.min(SCAN_CHUNK_BYTES, savedBytesMax - at));
    const read = commitLog.io.readSync(last.fd, chunk, 0, chunk.length, position + at);
    chunks.push(chunk.subarray(0, read));
    if (!dataSeen && chunk.some((b) => b !== 0)) dataSeen = true;
  }
  let saved = 0;
  if (dataSeen) {
    fs.mkdirSync(trashDir, { recursive: true });
    const tail = Buffer.concat(chunks);
    fs.writeFileSync(path.join(trashDir, `${path.basename(last.filePath)}.tail-from-${position}`), tail);
    saved = tail.length;
  }
  commitLog.io.ftruncateSync(last.fd, position);
  commitLog.io.ftruncateSync(last.fd, last.sizeBytes);
  fdatasyncNow(commitLog.io, last.fd);
  return saved;
}

export function recover(
  commitLog: CommitLog,
  queues: ConsumeQueueStore,
  checkpoint: Checkpoint,
  options: { abnormal: boolean; checkCrc: boolean; trashDir: string; delayLevelsMs: readonly number[] },
): RecoveryReport {
  openSegments(commitLog);
  queues.loadAll();
  const segments = commitLog.segments;
  if (segments.length === 0) {
    for (const queue of queues.all()) queue.truncateBeyond(0);
    return { mode: 'fresh', segments: 0, scannedFromOffset: 0, validEndOffset: 0, discardedBytes: 0, stopReason: null, redispatchedRecords: 0, skippedRecords: 0 };
  }
  let startIndex = Math.max(0, segments.length - 3);
  if (options.abnormal) {
    startIndex = 0;
    for (let i = segments.length - 1; i >= 0; i--) {
      const timestamp = firstRecordTimestamp(segments[i], commitLog.io);
      if (timestamp !== null && timestamp !== 0 && timestamp <= checkpoint.minTimestamp) {
        startIndex = i;
        break;
      }
    }
  }
  const scannedFromOffset = segments[startIndex].fileFromOffset;
  const scan = scanRecords(commitLog, scannedFromOffset, options.checkCrc, () => {});
  const discardedBytes = truncateAfter(commitLog, scan.endOffset, options.trashDir);
  if (discardedBytes > 0) log.warn({ endOffset: scan.endOffset, reason: scan.stopReason, discardedBytes, trash: options.trashDir }, 'CommitLog tail discarded by recovery');

  for (const queue of queues.all()) queue.truncateBeyond(scan.endOffset);
  let reputFrom = Math.max(commitLog.minOffset, queues.maxPhysicalEnd());
  if (options.abnormal) reputFrom = Math.min(reputFrom, scannedFromOffset);
  let redispatchedRecords = 0;
  let skippedRecords = 0;
  if (reputFrom < scan.endOffset) {
    scanRecords(commitLog, reputFrom, false, (chunk, at, physicalOffset, size) => {
      if (dispatchRecord(queues, chunk, at, physicalOffset, size, options.delayLevelsMs)) redispatchedRecords++;
      else skippedRecords++;
    });
  }
  if (skippedRecords > 0) log.warn({ skippedRecords }, 'recovery left records out of the ConsumeQueues (see the errors above)');
  const last = commitLog.segments.at(-1);
  if (last) last.lastCommittedStoreTimestamp = last.lastFlushedStoreTimestamp = checkpoint.physicMsgTimestamp;
  return {
    mode: options.abnormal ? 'abnormal' : 'normal',
    segments: commitLog.segments.length,
    scannedFromOffset,
    validEndOffset: scan.endOffset,
    discardedBytes,
    stopReason: scan.stopReason,
    redispatchedRecords,
    skippedRecords,
  };
}

/**
 * Turns one valid CommitLog record into its ConsumeQueue entry (recovery, slave replication).
 * A record whose topic is not a valid name (a CRC-valid record written by a broker without the
 * check) is left out with a warning instead of failing every start; returns whether it was added.
 */
export function dispatchRecord(queues: ConsumeQueueStore, chunk: Buffer, at: number, physicalOffset: number, size: number, delayLevelsMs: readonly number[]): boolean {
  const message = decodeMessage(chunk.subarray(at, at + size));
  if (!isValidTopicName(message.topic) || message.queueId < 0) {
    log.warn({ physicalOffset, topic: message.topic.slice(0, 140), queueId: message.queueId }, 'record with an invalid topic name or queue id left out of the ConsumeQueues');
    return false;
  }
  return queues.findOrCreate(message.topic, message.queueId)
    .putEntry(physicalOffset, size, consumeQueueTagsCode(message.topic, message.properties, message.storeTimestamp, delayLevelsMs),
      readInt64(chunk, at + RecordField.QUEUE_OFFSET));
}
