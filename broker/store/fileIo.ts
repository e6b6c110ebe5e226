// The store's only door to the file system. Tests wrap it to observe or fail individual
// calls (e.g. "no ack before the covering fdatasync"); production uses nodeFileIo.
import fs from 'node:fs';
import type { SpaceStats } from './diskSpaceGuard.js';

export interface FileIo {
  open(path: string, flags: string | number): Promise<number>;
  /** Synchronous open + size, used once per segment so an append can roll without waiting. */
  openSync(path: string, flags: string | number): number;
  ftruncateSync(fd: number, lengthBytes: number): void;
  /** Positional write; resolves with the number of bytes written (may be short). */
  write(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Synchronous positional write (page cache only), for the CommitLog's per-turn batch. */
  writeSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  fdatasync(fd: number): Promise<void>;
  read(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Synchronous positional read, for page-cache reads of committed data on the pull path. */
  readSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  ftruncate(fd: number, lengthBytes: number): Promise<void>;
  close(fd: number): Promise<void>;
  /** fsync of a directory, so a created or renamed entry survives a power cut (default: nodeFileIo's). */
  fsyncDirectorySync?(dirPath: string): void;
  /** Synchronous fdatasync, for recovery (runs before the store serves anything). */
  fdatasyncSync?(fd: number): void;
  /** File system block counts of a directory, null if unknown (default: fs.statfsSync); the disk-full guard reads it. */
  statfsSync?(dirPath: string): SpaceStats | null;
}

function callback<T>(resolve: (value: T) => void, reject: (error: Error) => void) {
  return (error: NodeJS.ErrnoException | null, value: T) => (error ? reject(error) : resolve(value));
}

export const nodeFileIo: FileIo = {
  open: (path, flags) => new Promise((resolve, reject) => fs.open(path, flags, 0o644, callback(resolve, reject))),
  openSync: (path, flags) => fs.openSync(path, flags, 0o644),
  ftruncateSync: (fd, lengthBytes) => fs.ftruncateSync(fd, lengthBytes),
  write: (fd, buffer, offset, length, position) =>
    new Promise((resolve, reject) => fs.write(fd, buffer, offset, length, position, (error, written) => (error ? reject(error) : resolve(written)))),
  writeSync: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
  fdatasync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()))),
  read: (fd, buffer, offset, length, position) =>
    new Promise((resolve, reject) => fs.read(fd, buffer, offset, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)))),
  readSync: (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
  ftruncate: (fd, lengthBytes) => new Promise((resolve, reject) => fs.ftruncate(fd, lengthBytes, (error) => (error ? reject(error) : resolve()))),
  close: (fd) => new Promise((resolve, reject) => fs.close(fd, (error) => (error ? reject(error) : resolve()))),
  fsyncDirectorySync: (dirPath) => {
    const fd = fs.openSync(dirPath, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
};

/** fsyncs `dirPath` through `io` (or Node's fs when `io` does not provide it). */
export function fsyncDirectory(io: FileIo, dirPath: string): void {
  (io.fsyncDirectorySync ?? nodeFileIo.fsyncDirectorySync)?.(dirPath);
}

export function fdatasyncNow(io: FileIo, fd: number): void {
  (io.fdatasyncSync ?? fs.fdatasyncSync)(fd);
}

/** Writes all of buffer[offset, offset+length) at position, looping over short writes. */
export async function writeFully(io: FileIo, fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const written = await io.write(fd, buffer, offset + done, length - done, position + done);
    if (written <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    done += written;
  }
}

/** Synchronous writeFully: buffer[0, length) at position. */
export function writeFullySync(io: FileIo, fd: number, buffer: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const written = io.writeSync(fd, buffer, done, length - done, position + done);
    if (written <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    done += written;
  }
}

/** Read-write, create if missing, never truncate, no O_APPEND (positional writes must land where asked). */
export const OPEN_READ_WRITE_CREATE = fs.constants.O_RDWR | fs.constants.O_CREAT;

export function segmentFileName(startOffset: number): string {
  return String(startOffset).padStart(20, '0');
}
