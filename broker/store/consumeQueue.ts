// ConsumeQueue: per topic/queue index of 20-byte entries {int64 commitlog offset, int32 size,
// int64 tag code}, in files of mappedFileSizeConsumeQueue bytes named by their byte offset.
// The active file is mirrored in memory (RocketMQ's mmap) and written to the file lazily by
// the store's flush loop; entries are added only for committed CommitLog data.
import fs from 'node:fs';
import path from 'node:path';
import { childLogger } from '../../protocol/logger.js';
import { errorMessage } from '../../protocol/errors.js';
import { type FileIo, fsyncDirectory, writeFully } from './fileIo.js';
import { assertPositions, Segment } from './segment.js';
import { readInt64, writeInt64 } from './messageCodec.js';

export const CQ_ENTRY_BYTES = 20;
const INITIAL_MIRROR_BYTES = 64 * CQ_ENTRY_BYTES;
/** RocketMQ fills the gap before a fresh queue's first entry with {0, Integer.MAX_VALUE, 0}. */
const GAP_ENTRY_SIZE = 0x7fffffff;
const log = childLogger('consumequeue');

export interface ConsumeQueueEntry {
  physicalOffset: number;
  sizeBytes: number;
  tagsCode: number;
}

interface QueueFile {
  segment: Segment;
  /** In-memory copy of [0, wrotePosition) for the active file; null once written and rolled. */
  mirror: Buffer | null;
}

export class ConsumeQueue {
  /** Next queue offset the CommitLog hands to an append (ahead of maxOffset while uncommitted). */
  nextAssignOffset = 0;
  private readonly files: QueueFile[] = [];
  private minOffsetEntries = 0;
  /** Entries refused because their queue offset jumped too far (logged once per queue). */
  refusedEntries = 0;

  constructor(
    private readonly io: FileIo,
    readonly topic: string,
    readonly queueId: number,
    private readonly dir: string,
    private readonly fileSizeBytes: number,
  ) {
    if (fileSizeBytes <= 0 || fileSizeBytes % CQ_ENTRY_BYTES !== 0) throw new Error(`mappedFileSizeConsumeQueue ${fileSizeBytes} is not a positive multiple of ${CQ_ENTRY_BYTES}`);
  }

  /** Whether any written entry still waits for an fdatasync (or for its write). */
  get hasUnflushedEntries(): boolean {
    for (const { segment } of this.files) if (segment.flushedPosition < segment.wrotePosition) return true;
    return false;
  }

  /** Number of entries dispatched (RocketMQ's getMaxOffsetInQueue). */
  get maxOffset(): number {
    const last = this.files.at(-1);
    return last ? (last.segment.fileFromOffset + last.segment.wrotePosition) / CQ_ENTRY_BYTES : this.minOffsetEntries;
  }

  get minOffset(): number {
    return this.minOffsetEntries;
  }

  /** CommitLog end covered by the last entry (0 when empty): where re-dispatch can resume. */
  get maxPhysicalEnd(): number {
    for (let offset = this.maxOffset - 1; offset >= this.minOffsetEntries && offset >= this.maxOffset - 2; offset--) {
      const entry = this.getEntry(offset);
      if (entry && entry.sizeBytes !== GAP_ENTRY_SIZE) return entry.physicalOffset + entry.sizeBytes;
    }
    return 0;
  }

  /** Loads existing files and keeps the entries up to the first invalid one. */
  load(): void {
    if (!fs.existsSync(this.dir)) return;
    const names = fs.readdirSync(this.dir).filter((name) => /^\d{20}$/.test(name)).sort();
    for (const name of names) {
      const fileFromOffset = Number(name);
      const size = fs.statSync(path.join(this.dir, name)).size;
      if (size !== this.fileSizeBytes) {
        throw Object.assign(new Error(`ConsumeQueue file ${path.join(this.dir, name)} is ${size} bytes, expected mappedFileSizeConsumeQueue=${this.fileSizeBytes}`), { code: 'CQ_FILE_SIZE' });
      }
      const segment = Segment.openSync(this.io, this.dir, fileFromOffset, this.fileSizeBytes);
      const content = fs.readFileSync(segment.filePath);
      let valid = 0;
      while (valid + CQ_ENTRY_BYTES <= content.length) {
        const physicalOffset = readInt64(content, valid);
        const sizeBytes = content.readInt32BE(valid + 8);
        if (physicalOffset < 0 || sizeBytes <= 0) break;
        valid += CQ_ENTRY_BYTES;
      }
      segment.resetPositions(valid);
      this.files.push({ segment, mirror: null });
      if (valid < this.fileSizeBytes) break;
    }
    const last = this.files.at(-1);
    if (last) {
      last.mirror = this.readMirror(last.segment);
      this.minOffsetEntries = this.files[0].segment.fileFromOffset / CQ_ENTRY_BYTES;
    }
    this.nextAssignOffset = this.maxOffset;
  }

  private readMirror(segment: Segment): Buffer {
    const mirror = Buffer.alloc(Math.max(INITIAL_MIRROR_BYTES, segment.wrotePosition));
    if (segment.wrotePosition > 0) this.io.readSync(segment.fd, mirror, 0, segment.wrotePosition, 0);
    return mirror;
  }

  /**
   * Adds the entry for `queueOffset`; skips entries already present (re-dispatch after recovery).
   * No CRC covers a record's queue offset, so a gap is filled only up to one file's worth of
   * entries; a larger jump is treated as a corrupt record: refused (false) and logged.
   */
  putEntry(physicalOffset: number, sizeBytes: number, tagsCode: number, queueOffset: number): boolean {
    const current = this.maxOffset;
    if (queueOffset < current) return true;
    const entriesPerFile = this.fileSizeBytes / CQ_ENTRY_BYTES;
    if (this.files.length === 0 && queueOffset > 0) {
      // A fresh queue whose first message is not offset 0 (e.g. recovered after deletion).
      this.minOffsetEntries = queueOffset - (queueOffset % entriesPerFile);
    }
    const gapStart = Math.max(current, this.minOffsetEntries);
    if (queueOffset - gapStart > entriesPerFile || !Number.isSafeInteger(queueOffset)) {
      if (this.refusedEntries++ === 0) {
        log.error({ topic: this.topic, queueId: this.queueId, queueOffset, expected: gapStart, physicalOffset, maxGapEntries: entriesPerFile },
          'record claims a queue offset far past the queue end: treated as corrupt and left out of the ConsumeQueue (logged once per queue)');
      }
      return false;
    }
    for (let gap = gapStart; gap < queueOffset; gap++) this.writeEntry(0, GAP_ENTRY_SIZE, 0);
    this.writeEntry(physicalOffset, sizeBytes, tagsCode);
    if (this.nextAssignOffset < queueOffset + 1) this.nextAssignOffset = queueOffset + 1;
    return true;
  }

  private activeFile(): QueueFile {
    let last = this.files.at(-1);
    if (!last || last.segment.wrotePosition === this.fileSizeBytes) {
      const firstFile = !last;
      if (firstFile) fs.mkdirSync(this.dir, { recursive: true });
      const fileFromOffset = last ? last.segment.endOffset : this.minOffsetEntries * CQ_ENTRY_BYTES;
      last = { segment: Segment.openSync(this.io, this.dir, fileFromOffset, this.fileSizeBytes), mirror: Buffer.alloc(INITIAL_MIRROR_BYTES) };
      this.files.push(last);
      // Make the new entries durable: the file in its queue dir, and for a new queue the
      // queue dir in its topic dir and the topic dir in consumequeue/ (once per file).
      fsyncDirectory(this.io, this.dir);
      if (firstFile) {
        fsyncDirectory(this.io, path.dirname(this.dir));
        fsyncDirectory(this.io, path.dirname(path.dirname(this.dir)));
      }
    }
    return last;
  }

  private writeEntry(physicalOffset: number, sizeBytes: number, tagsCode: number): void {
    const file = this.activeFile();
    const at = file.segment.wrotePosition;
    let mirror = file.mirror as Buffer;
    if (at + CQ_ENTRY_BYTES > mirror.length) {
      const grown = Buffer.alloc(Math.min(this.fileSizeBytes, mirror.length * 2));
      mirror.copy(grown, 0, 0, at);
      file.mirror = mirror = grown;
    }
    writeInt64(mirror, at, physicalOffset);
    mirror.writeInt32BE(sizeBytes, at + 8);
    writeInt64(mirror, at + 12, tagsCode);
    file.segment.wrotePosition = at + CQ_ENTRY_BYTES;
  }

  getEntry(queueOffset: number): ConsumeQueueEntry | null {
    if (queueOffset < this.minOffsetEntries || queueOffset >= this.maxOffset) return null;
    const byteOffset = queueOffset * CQ_ENTRY_BYTES;
    const file = this.files.find((f) => byteOffset >= f.segment.fileFromOffset && byteOffset < f.segment.endOffset);
    if (!file) return null;
    const at = byteOffset - file.segment.fileFromOffset;
    let source: Buffer;
    let position: number;
    if (file.mirror) {
      source = file.mirror;
      position = at;
    } else {
      source = Buffer.allocUnsafe(CQ_ENTRY_BYTES);
      this.io.readSync(file.segment.fd, source, 0, CQ_ENTRY_BYTES, at);
      position = 0;
    }
    return { physicalOffset: readInt64(source, position), sizeBytes: source.readInt32BE(position + 8), tagsCode: readInt64(source, position + 12) };
  }

  /** Writes mirrored entries not yet in the file; drops mirrors of full, written files. */
  async writeDirty(): Promise<void> {
    for (const file of this.files) {
      const segment = file.segment;
      if (!file.mirror || segment.committedPosition === segment.wrotePosition) continue;
      const from = segment.committedPosition;
      const to = segment.wrotePosition;
      await writeFully(this.io, segment.fd, file.mirror, from, to - from, from);
      segment.committedPosition = to;
      if (to === this.fileSizeBytes && file !== this.files.at(-1)) file.mirror = null;
    }
  }

  /** fdatasync files whose written-but-unflushed span reaches leastPages pages (0 = any). */
  async flush(leastPages: number): Promise<number> {
    let fsyncs = 0;
    for (const { segment } of this.files) {
      const dirty = segment.committedPosition > segment.flushedPosition;
      const pages = Math.floor(segment.committedPosition / 4096) - Math.floor(segment.flushedPosition / 4096);
      if (!dirty || (leastPages > 0 && pages < leastPages && segment.committedPosition < this.fileSizeBytes)) continue;
      const target = segment.committedPosition;
      await this.io.fdatasync(segment.fd);
      segment.flushedPosition = target;
      assertPositions(segment);
      fsyncs++;
    }
    return fsyncs;
  }

  /** Drops entries that point at or beyond the recovered CommitLog end. */
  truncateBeyond(commitLogEnd: number): void {
    let keep = this.maxOffset;
    while (keep > this.minOffsetEntries) {
      const entry = this.getEntry(keep - 1);
      if (entry && (entry.sizeBytes === GAP_ENTRY_SIZE || entry.physicalOffset + entry.sizeBytes <= commitLogEnd)) break;
      keep--;
    }
    const keepBytes = keep * CQ_ENTRY_BYTES;
    while (this.files.length > 0) {
      const last = this.files[this.files.length - 1];
      if (last.segment.fileFromOffset < keepBytes || (keepBytes === 0 && this.files.length === 1)) break;
      this.files.pop();
      last.segment.close().catch((error: unknown) => log.warn({ err: errorMessage(error) }, 'closing a dropped ConsumeQueue file failed'));
      fs.rmSync(last.segment.filePath, { force: true });
    }
    const last = this.files.at(-1);
    if (last) {
      const position = Math.min(keepBytes - last.segment.fileFromOffset, last.segment.wrotePosition);
      if (position < last.segment.wrotePosition) {
        if (!last.mirror) last.mirror = this.readMirror(last.segment);
        last.mirror.fill(0, position, last.segment.wrotePosition);
        // Zero the dropped tail on disk too (cut, then re-extend), so a later load cannot resurrect it.
        this.io.ftruncateSync(last.segment.fd, position);
        this.io.ftruncateSync(last.segment.fd, this.fileSizeBytes);
        last.segment.wrotePosition = position;
        last.segment.committedPosition = Math.min(last.segment.committedPosition, position);
        last.segment.flushedPosition = Math.min(last.segment.flushedPosition, position);
      }
    }
    this.nextAssignOffset = this.maxOffset;
  }

  async close(): Promise<void> {
    for (const { segment } of this.files) await segment.close();
  }
}
