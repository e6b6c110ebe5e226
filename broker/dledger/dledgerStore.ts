// The DLedger log on disk (DLedgerMmapFileStore's role): data files of entries and index files
// of 32-byte units (index i at flat byte i × 32), each a flat offset space over fixed-size files
// that roll (rollingFiles.ts, DLedger's MmapFileList), and a checkpoint with committedIndex.
// An entry never spans two data files: when it and an 8-byte blank marker do not fit in the
// rest of a file, the rest is padded with a blank (int32 -1, int32 bytes left) and the entry
// starts the next file, exactly where DLedger would put it. Leader and followers hold
// byte-identical data files (same `pos` everywhere, same file size), which is what lets
// ConsumeQueue positions point into them. Appends go into in-memory slabs (tailCache.ts) and
// reach the page cache by one write() per file space: at once, or with deferWrites at the end
// of the turn and whenever the file must hold them (the leader before counting itself in the
// quorum, a follower before answering a push). flush() fdatasyncs; dledgerRecovery.ts scans.
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError } from '../../protocol/errors.js';
import { childLogger } from '../../protocol/logger.js';
import {
  checkEntry, ENTRY_HEADER_BYTES, ENTRY_MAGIC, entryBodyCrc, type EntryHeader, INDEX_UNIT_BYTES, nextChainCrc, readEntryHeader,
  readIndexUnit, writeEntryHeader, writeIndexUnit,
} from './entryCodec.js';
import { BLANK_MAGIC, MIN_BLANK_BYTES, scanDataFiles } from './dledgerRecovery.js';
import { RollingFiles } from './rollingFiles.js';
import { TailCache } from './tailCache.js';
import { readInt64 } from '../store/messageCodec.js';
import { writeFileDurably } from '../durableFile.js';

const log = childLogger('dledger-store');
/** In-memory tail: 4 slabs of 4 MiB of entries, 2 × 1 MiB of index units (32 Ki entries each). */
const DATA_SLAB_BYTES = 4 * 1024 * 1024;
const INDEX_SLAB_BYTES = 1024 * 1024;
export { BLANK_MAGIC, MIN_BLANK_BYTES } from './dledgerRecovery.js';
/** DLedgerConfig.mappedFileSizeForEntryData (RocketMQ passes mappedFileSizeCommitLog, also 1 GiB by default). */
export const DEFAULT_DATA_FILE_BYTES = 1024 * 1024 * 1024;
/** DLedgerConfig.mappedFileSizeForEntryIndex: INDEX_UNIT_SIZE × 5 Mi units (160 MiB). */
export const DEFAULT_INDEX_FILE_BYTES = INDEX_UNIT_BYTES * 5 * 1024 * 1024;

export interface DLedgerStoreOptions {
  dataFileSizeBytes?: number;
  indexFileSizeBytes?: number;
}

export interface StoredEntry {
  header: EntryHeader;
  /** Header + body as stored (what a push sends); may view memory that is reused later: use at once or copy. */
  bytes: Buffer;
}

interface Slot {
  buf: Buffer;
  at: number;
  /** Too large for a slab: written by itself. */
  direct: boolean;
}

export interface DLedgerRecovery {
  entries: number;
  truncatedBytes: number;
  reason: string | null;
  committedIndex: number;
  dataFiles: number;
}

export class DLedgerStore {
  ledgerEndIndex = -1;
  ledgerEndTerm = -1;
  /** End of the last entry: where the next one goes (or the next file's start, see positionFor). */
  dataEndPos = 0;
  committedIndex = -1;
  /** Data file end of the committed prefix (the readable CommitLog end). */
  committedPos = 0;
  /** Highest index covered by a finished fdatasync. */
  flushedIndex = -1;
  recovery: DLedgerRecovery | null = null;
  /** Hand appends to write() at the end of the turn (one write per file space) instead of per append. */
  deferWrites = false;
  private writeOutScheduled = false;
  private readonly dataTail = new TailCache(DATA_SLAB_BYTES, 4);
  private readonly indexTail = new TailCache(INDEX_SLAB_BYTES, 2);
  private lastChainCrc = 0;
  private readonly data: RollingFiles;
  private readonly index: RollingFiles;
  private readonly checkpointPath: string;
  private flushing: Promise<number> | null = null;
  private closed = false;

  constructor(readonly dir: string, options: DLedgerStoreOptions = {}) {
    const dataFileSize = options.dataFileSizeBytes ?? DEFAULT_DATA_FILE_BYTES;
    const indexFileSize = options.indexFileSizeBytes ?? DEFAULT_INDEX_FILE_BYTES;
    if (!Number.isSafeInteger(dataFileSize) || dataFileSize < 2 * (ENTRY_HEADER_BYTES + MIN_BLANK_BYTES)) {
      throw new FlushbenchError('BAD_CONFIG', `DLedger data file size ${dataFileSize} is too small (at least ${2 * (ENTRY_HEADER_BYTES + MIN_BLANK_BYTES)} bytes)`);
    }
    if (!Number.isSafeInteger(indexFileSize) || indexFileSize <= 0 || indexFileSize % INDEX_UNIT_BYTES !== 0) {
      throw new FlushbenchError('BAD_CONFIG', `DLedger index file size ${indexFileSize} must be a positive multiple of ${INDEX_UNIT_BYTES}`);
    }
    this.data = new RollingFiles(path.join(dir, 'data'), dataFileSize, 'DLedger data');
    this.index = new RollingFiles(path.join(dir, 'index'), indexFileSize, 'DLedger index');
    this.checkpointPath = path.join(dir, 'checkpoint');
    this.recover();
  }

  get dataFileSizeBytes(): number {
    return this.data.fileSizeBytes;
  }

  /** Largest entry (header + body) a data file holds: the file minus room for a blank. */
  get maxEntryBytes(): number {
    return this.data.fileSizeBytes - MIN_BLANK_BYTES;
  }

  /**
   * Where an entry of `sizeBytes` goes (MmapFileList.preAppend): at the data end if it and a
   * blank still fit in that file, else at the start of the next file.
   */
  positionFor(sizeBytes: number): number {
    if (sizeBytes > this.maxEntryBytes) {
      throw new FlushbenchError('DLEDGER_ENTRY_TOO_LARGE', `a ${sizeBytes}-byte entry does not fit in a ${this.data.fileSizeBytes}-byte DLedger data file (mappedFileSizeCommitLog)`);
    }
    const fileEnd = this.data.fileEnd(this.dataEndPos);
    return this.dataEndPos + sizeBytes + MIN_BLANK_BYTES > fileEnd ? fileEnd : this.dataEndPos;
  }

  /** Keeps the valid prefix of the data files, rebuilds the index from it, loads committedIndex. */
  private recover(): void {
    const { end, index, chain, term, diskEnd, reason } = scanDataFiles(this.data, this.index, this.dir);
    this.data.syncNow();
    this.index.syncNow();
    this.ledgerEndIndex = index - 1;
    this.ledgerEndTerm = term;
    this.dataEndPos = end;
    this.lastChainCrc = chain;
    this.dataTail.reset(end);
    this.indexTail.reset(index * INDEX_UNIT_BYTES);
    this.flushedIndex = this.ledgerEndIndex;
    const committed = Math.min(this.readCheckpoint(), this.ledgerEndIndex);
    this.setCommitted(committed);
    this.recovery = {
      entries: index, truncatedBytes: diskEnd - end, reason: end < diskEnd ? reason : null, committedIndex: committed, dataFiles: this.data.list().length,
    };
  }

  private readCheckpoint(): number {
    try {
      const value = Number(JSON.parse(fs.readFileSync(this.checkpointPath, 'utf8')).committedIndex);
      return Number.isSafeInteger(value) ? value : -1;
    } catch {
      return -1;
    }
  }

  /**
   * Writes committedIndex (DLedger's checkpoint file), durably: DLedger writes it without an
   * fsync, and every strict power cut then restarted the member with committedIndex −1 (it
   * served nothing until the leader's next commit). One fsync per checkPointInterval; load
   * clamps it to the recovered ledger end, so it never claims entries the cut took.
   */
  persistCheckpoint(): void {
    if (this.closed) return;
    writeFileDurably(this.checkpointPath, JSON.stringify({ committedIndex: this.committedIndex, ledgerEndIndex: this.ledgerEndIndex }));
  }

  private setCommitted(index: number): void {
    this.committedIndex = index;
    const unit = index < 0 ? null : this.indexUnit(index);
    this.committedPos = unit ? unit.pos + unit.sizeBytes : 0;
  }

  /** Advances committedIndex (never backwards, never past the log end); true if it moved. */
  updateCommittedIndex(index: number): boolean {
    const target = Math.min(index, this.ledgerEndIndex);
    if (target <= this.committedIndex) return false;
    this.setCommitted(target);
    return true;
  }

  /**
   * Room for an entry of `size` bytes at `pos` (positionFor's choice; at a file start the rest
   * of the previous file gets a blank first): a slab slot, or its own buffer when larger.
   */
  private place(pos: number, size: number): Slot {
    this.assertOpen();
    if (pos !== this.dataEndPos) {
      this.writeOut();
      const blank = Buffer.allocUnsafe(MIN_BLANK_BYTES);
      blank.writeInt32BE(BLANK_MAGIC, 0);
      blank.writeInt32BE(pos - this.dataEndPos, 4);
      this.data.write(blank, 0, MIN_BLANK_BYTES, this.dataEndPos);
      this.data.fillFile(this.dataEndPos); // a rolled file is exactly the file size, as DLedger's are
      this.dataTail.writtenPos = pos;
    }
    if (!this.dataTail.fits(pos, size)) this.writeOut();
    const slot = this.dataTail.reserve(pos, size, this.data.fileEnd(pos));
    return slot ? { buf: slot.buf, at: slot.at, direct: false } : { buf: Buffer.allocUnsafe(size), at: 0, direct: true };
  }

  /** The entry in `slot` is complete: its index unit follows, then the ledger end moves. */
  private finish(slot: Slot, header: Omit<EntryHeader, 'magic'>): void {
    if (slot.direct) {
      this.writeOut();
      this.data.write(slot.buf, slot.at, header.sizeBytes, header.pos);
      this.dataTail.writtenPos = header.pos + header.sizeBytes;
    } else {
      this.dataTail.commit(header.sizeBytes);
    }
    const unitPos = header.index * INDEX_UNIT_BYTES;
    if (!this.indexTail.fits(unitPos, INDEX_UNIT_BYTES)) this.writeOutIndex();
    const unit = this.indexTail.reserve(unitPos, INDEX_UNIT_BYTES, this.index.fileEnd(unitPos)) as { buf: Buffer; at: number };
    writeIndexUnit(unit.buf, unit.at, header.pos, header.sizeBytes, header.index, header.term);
    this.indexTail.commit(INDEX_UNIT_BYTES);
    this.ledgerEndIndex = header.index;
    this.ledgerEndTerm = header.term;
    this.dataEndPos = header.pos + header.sizeBytes;
    this.lastChainCrc = header.chainCrc;
    if (!this.deferWrites) this.writeAll();
    else if (!this.writeOutScheduled) {
      this.writeOutScheduled = true;
      setImmediate(() => {
        this.writeOutScheduled = false;
        if (!this.closed) this.writeOut();
      });
    }
  }

  /**
   * Hands the appended entries to write(); a no-op when nothing is pending. Index units wait
   * for the next flush (or a full slab): recovery rebuilds the index from the data anyway.
   */
  writeOut(): void {
    const data = this.dataTail.pending();
    if (data) {
      this.data.write(data.buf, data.at, data.length, data.pos);
      this.dataTail.markWritten();
    }
  }

  private writeAll(): void {
    this.writeOut();
    this.writeOutIndex();
  }

  private writeOutIndex(): void {
    const units = this.indexTail.pending();
    if (units) {
      this.index.writeSpanning(units.buf, units.at, units.length, units.pos);
      this.indexTail.markWritten();
    }
  }

  /**
   * Leader append: `fillBody(entry, bodyAt, pos)` writes the body into entry[bodyAt..), knowing
   * the entry's position (RocketMQ's append hook writes the message's physical offset = pos + 48).
   */
  appendAsLeader(term: number, bodySizeBytes: number, fillBody: (entry: Buffer, bodyAt: number, pos: number) => void): EntryHeader {
    this.assertOpen();
    const size = ENTRY_HEADER_BYTES + bodySizeBytes;
    const pos = this.positionFor(size);
    const slot = this.place(pos, size);
    fillBody(slot.buf, slot.at + ENTRY_HEADER_BYTES, pos);
    const bodyCrc = entryBodyCrc(slot.buf.subarray(slot.at + ENTRY_HEADER_BYTES, slot.at + size));
    const header: EntryHeader = {
      magic: ENTRY_MAGIC, sizeBytes: size, index: this.ledgerEndIndex + 1, term, pos, channel: 0,
      chainCrc: nextChainCrc(this.lastChainCrc, bodyCrc), bodyCrc, bodySizeBytes,
    };
    writeEntryHeader(slot.buf, slot.at, header);
    this.finish(slot, header);
    return header;
  }

  /** Follower append of a leader's entry: the next index, where this log would put it (same file size as the leader's), intact. */
  appendAsFollower(bytes: Buffer): EntryHeader {
    this.assertOpen();
    const size = bytes.length >= 8 ? bytes.readInt32BE(4) : bytes.length;
    if (size > this.maxEntryBytes || size < ENTRY_HEADER_BYTES) throw new FlushbenchError('DLEDGER_INCONSISTENT', `a ${size}-byte entry does not fit in a ${this.data.fileSizeBytes}-byte data file`);
    const check = checkEntry(bytes, 0, bytes.length, this.positionFor(size), this.ledgerEndIndex + 1, this.lastChainCrc);
    if (!check.ok) throw new FlushbenchError('DLEDGER_INCONSISTENT', `entry does not extend the local log: ${check.reason}`);
    const slot = this.place(check.header.pos, size);
    bytes.copy(slot.buf, slot.at, 0, size);
    this.finish(slot, check.header);
    return check.header;
  }

  /** Drops every entry after `lastKeptIndex` (-1 = all). Committed entries are never dropped. */
  truncateAfter(lastKeptIndex: number): void {
    this.assertOpen();
    if (lastKeptIndex >= this.ledgerEndIndex) return;
    this.writeAll();
    if (lastKeptIndex < this.committedIndex) {
      throw new FlushbenchError('DLEDGER_TRUNCATE_COMMITTED', `refusing to truncate to ${lastKeptIndex}: entries up to ${this.committedIndex} are committed`);
    }
    const dropped = this.ledgerEndIndex - lastKeptIndex;
    if (lastKeptIndex < 0) {
      this.dataEndPos = 0;
      this.ledgerEndTerm = -1;
      this.lastChainCrc = 0;
    } else {
      const kept = this.get(lastKeptIndex).header;
      this.dataEndPos = kept.pos + kept.sizeBytes;
      this.ledgerEndTerm = kept.term;
      this.lastChainCrc = kept.chainCrc;
    }
    this.ledgerEndIndex = lastKeptIndex;
    if (this.flushedIndex > lastKeptIndex) this.flushedIndex = lastKeptIndex;
    this.data.truncate(this.dataEndPos); // may delete whole later files and the blank before them
    this.index.truncate((lastKeptIndex + 1) * INDEX_UNIT_BYTES);
    this.dataTail.reset(this.dataEndPos);
    this.indexTail.reset((lastKeptIndex + 1) * INDEX_UNIT_BYTES);
    log.info({ dir: this.dir, lastKeptIndex, dropped }, 'truncated a conflicting suffix');
  }

  indexUnit(index: number) {
    if (index < 0 || index > this.ledgerEndIndex) throw new FlushbenchError('DLEDGER_INDEX_OUT_OF_RANGE', `index ${index} is outside 0..${this.ledgerEndIndex}`);
    return readIndexUnit(this.indexTail.read(index * INDEX_UNIT_BYTES, INDEX_UNIT_BYTES) ?? this.readIndexFile(index, 1), 0);
  }

  termAt(index: number): number {
    if (index < 0) return -1;
    const unit = this.indexTail.read(index * INDEX_UNIT_BYTES, INDEX_UNIT_BYTES);
    return unit && index <= this.ledgerEndIndex ? readInt64(unit, 24) : this.indexUnit(index).term;
  }

  get(index: number): StoredEntry {
    const unit = this.indexUnit(index);
    const bytes = this.readData(unit.pos, unit.sizeBytes);
    return { header: readEntryHeader(bytes, 0), bytes };
  }

  /** Entries from `fromIndex` while within maxBytes (at least one) and maxCount; one read even across a roll. */
  readBatch(fromIndex: number, maxBytes: number, maxCount: number): StoredEntry[] {
    const last = Math.min(this.ledgerEndIndex, fromIndex + maxCount - 1);
    if (fromIndex > last) return [];
    const count = last - fromIndex + 1;
    const units = this.indexTail.read(fromIndex * INDEX_UNIT_BYTES, count * INDEX_UNIT_BYTES) ?? this.readIndexFile(fromIndex, count);
    const positions = [readIndexUnit(units, 0)];
    // From memory when the first entry is there: the batch then ends with its slab.
    const slabEnd = this.dataTail.slabEndAt(positions[0].pos);
    for (let i = fromIndex + 1; i <= last; i++) {
      const unit = readIndexUnit(units, (i - fromIndex) * INDEX_UNIT_BYTES);
      if (unit.pos + unit.sizeBytes - positions[0].pos > maxBytes || (slabEnd >= 0 && unit.pos + unit.sizeBytes > slabEnd)) break;
      positions.push(unit);
    }
    const first = positions[0].pos;
    const lastUnit = positions[positions.length - 1];
    // Rolled files are full size, so the flat range holds each entry at pos − first (blanks between).
    const data = this.readData(first, lastUnit.pos + lastUnit.sizeBytes - first);
    return positions.map((unit) => {
      const bytes = data.subarray(unit.pos - first, unit.pos - first + unit.sizeBytes);
      return { header: readEntryHeader(bytes, 0), bytes };
    });
  }

  /** Bytes at a flat data offset (an entry or a record: never across a file end in practice); may be a view of the in-memory tail. */
  readData(pos: number, length: number): Buffer {
    const cached = this.dataTail.read(pos, length);
    if (cached) return cached;
    this.writeOut();
    return this.data.read(pos, length);
  }

  private readIndexFile(fromIndex: number, count: number): Buffer {
    this.writeOutIndex();
    return this.index.read(fromIndex * INDEX_UNIT_BYTES, count * INDEX_UNIT_BYTES);
  }

  /** fdatasync of data and index; resolves with the index it covers. Concurrent calls share a round. */
  flush(): Promise<number> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (!this.closed) this.writeAll();
    const covered = this.ledgerEndIndex;
    if (covered <= this.flushedIndex || this.closed) return Promise.resolve(this.flushedIndex);
    const round = (async () => {
      // Only the data: recovery deletes and rebuilds the index files at every start, so an
      // fdatasync of them (DLedger does one) would buy nothing and cost a threadpool round trip.
      await this.data.sync();
      // A truncation during the round may have lowered the end: never claim more than exists.
      this.flushedIndex = Math.max(this.flushedIndex, Math.min(covered, this.ledgerEndIndex));
      return this.flushedIndex;
    })();
    this.flushing = round;
    return round.finally(() => {
      this.flushing = null;
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new FlushbenchError('DLEDGER_CLOSED', 'the DLedger store is closed');
  }

  /** Flushes (unless `crash`), writes the checkpoint and closes the files. */
  async close(crash = false): Promise<void> {
    if (this.closed) return;
    this.writeAll(); // what the process had appended is in the page cache even after a kill -9 (it writes it out within the turn)
    if (!crash) {
      await this.flushing?.catch(() => undefined);
      await this.flush().catch(() => undefined);
      this.persistCheckpoint();
    }
    this.closed = true;
    await this.flushing?.catch(() => undefined);
    this.data.close();
    this.index.close();
  }
}
