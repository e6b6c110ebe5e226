// Start-up recovery (CommitLog.recoverNormally / recoverAbnormally). Rules in FORMAT.md:
//  - every segment but the last must be exactly mappedFileSizeCommitLog bytes (else refuse to
//    start, data untouched); a short last segment (torn creation) is extended;
//  - clean stop (no `abort` file): scan from the 3rd-last segment; crash: scan from the newest
//    segment whose first record is older than the checkpoint's minTimestamp;
//  - validate magic, length and CRC; stop at the first invalid record: that is the end.
//    Bytes past the end are copied to recovery-trash/ and zeroed, later segments moved there;
//  - ConsumeQueues are trimmed to the end and rebuilt from the CommitLog where they lag.
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError } from '../../protocol/errors.js';
import { childLogger } from '../../protocol/logger.js';
import type { Checkpoint } from './checkpoint.js';
import { CommitLog } from './commitLog.js';
import type { ConsumeQueueStore } from './consumeQueueStore.js';
import {
  checkRecord, MESSAGE_MAGIC_CODE, RecordField, readInt64, storeTimestampOf, decodeMessage,
} from './messageCodec.js';
import { consumeQueueTagsCode } from './delayLevels.js';
import { Segment } from './segment.js';

const log = childLogger('recovery');
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

export interface RecoveryReport {
  mode: 'fresh' | 'normal' | 'abnormal';
  segments: number;
  scannedFromOffset: number;
  validEndOffset: number;
  /** Bytes after the valid end that looked like data (moved to recovery-trash/). */
  discardedBytes: number;
  stopReason: string | null;
  redispatchedRecords: number;
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
  if (position < last.sizeBytes) {
    const probe = Buffer.alloc(8);
    commitLog.io.readSync(last.fd, probe, 0, 8, position);
    if (probe.some((b) => b !== 0)) {
      const tailBytes = Math.min(last.sizeBytes - position, 64 * 1024 * 1024);
      const tail = Buffer.alloc(tailBytes);
      commitLog.io.readSync(last.fd, tail, 0, tailBytes, position);
      fs.mkdirSync(trashDir, { recursive: true });
      fs.writeFileSync(path.join(trashDir, `${path.basename(last.filePath)}.tail-from-${position}`), tail);
      discarded += tailBytes;
      commitLog.io.ftruncateSync(last.fd, position);
      commitLog.io.ftruncateSync(last.fd, last.sizeBytes);
    }
  }
  return discarded;
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
    return { mode: 'fresh', segments: 0, scannedFromOffset: 0, validEndOffset: 0, discardedBytes: 0, stopReason: null, redispatchedRecords: 0 };
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
  if (reputFrom < scan.endOffset) {
    scanRecords(commitLog, reputFrom, false, (chunk, at, physicalOffset, size) => {
      const message = decodeMessage(chunk.subarray(at, at + size));
      queues.findOrCreate(message.topic, message.queueId)
        .putEntry(physicalOffset, size, consumeQueueTagsCode(message.topic, message.properties, message.storeTimestamp, options.delayLevelsMs),
          readInt64(chunk, at + RecordField.QUEUE_OFFSET));
      redispatchedRecords++;
    });
  }
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
  };
}
