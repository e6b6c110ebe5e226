// Test helpers for the store: temp store roots on a real disk, messages, and a FileIo that
// records calls and can hold or fail fdatasync/write.
import { type FileIo, nodeFileIo } from '../../broker/store/fileIo.js';
import { encodeSocketAddress, type MessageToStore } from '../../broker/store/messageCodec.js';
import { MessageStore } from '../../broker/store/messageStore.js';
import { defaultStoreConfig, type StoreConfig } from '../../broker/store/storeConfig.js';
import { diskScratchDir } from '../support/scratch.js';

export const HOST = encodeSocketAddress('127.0.0.1', 10911);

/** A store root on the project's disk (store tests fsync; /tmp may be tmpfs), removed at exit at the latest. */
export function tempRoot(name: string): string {
  return diskScratchDir(`store-${name}`);
}

export function config(root: string, overrides: Partial<StoreConfig> = {}): StoreConfig {
  return { ...defaultStoreConfig(root), mappedFileSizeCommitLog: 256 * 1024, mappedFileSizeConsumeQueue: 20 * 1000, ...overrides };
}

export function message(i: number, overrides: Partial<MessageToStore> = {}): MessageToStore {
  return {
    topic: 'T', queueId: i % 2, flag: 0, body: Buffer.from(`body-${i}-${'x'.repeat(100)}`), properties: `TAGS\u0001tag${i % 3}\u0002UNIQ_KEY\u0001${i}`,
    sysFlag: 0, bornTimestamp: 1_700_000_000_000 + i, bornHost: HOST, storeHost: HOST, reconsumeTimes: 0, preparedTransactionOffset: 0, ...overrides,
  };
}

/** A FileIo that logs calls, and can hold fdatasync (or all later I/O) until released, or fail writes. */
export class InstrumentedIo implements FileIo {
  readonly events: string[] = [];
  fdatasyncCalls = 0;
  fdatasyncDone = 0;
  holdFdatasync = false;
  /** Once set, every later write/fdatasync never completes (a killed process). */
  dead = false;
  failWritesWith: string | null = null;
  private held: Array<() => void> = [];

  open = nodeFileIo.open;
  openSync = nodeFileIo.openSync;
  ftruncateSync = nodeFileIo.ftruncateSync;
  read = nodeFileIo.read;
  readSync = nodeFileIo.readSync;
  ftruncate = nodeFileIo.ftruncate;
  close = nodeFileIo.close;

  write = async (fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> => {
    if (this.dead) return new Promise<number>(() => {});
    if (this.failWritesWith) throw Object.assign(new Error(`${this.failWritesWith}: injected`), { code: this.failWritesWith });
    const written = await nodeFileIo.write(fd, buffer, offset, length, position);
    this.events.push(`write ${position}+${written}`);
    return written;
  };

  /** A killed process writes nothing: a synchronous write can only fail (EIO) then. */
  writeSync = (fd: number, buffer: Buffer, offset: number, length: number, position: number): number => {
    if (this.dead) throw Object.assign(new Error('EIO: the process is dead'), { code: 'EIO' });
    if (this.failWritesWith) throw Object.assign(new Error(`${this.failWritesWith}: injected`), { code: this.failWritesWith });
    const written = nodeFileIo.writeSync(fd, buffer, offset, length, position);
    this.events.push(`write ${position}+${written}`);
    return written;
  };

  fdatasync = async (fd: number): Promise<void> => {
    if (this.dead) return new Promise<void>(() => {});
    this.fdatasyncCalls++;
    if (this.holdFdatasync) await new Promise<void>((resolve) => this.held.push(resolve));
    await nodeFileIo.fdatasync(fd);
    this.fdatasyncDone++;
    this.events.push('fdatasync-done');
  };

  releaseFdatasync(): void {
    this.holdFdatasync = false;
    for (const release of this.held.splice(0)) release();
  }
}

export async function openStore(root: string, overrides: Partial<StoreConfig> = {}, io: FileIo = nodeFileIo): Promise<MessageStore> {
  return MessageStore.open(config(root, overrides), io);
}
