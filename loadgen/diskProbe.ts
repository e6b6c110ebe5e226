// `bench probe`: the disk's physical limits under the store directory — fdatasync rate with
// 1, 4 and 16 concurrent writers (4 KiB appends; 1 writer is `fsync4kPerSec`, what fio's
// `--rw=write --bs=4k --fdatasync=1` reports), sequential write bandwidth with one final
// fdatasync, page-cache write bandwidth without sync, and the device facts the seed's OS
// advice is about (write cache, scheduler, rotational, file system and mount options).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { HostFactsData } from '../reports/runData.js';
import { collectHostFacts } from './hostFacts.js';
import { type FsyncRate, measureFsyncRate } from './fsyncProbe.js';

export interface ProbeResult {
  dir: string;
  /** One writer, 4 KiB append + fdatasync per block, per second. */
  fsync4kPerSec: number;
  fsync: FsyncRate[];
  sequentialWriteMBps: number;
  pageCacheWriteMBps: number;
  device: Pick<HostFactsData, 'device' | 'diskModel' | 'rotational' | 'scheduler' | 'writeCache' | 'fileSystem' | 'mountOptions' | 'diskIsMeasured' | 'diskWarning'>;
}

export interface FioCrossCheck {
  /** fio's IOPS and ours, measured alternately (fio, ours, fio, ours …); medians. */
  fioIops: number;
  oursPerSec: number;
  /** ours / fio. */
  ratio: number;
  rounds: number;
}

const SEQUENTIAL_LIMIT_BYTES = 8 * 1024 ** 3;
const FIO_TIMEOUT_MS = 120_000;

const write = (fd: number, buffer: Buffer, position: number) =>
  new Promise<void>((resolve, reject) => fs.write(fd, buffer, 0, buffer.length, position, (error) => (error ? reject(error) : resolve())));
const fdatasync = (fd: number) => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));

/** 1 MiB writes for durationMs, then (optionally) one fdatasync; MB/s including the sync. */
async function bandwidth(dir: string, durationMs: number, sync: boolean): Promise<number> {
  const file = path.join(dir, sync ? 'sequential' : 'pagecache');
  const block = Buffer.alloc(1024 * 1024, 0x33);
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  const started = performance.now();
  try {
    while (performance.now() - started < durationMs && bytes < SEQUENTIAL_LIMIT_BYTES) {
      await write(fd, block, bytes);
      bytes += block.length;
    }
    if (sync) await fdatasync(fd);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  return bytes / 1e6 / ((performance.now() - started) / 1000);
}

/** A private directory under the store directory, removed at the end (and on exit). */
async function inProbeDir<T>(storeDir: string, work: (dir: string) => Promise<T>): Promise<T> {
  fs.mkdirSync(storeDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(storeDir, '.flushbench-probe-'));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once('exit', cleanup);
  try {
    return await work(dir);
  } finally {
    cleanup();
    process.removeListener('exit', cleanup);
  }
}

export async function probeDisk(storeDir: string, secondsPerTest: number, progress: (line: string) => void = () => {}): Promise<ProbeResult> {
  const facts = await collectHostFacts(storeDir);
  return inProbeDir(storeDir, async (dir) => {
    const durationMs = secondsPerTest * 1000;
    const fsync: FsyncRate[] = [];
    for (const writers of [1, 4, 16]) {
      progress(`fdatasync with ${writers} writer(s)…`);
      fsync.push(await measureFsyncRate(dir, writers, durationMs));
    }
    progress('sequential write + fdatasync…');
    const sequentialWriteMBps = await bandwidth(dir, durationMs, true);
    progress('page-cache write…');
    const pageCacheWriteMBps = await bandwidth(dir, durationMs, false);
    const { device, diskModel, rotational, scheduler, writeCache, fileSystem, mountOptions, diskIsMeasured, diskWarning } = facts;
    return {
      dir: path.resolve(storeDir), fsync4kPerSec: fsync[0].fdatasyncPerSecond, fsync, sequentialWriteMBps, pageCacheWriteMBps,
      device: { device, diskModel, rotational, scheduler, writeCache, fileSystem, mountOptions, diskIsMeasured, diskWarning },
    };
  });
}

function runFio(dir: string, seconds: number): Promise<number> {
  const args = ['--name=flushbench-probe', '--rw=write', '--bs=4k', '--fdatasync=1', '--size=1g', `--runtime=${seconds}`, '--time_based=0',
    '--output-format=json', `--directory=${dir}`];
  return new Promise((resolve, reject) => {
    execFile('fio', args, { timeout: FIO_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
      if (error) {
        reject((error as NodeJS.ErrnoException).code === 'ENOENT' ? new Error('fio is not installed (apt-get install fio)') : error);
        return;
      }
      const iops = (JSON.parse(stdout) as { jobs: Array<{ write: { iops: number } }> }).jobs[0]?.write.iops;
      if (typeof iops !== 'number') reject(new Error('fio printed no write IOPS'));
      else resolve(iops);
      for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { force: true });
    });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * fio and our 1-writer probe on the same directory, alternated so host drift (this host sees
 * CPU steal and noisy neighbours) falls on both; the medians are compared.
 */
export async function crossCheckWithFio(storeDir: string, secondsPerTest: number, rounds: number, progress: (line: string) => void = () => {}): Promise<FioCrossCheck> {
  return inProbeDir(storeDir, async (dir) => {
    const fio: number[] = [];
    const ours: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      progress(`cross-check round ${round}/${rounds}: fio…`);
      fio.push(await runFio(dir, secondsPerTest));
      progress(`cross-check round ${round}/${rounds}: flushbench probe…`);
      ours.push((await measureFsyncRate(dir, 1, secondsPerTest * 1000)).fdatasyncPerSecond);
    }
    const fioIops = median(fio);
    const oursPerSec = median(ours);
    return { fioIops, oursPerSec, ratio: oursPerSec / fioIops, rounds };
  });
}
