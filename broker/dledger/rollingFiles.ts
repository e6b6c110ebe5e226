// A flat byte-offset space over fixed-size files (DLedger's MmapFileList): file k holds offsets
// [k × fileSize, (k + 1) × fileSize) and is named by its first offset, 20 digits. Files grow by
// write() (not mapped or preallocated); every file but the last is exactly fileSize bytes once
// the writer moved past it. A write never crosses a file end: the caller (dledgerStore) places
// entries and pads the data file's tail itself. Deleted files' descriptors are closed only when
// no fdatasync round uses them.
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError } from '../../protocol/errors.js';

const NAME_DIGITS = 20;
const MAX_OPEN_FILES = 64;

export function offsetFileName(offset: number): string {
  return String(offset).padStart(NAME_DIGITS, '0');
}

export interface FileOnDisk {
  number: number;
  sizeBytes: number;
}

export class RollingFiles {
  private readonly fds = new Map<number, number>();
  private readonly dirty = new Set<number>();
  private retired: number[] = [];
  private syncing = 0;
  /** A file was created or deleted since the last sync: the directory entry needs an fsync too. */
  private dirDirty = false;

  constructor(readonly dir: string, readonly fileSizeBytes: number, private readonly what: string) {
    if (!Number.isSafeInteger(fileSizeBytes) || fileSizeBytes <= 0) throw new FlushbenchError('BAD_CONFIG', `${what} file size ${fileSizeBytes} must be a positive integer`);
    fs.mkdirSync(dir, { recursive: true });
  }

  fileOf(offset: number): number {
    return Math.floor(offset / this.fileSizeBytes);
  }

  /** End offset of the file holding `offset`. */
  fileEnd(offset: number): number {
    return (this.fileOf(offset) + 1) * this.fileSizeBytes;
  }

  private pathOf(number: number): string {
    return path.join(this.dir, offsetFileName(number * this.fileSizeBytes));
  }

  /** The files present, in order; refuses names and sizes another file size would have made. */
  list(): FileOnDisk[] {
    const out: FileOnDisk[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      if (!/^\d{20}$/.test(name)) continue;
      const start = Number(name);
      const sizeBytes = fs.statSync(path.join(this.dir, name)).size;
      if (start % this.fileSizeBytes !== 0 || sizeBytes > this.fileSizeBytes) {
        throw new FlushbenchError('DLEDGER_FILE_SIZE_MISMATCH',
          `${path.join(this.dir, name)} (${sizeBytes} bytes) was not written with ${this.what} files of ${this.fileSizeBytes} bytes; ` +
          'start the broker with the file size the store was written with');
      }
      out.push({ number: start / this.fileSizeBytes, sizeBytes });
    }
    return out.sort((a, b) => a.number - b.number);
  }

  private fd(number: number, create: boolean): number | null {
    const open = this.fds.get(number);
    if (open !== undefined) return open;
    const file = this.pathOf(number);
    const exists = fs.existsSync(file);
    if (!create && !exists) return null;
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT);
    if (!exists) this.dirDirty = true;
    this.fds.set(number, fd);
    if (this.fds.size > MAX_OPEN_FILES) {
      // Reads of old files open them again; a file with unsynced writes stays open.
      for (const [other, otherFd] of this.fds) {
        if (other === number || this.dirty.has(other)) continue;
        this.fds.delete(other);
        this.retired.push(otherFd);
        break;
      }
      this.closeRetired();
    }
    return fd;
  }

  /** Writes `length` bytes of `buffer` at flat `offset`; the range must lie in one file. */
  write(buffer: Buffer, at: number, length: number, offset: number): void {
    const number = this.fileOf(offset);
    if (length > 0 && this.fileOf(offset + length - 1) !== number) {
      throw new FlushbenchError('DLEDGER_WRITE_ACROSS_FILES', `${this.what}: a ${length}-byte write at ${offset} would cross the end of a ${this.fileSizeBytes}-byte file`);
    }
    fs.writeSync(this.fd(number, true) as number, buffer, at, length, offset - number * this.fileSizeBytes);
    this.dirty.add(number);
  }

  /** Writes a range that may cross file ends, split at each (the index: units fill files exactly). */
  writeSpanning(buffer: Buffer, at: number, length: number, offset: number): void {
    let done = 0;
    while (done < length) {
      const chunk = Math.min(length - done, this.fileEnd(offset + done) - (offset + done));
      this.write(buffer, at + done, chunk, offset + done);
      done += chunk;
    }
  }

  /** Makes the file holding `offset` exactly fileSize long (zeros after what was written). */
  fillFile(offset: number): void {
    const number = this.fileOf(offset);
    fs.ftruncateSync(this.fd(number, true) as number, this.fileSizeBytes);
    this.dirty.add(number);
  }

  /** Reads [offset, offset + length), across files if need be; short at the end of the data. */
  read(offset: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const number = this.fileOf(at);
      const fd = this.fd(number, false);
      if (fd === null) break;
      const want = Math.min(length - done, (number + 1) * this.fileSizeBytes - at);
      const got = fs.readSync(fd, out, done, want, at - number * this.fileSizeBytes);
      done += got;
      if (got < want) break;
    }
    return done === length ? out : out.subarray(0, done);
  }

  /** Cuts everything from flat `end` on: later files are deleted, the file holding `end` is shortened. */
  truncate(end: number): void {
    const keep = this.fileOf(end);
    const keepStart = keep * this.fileSizeBytes;
    for (const file of this.list()) {
      if (file.number > keep || (file.number === keep && keep > 0 && end === keepStart)) this.remove(file.number);
    }
    if (end === keepStart && keep > 0) return;
    const fd = this.fd(keep, false);
    if (fd === null) return;
    fs.ftruncateSync(fd, end - keepStart);
    this.dirty.add(keep);
  }

  /** Deletes every file, whatever size wrote it (the index before it is rebuilt from the data). */
  removeAll(): void {
    for (const name of fs.readdirSync(this.dir)) {
      if (!/^\d{20}$/.test(name)) continue;
      const start = Number(name);
      if (start % this.fileSizeBytes === 0) this.remove(start / this.fileSizeBytes);
      else {
        fs.rmSync(path.join(this.dir, name), { force: true });
        this.dirDirty = true;
      }
    }
  }

  private remove(number: number): void {
    fs.rmSync(this.pathOf(number), { force: true });
    this.dirDirty = true;
    const fd = this.fds.get(number);
    this.fds.delete(number);
    this.dirty.delete(number);
    if (fd !== undefined) this.retired.push(fd);
    this.closeRetired();
  }

  private closeRetired(): void {
    if (this.syncing > 0) return;
    for (const fd of this.retired.splice(0)) fs.closeSync(fd);
  }

  /** fdatasync of every file written since the last round (descriptors taken now stay open until it ends). */
  async sync(): Promise<void> {
    const round = [...this.dirty].flatMap((number) => {
      const fd = this.fds.get(number);
      return fd === undefined ? [] : [{ number, fd }];
    });
    this.dirty.clear();
    const dirDirty = this.dirDirty;
    this.dirDirty = false;
    this.syncing++;
    try {
      // A rolled-to file's entries are only durable once its name is (fdatasync does not cover it).
      if (dirDirty) {
        try {
          await this.syncDir();
        } catch (error) {
          this.dirDirty = true;
          for (const left of round) if (this.fds.get(left.number) === left.fd) this.dirty.add(left.number);
          throw error;
        }
      }
      for (let i = 0; i < round.length; i++) {
        const { fd } = round[i];
        try {
          await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
        } catch (error) {
          for (const left of round.slice(i)) if (this.fds.get(left.number) === left.fd) this.dirty.add(left.number);
          throw error;
        }
      }
    } finally {
      this.syncing--;
      this.closeRetired();
    }
  }

  private async syncDir(): Promise<void> {
    const handle = await fs.promises.open(this.dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  syncNow(): void {
    if (this.dirDirty) {
      const fd = fs.openSync(this.dir, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      this.dirDirty = false;
    }
    for (const number of this.dirty) {
      const fd = this.fds.get(number);
      if (fd !== undefined) fs.fdatasyncSync(fd);
    }
    this.dirty.clear();
  }

  close(): void {
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
    this.dirty.clear();
    this.syncing = 0;
    this.closeRetired();
  }
}
