// DLedger's entry format (openmessaging/dledger 0.2.x DLedgerEntry/DLedgerEntryCoder) and its
// 32-byte index unit (DLedgerMmapFileStore.INDEX_UNIT_SIZE). See FORMAT.md.
import { crc32 } from 'node:zlib';
import { readInt64, writeInt64 } from '../store/messageCodec.js';

export const ENTRY_MAGIC = 1; // DLedgerMmapFileStore.MAGIC_1 = CURRENT_MAGIC
export const ENTRY_HEADER_BYTES = 48; // DLedgerEntry.BODY_OFFSET
export const ENTRY_POS_OFFSET = 24; // DLedgerEntry.POS_OFFSET
export const INDEX_UNIT_BYTES = 32;

export interface EntryHeader {
  magic: number;
  sizeBytes: number;
  index: number;
  term: number;
  pos: number;
  channel: number;
  chainCrc: number;
  bodyCrc: number;
  bodySizeBytes: number;
}

/** DLedger 0.2.x writes 0 here and never checks it; we write crc32(body) as a signed int32. */
export function entryBodyCrc(body: Buffer): number {
  return crc32(body) | 0;
}

/** Chain CRC: crc32 of this entry's bodyCrc (4 bytes BE) seeded with the previous chainCrc (0 before index 0). */
export function nextChainCrc(previousChainCrc: number, bodyCrc: number): number {
  CHAIN_SCRATCH.writeInt32BE(bodyCrc, 0);
  return crc32(CHAIN_SCRATCH, previousChainCrc >>> 0) | 0;
}
const CHAIN_SCRATCH = Buffer.alloc(4);

/** Writes a full entry header at target[0..48); the body must follow at 48. */
export function writeEntryHeader(target: Buffer, at: number, header: Omit<EntryHeader, 'sizeBytes'>): void {
  target.writeInt32BE(header.magic, at);
  target.writeInt32BE(ENTRY_HEADER_BYTES + header.bodySizeBytes, at + 4);
  writeInt64(target, at + 8, header.index);
  writeInt64(target, at + 16, header.term);
  writeInt64(target, at + 24, header.pos);
  target.writeInt32BE(header.channel, at + 32);
  target.writeInt32BE(header.chainCrc, at + 36);
  target.writeInt32BE(header.bodyCrc, at + 40);
  target.writeInt32BE(header.bodySizeBytes, at + 44);
}

export function readEntryHeader(source: Buffer, at: number): EntryHeader {
  return {
    magic: source.readInt32BE(at),
    sizeBytes: source.readInt32BE(at + 4),
    index: readInt64(source, at + 8),
    term: readInt64(source, at + 16),
    pos: readInt64(source, at + 24),
    channel: source.readInt32BE(at + 32),
    chainCrc: source.readInt32BE(at + 36),
    bodyCrc: source.readInt32BE(at + 40),
    bodySizeBytes: source.readInt32BE(at + 44),
  };
}

/** A whole entry (header + body) as one buffer. */
export function encodeEntry(header: Omit<EntryHeader, 'sizeBytes' | 'bodySizeBytes' | 'magic'>, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + body.length);
  writeEntryHeader(out, 0, { ...header, magic: ENTRY_MAGIC, bodySizeBytes: body.length });
  body.copy(out, ENTRY_HEADER_BYTES);
  return out;
}

/** Index unit: {int32 magic, int64 pos, int32 size, int64 index, int64 term} (DLedgerEntryCoder.encodeIndex). */
export function writeIndexUnit(target: Buffer, at: number, pos: number, sizeBytes: number, index: number, term: number): void {
  target.writeInt32BE(ENTRY_MAGIC, at);
  writeInt64(target, at + 4, pos);
  target.writeInt32BE(sizeBytes, at + 12);
  writeInt64(target, at + 16, index);
  writeInt64(target, at + 24, term);
}

export interface IndexUnit {
  magic: number;
  pos: number;
  sizeBytes: number;
  index: number;
  term: number;
}

export function readIndexUnit(source: Buffer, at: number): IndexUnit {
  return {
    magic: source.readInt32BE(at),
    pos: readInt64(source, at + 4),
    sizeBytes: source.readInt32BE(at + 12),
    index: readInt64(source, at + 16),
    term: readInt64(source, at + 24),
  };
}

export type EntryCheck = { ok: true; header: EntryHeader } | { ok: false; reason: string };

/**
 * Checks the entry at `at` (file position `pos`) as recovery does: magic, sizes, the expected
 * index and position, body CRC and chain CRC. `available` bytes are readable from `at`.
 */
export function checkEntry(buffer: Buffer, at: number, available: number, pos: number, expectedIndex: number, previousChainCrc: number): EntryCheck {
  if (available < ENTRY_HEADER_BYTES) return { ok: false, reason: 'torn header' };
  const header = readEntryHeader(buffer, at);
  if (header.magic !== ENTRY_MAGIC) return { ok: false, reason: `magic ${header.magic}` };
  if (header.bodySizeBytes < 0 || header.sizeBytes !== ENTRY_HEADER_BYTES + header.bodySizeBytes) return { ok: false, reason: `size ${header.sizeBytes} vs body ${header.bodySizeBytes}` };
  if (header.sizeBytes > available) return { ok: false, reason: 'torn body' };
  if (header.index !== expectedIndex) return { ok: false, reason: `index ${header.index}, expected ${expectedIndex}` };
  if (header.pos !== pos) return { ok: false, reason: `pos ${header.pos}, expected ${pos}` };
  // Apache DLedger writes 0 in both CRC fields (none computed): such an entry is taken unchecked.
  if (header.bodyCrc === 0 && header.chainCrc === 0) return { ok: true, header };
  const body = buffer.subarray(at + ENTRY_HEADER_BYTES, at + header.sizeBytes);
  if (entryBodyCrc(body) !== header.bodyCrc) return { ok: false, reason: 'body CRC mismatch' };
  if (nextChainCrc(previousChainCrc, header.bodyCrc) !== header.chainCrc) return { ok: false, reason: 'chain CRC mismatch' };
  return { ok: true, header };
}
