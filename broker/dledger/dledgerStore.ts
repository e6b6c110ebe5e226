// The DLedger log on disk (DLedgerMmapFileStore's role): one data file of entries, one index
// file of 32-byte units (index i at byte i × 32), a checkpoint with committedIndex. Leader and
// followers hold byte-identical data files: an entry is written at the same `pos` everywhere,
// which is what lets ConsumeQueue positions point into it. Writes are write() into the page
// cache; flush() fdatasyncs. Recovery keeps the longest valid prefix (FORMAT.md).
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError } from '../../protocol/errors.js';
import { childLogger } from '../../protocol/logger.js';
import {
  checkEntry, ENTRY_HEADER_BYTES, ENTRY_MAGIC, entryBodyCrc, type EntryHeader, INDEX_UNIT_BYTES, nextChainCrc, readEntryHeader,
  readIndexUnit, writeEntryHeader, writeIndexUnit,
} from './entryCodec.js';

const log = childLogger('dledger-store');
const FILE_NAME = '00000000000000000000';
const RECOVERY_WINDOW_BYTES = 8 * 1024 * 1024;
const INDEX_BATCH_UNITS = 32 * 1024;

export interface StoredEntry {
  header: EntryHeader;
  /** Header + body as stored (what a push sends). */
  bytes: Buffer;
}

export interface DLedgerRecovery {
  entries: number;
  truncatedBytes: number;
  reason: string | null;
  committedIndex: number;
}

export class DLedgerStore {
  ledgerEndIndex = -1;
  ledgerEndTerm = -1;
  /** Data file end: where the next entry goes. */
  dataEndPos = 0;
  committedIndex = -1;
  /** Data file end of the committed prefix (the readable CommitLog end). */
  committedPos = 0;
  /** Highest index covered by a finished fdatasync. */
  flushedIndex = -1;
  recovery: DLedgerRecovery | null = null;
  private lastChainCrc = 0;
  private readonly dataFd: number;
  private readonly indexFd: number;
  private readonly checkpointPath: string;
  private flushing: Promise<number> | null = null;
  private closed = false;

  constructor(readonly dir: string) {
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'index'), { recursive: true });
    this.dataFd = fs.openSync(path.join(dir, 'data', FILE_NAME), fs.constants.O_RDWR | fs.constants.O_CREAT);
    this.indexFd = fs.openSync(path.join(dir, 'index', FILE_NAME), fs.constants.O_RDWR | fs.constants.O_CREAT);
    this.checkpointPath = path.join(dir, 'checkpoint');
    this.recover();
  }

  /** Scans the data file, keeps the valid prefix, rewrites the index from it, loads committedIndex. */
  private recover(): void {
    const size = fs.fstatSync(this.dataFd).size;
    const window = Buffer.allocUnsafe(RECOVERY_WINDOW_BYTES);
    let windowStart = 0;
    let windowLength = 0;
    let pos = 0;
    let index = 0;
    let chain = 0;
    let term = -1;
    let reason: string | null = null;
    const units = Buffer.allocUnsafe(INDEX_BATCH_UNITS * INDEX_UNIT_BYTES);
    let unitCount = 0;
    let unitsFrom = 0;
    const flushUnits = () => {
      if (unitCount === 0) return;
      fs.writeSync(this.indexFd, units, 0, unitCount * INDEX_UNIT_BYTES, unitsFrom * INDEX_UNIT_BYTES);
      unitsFrom += unitCount;
      unitCount = 0;
    };
    while (pos < size) {
      let at = pos - windowStart;
      if (at + ENTRY_HEADER_BYTES > windowLength || at + window.readInt32BE(at + 4) > windowLength) {
        windowStart = pos;
        windowLength = fs.readSync(this.dataFd, window, 0, Math.min(window.length, size - pos), pos);
        at = 0;
        const need = windowLength >= 8 ? window.readInt32BE(4) : 0;
        if (need > window.length) {
          reason = `entry at ${pos} claims ${need} bytes, more than the ${window.length}-byte recovery window`;
          break;
        }
      }
      const check = checkEntry(window, at, windowLength - at, pos, index, chain);
      if (!check.ok) {
        reason = `${check.reason} at pos ${pos} (index ${index})`;
        break;
      }
      writeIndexUnit(units, unitCount * INDEX_UNIT_BYTES, pos, check.header.sizeBytes, index, check.header.term);
      if (++unitCount === INDEX_BATCH_UNITS) flushUnits();
      chain = check.header.chainCrc;
      term = check.header.term;
      pos += check.header.sizeBytes;
      index++;
    }
    flushUnits();
    if (pos < size) {
      log.warn({ dir: this.dir, validBytes: pos, fileBytes: size, reason }, 'DLedger recovery: truncating the data file after the last valid entry');
      fs.ftruncateSync(this.dataFd, pos);
    }
    fs.ftruncateSync(this.indexFd, index * INDEX_UNIT_BYTES);
    fs.fdatasyncSync(this.dataFd);
    fs.fdatasyncSync(this.indexFd);
    this.ledgerEndIndex = index - 1;
    this.ledgerEndTerm = term;
    this.dataEndPos = pos;
    this.lastChainCrc = chain;
    this.flushedIndex = this.ledgerEndIndex;
    const committed = Math.min(this.readCheckpoint(), this.ledgerEndIndex);
    this.setCommitted(committed);
    this.recovery = { entries: index, truncatedBytes: size - pos, reason: pos < size ? reason : null, committedIndex: committed };
  }

  private readCheckpoint(): number {
    try {
      const value = Number(JSON.parse(fs.readFileSync(this.checkpointPath, 'utf8')).committedIndex);
      return Number.isSafeInteger(value) ? value : -1;
    } catch {
      return -1;
    }
  }

  /** Writes committedIndex (DLedger's checkpoint file); temp file + rename so it is never torn. */
  persistCheckpoint(): void {
    if (this.closed) return;
    const temp = `${this.checkpointPath}.tmp`;
    fs.writeFileSync(temp, JSON.stringify({ committedIndex: this.committedIndex, ledgerEndIndex: this.ledgerEndIndex }));
    fs.renameSync(temp, this.checkpointPath);
  }

  private setCommitted(index: number): void {
    this.committedIndex = index;
    this.committedPos = index < 0 ? 0 : this.indexUnit(index).pos + this.indexUnit(index).sizeBytes;
  }

  /** Advances committedIndex (never backwards, never past the log end); true if it moved. */
  updateCommittedIndex(index: number): boolean {
    const target = Math.min(index, this.ledgerEndIndex);
    if (target <= this.committedIndex) return false;
    this.setCommitted(target);
    return true;
  }

  private writeEntry(entry: Buffer, header: Omit<EntryHeader, 'magic'>): void {
    this.assertOpen();
    fs.writeSync(this.dataFd, entry, 0, entry.length, header.pos);
    const unit = Buffer.allocUnsafe(INDEX_UNIT_BYTES);
    writeIndexUnit(unit, 0, header.pos, header.sizeBytes, header.index, header.term);
    fs.writeSync(this.indexFd, unit, 0, INDEX_UNIT_BYTES, header.index * INDEX_UNIT_BYTES);
    this.ledgerEndIndex = header.index;
    this.ledgerEndTerm = header.term;
    this.dataEndPos = header.pos + header.sizeBytes;
    this.lastChainCrc = header.chainCrc;
  }

  /**
   * Leader append: `fillBody(entry, 48, pos)` writes the body into entry[48..), knowing the
   * entry's position (RocketMQ's append hook writes the message's physical offset = pos + 48).
   */
  appendAsLeader(term: number, bodySizeBytes: number, fillBody: (entry: Buffer, bodyAt: number, pos: number) => void): EntryHeader {
    const entry = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + bodySizeBytes);
    const pos = this.dataEndPos;
    fillBody(entry, ENTRY_HEADER_BYTES, pos);
    const bodyCrc = entryBodyCrc(entry.subarray(ENTRY_HEADER_BYTES));
    const header: EntryHeader = {
      magic: ENTRY_MAGIC, sizeBytes: entry.length, index: this.ledgerEndIndex + 1, term, pos, channel: 0,
      chainCrc: nextChainCrc(this.lastChainCrc, bodyCrc), bodyCrc, bodySizeBytes,
    };
    writeEntryHeader(entry, 0, header);
    this.writeEntry(entry, header);
    return header;
  }

  /** Follower append of a leader's entry: it must be the next index at the local data end, intact. */
  appendAsFollower(bytes: Buffer): EntryHeader {
    const check = checkEntry(bytes, 0, bytes.length, this.dataEndPos, this.ledgerEndIndex + 1, this.lastChainCrc);
    if (!check.ok) throw new FlushbenchError('DLEDGER_INCONSISTENT', `entry does not extend the local log: ${check.reason}`);
    this.writeEntry(bytes.length === check.header.sizeBytes ? bytes : bytes.subarray(0, check.header.sizeBytes), check.header);
    return check.header;
  }

  /** Drops every entry after `lastKeptIndex` (-1 = all). Committed entries are never dropped. */
  truncateAfter(lastKeptIndex: number): void {
    this.assertOpen();
    if (lastKeptIndex >= this.ledgerEndIndex) return;
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
    fs.ftruncateSync(this.dataFd, this.dataEndPos);
    fs.ftruncateSync(this.indexFd, (lastKeptIndex + 1) * INDEX_UNIT_BYTES);
    log.info({ dir: this.dir, lastKeptIndex, dropped }, 'truncated a conflicting suffix');
  }

  indexUnit(index: number) {
    if (index < 0 || index > this.ledgerEndIndex) throw new FlushbenchError('DLEDGER_INDEX_OUT_OF_RANGE', `index ${index} is outside 0..${this.ledgerEndIndex}`);
    const unit = Buffer.allocUnsafe(INDEX_UNIT_BYTES);
    fs.readSync(this.indexFd, unit, 0, INDEX_UNIT_BYTES, index * INDEX_UNIT_BYTES);
    return readIndexUnit(unit, 0);
  }

  termAt(index: number): number {
    return index < 0 ? -1 : this.indexUnit(index).term;
  }

  get(index: number): StoredEntry {
    const unit = this.indexUnit(index);
    const bytes = this.readData(unit.pos, unit.sizeBytes);
    return { header: readEntryHeader(bytes, 0), bytes };
  }

  /** Entries from `fromIndex` while within maxBytes (at least one) and maxCount. */
  readBatch(fromIndex: number, maxBytes: number, maxCount: number): StoredEntry[] {
    const out: StoredEntry[] = [];
    const last = Math.min(this.ledgerEndIndex, fromIndex + maxCount - 1);
    if (fromIndex > last) return out;
    const first = this.indexUnit(fromIndex);
    let endPos = first.pos + first.sizeBytes;
    let lastIndex = fromIndex;
    const units = Buffer.allocUnsafe((last - fromIndex + 1) * INDEX_UNIT_BYTES);
    fs.readSync(this.indexFd, units, 0, units.length, fromIndex * INDEX_UNIT_BYTES);
    for (let i = fromIndex + 1; i <= last; i++) {
      const unit = readIndexUnit(units, (i - fromIndex) * INDEX_UNIT_BYTES);
      if (unit.pos + unit.sizeBytes - first.pos > maxBytes) break;
      endPos = unit.pos + unit.sizeBytes;
      lastIndex = i;
    }
    const data = this.readData(first.pos, endPos - first.pos);
    let at = 0;
    for (let i = fromIndex; i <= lastIndex; i++) {
      const header = readEntryHeader(data, at);
      out.push({ header, bytes: data.subarray(at, at + header.sizeBytes) });
      at += header.sizeBytes;
    }
    return out;
  }

  readData(pos: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    const read = fs.readSync(this.dataFd, out, 0, length, pos);
    return read === length ? out : out.subarray(0, read);
  }

  /** fdatasync of data and index; resolves with the index it covers. Concurrent calls share a round. */
  flush(): Promise<number> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    const covered = this.ledgerEndIndex;
    if (covered <= this.flushedIndex || this.closed) return Promise.resolve(this.flushedIndex);
    const round = (async () => {
      await new Promise<void>((resolve, reject) => fs.fdatasync(this.dataFd, (error) => (error ? reject(error) : resolve())));
      await new Promise<void>((resolve, reject) => fs.fdatasync(this.indexFd, (error) => (error ? reject(error) : resolve())));
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
    if (!crash) {
      await this.flushing?.catch(() => undefined);
      await this.flush().catch(() => undefined);
      this.persistCheckpoint();
    }
    this.closed = true;
    await this.flushing?.catch(() => undefined);
    fs.closeSync(this.dataFd);
    fs.closeSync(this.indexFd);
  }
}
