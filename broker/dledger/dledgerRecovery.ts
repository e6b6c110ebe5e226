// Recovery scan of the DLedger data files (FORMAT.md "Recovery"): keeps the longest valid
// prefix (a blank leads to the next file), cuts everything after it (possibly in an earlier
// file than the last) and rewrites the index files from the valid entries.
import { childLogger } from '../../protocol/logger.js';
import { checkEntry, ENTRY_HEADER_BYTES, INDEX_UNIT_BYTES, writeIndexUnit } from './entryCodec.js';
import { offsetFileName, type RollingFiles } from './rollingFiles.js';

const log = childLogger('dledger-store');
const RECOVERY_WINDOW_BYTES = 8 * 1024 * 1024;
const INDEX_BATCH_UNITS = 32 * 1024;
/** MmapFileList.BLANK_MAGIC_CODE and MIN_BLANK_LEN: the padding at the end of a rolled data file. */
export const BLANK_MAGIC = -1;
export const MIN_BLANK_BYTES = 8;

export interface ScanResult {
  /** End of the last valid entry. */
  end: number;
  /** Valid entries (the next index). */
  index: number;
  chain: number;
  term: number;
  diskEnd: number;
  reason: string | null;
}

export function scanDataFiles(data: RollingFiles, indexFiles: RollingFiles, dir: string): ScanResult {
    const fileSize = data.fileSizeBytes;
    const files = data.list();
    const last = files.at(-1);
    const diskEnd = last ? last.number * fileSize + last.sizeBytes : 0;
    const window = Buffer.allocUnsafe(Math.min(RECOVERY_WINDOW_BYTES, fileSize));
    let windowStart = 0;
    let windowLength = 0;
    let loadedAt = -1;
    let pos = 0;
    let end = 0;
    let index = 0;
    let chain = 0;
    let term = -1;
    let reason: string | null = null;
    indexFiles.removeAll();
    const units = Buffer.allocUnsafe(INDEX_BATCH_UNITS * INDEX_UNIT_BYTES);
    let unitCount = 0;
    let unitsFrom = 0;
    const flushUnits = () => {
      if (unitCount === 0) return;
      indexFiles.writeSpanning(units, 0, unitCount * INDEX_UNIT_BYTES, unitsFrom * INDEX_UNIT_BYTES);
      unitsFrom += unitCount;
      unitCount = 0;
    };
    const inWindow = (at: number): boolean => {
      if (at + MIN_BLANK_BYTES > windowLength) return false;
      return window.readInt32BE(at) === BLANK_MAGIC || at + Math.max(window.readInt32BE(at + 4), ENTRY_HEADER_BYTES) <= windowLength;
    };
    let fileAt = 0;
    scan: while (fileAt < files.length) {
      const fileStart = files[fileAt].number * fileSize;
      if (fileStart !== pos) {
        reason = `data file ${offsetFileName(fileStart)} does not follow at ${pos}`;
        break;
      }
      const fileDataEnd = fileStart + files[fileAt].sizeBytes;
      while (pos < fileDataEnd) {
        let at = pos - windowStart;
        if (!inWindow(at) && loadedAt !== pos) {
          windowStart = loadedAt = pos;
          windowLength = data.read(pos, Math.min(window.length, fileDataEnd - pos)).copy(window, 0);
          at = 0;
          const need = windowLength >= MIN_BLANK_BYTES && window.readInt32BE(0) !== BLANK_MAGIC ? window.readInt32BE(4) : 0;
          if (need > window.length) {
            reason = `entry at ${pos} claims ${need} bytes, more than the ${window.length}-byte recovery window`;
            break scan;
          }
        }
        if (windowLength - at >= MIN_BLANK_BYTES && window.readInt32BE(at) === BLANK_MAGIC) {
          const left = fileStart + fileSize - pos;
          if (window.readInt32BE(at + 4) !== left) {
            reason = `blank at pos ${pos} claims ${window.readInt32BE(at + 4)} bytes, ${left} are left in its file`;
            break scan;
          }
          pos = fileStart + fileSize;
          fileAt++;
          continue scan;
        }
        const check = checkEntry(window, at, windowLength - at, pos, index, chain);
        if (!check.ok) {
          reason = `${check.reason} at pos ${pos} (index ${index})`;
          break scan;
        }
        writeIndexUnit(units, unitCount * INDEX_UNIT_BYTES, pos, check.header.sizeBytes, index, check.header.term);
        if (++unitCount === INDEX_BATCH_UNITS) flushUnits();
        chain = check.header.chainCrc;
        term = check.header.term;
        pos += check.header.sizeBytes;
        end = pos;
        index++;
      }
      if (fileAt < files.length - 1) reason = `data file ${offsetFileName(fileStart)} ends without a blank but later files exist`;
      break;
    }
    if (reason === null && end < diskEnd) reason = 'a blank ends the last data file and no entry follows it';
    flushUnits();
    if (end < diskEnd) {
      log.warn({ dir: dir, validEnd: end, diskEnd, reason }, 'DLedger recovery: cutting the data files after the last valid entry');
      data.truncate(end);
    }
  return { end, index, chain, term, diskEnd, reason };
}
