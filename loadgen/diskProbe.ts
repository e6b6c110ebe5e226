// `bench probe`: the disk's physical limits under the store directory — fdatasync rate with
// 1, 4 and 16 concurrent writers (4 KiB appends), sequential write bandwidth with one final
// fdatasync, and page-cache write bandwidth without sync.
import fs from 'node:fs';
import path from 'node:path';

export interface FsyncResult {
  writers: number;
  fdatasyncPerSecond: number;
  latencyMsP50: number;
  latencyMsP99: number;
}

export interface ProbeResult {
  dir: string;
  fsync: FsyncResult[];
  sequentialWriteMBps: number;
  pageCacheWriteMBps: number;
}

const write = (fd: number, buffer: Buffer, position: number) =>
  new Promise<void>((resolve, reject) => fs.write(fd, buffer, 0, buffer.length, position, (error) => (error ? reject(error) : resolve())));
const fdatasync = (fd: number) => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

/** Concurrent 4 KiB append + fdatasync loops, each on its own file. */
async function fsyncRate(dir: string, writers: number, durationMs: number): Promise<FsyncResult> {
  const block = Buffer.alloc(4096, 0x5a);
  const latencies: number[] = [];
  const end = performance.now() + durationMs;
  const files = Array.from({ length: writers }, (_, i) => path.join(dir, `fsync-${writers}-${i}`));
  const started = performance.now();
  await Promise.all(files.map(async (file) => {
    const fd = fs.openSync(file, 'w');
    try {
      for (let position = 0; performance.now() < end && latencies.length < 1_000_000; position += block.length) {
        const t0 = performance.now();
        await write(fd, block, position);
        await fdatasync(fd);
        latencies.push(performance.now() - t0);
      }
    } finally {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
    }
  }));
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { writers, fdatasyncPerSecond: latencies.length / elapsedS, latencyMsP50: percentile(latencies, 0.5), latencyMsP99: percentile(latencies, 0.99) };
}

/** 1 MiB writes for durationMs, then (optionally) one fdatasync; MB/s including the sync. */
async function bandwidth(dir: string, durationMs: number, sync: boolean): Promise<number> {
  const file = path.join(dir, sync ? 'sequential' : 'pagecache');
  const block = Buffer.alloc(1024 * 1024, 0x33);
  const fd = fs.openSync(file, 'w');
  let bytes = 0;
  const started = performance.now();
  try {
    while (performance.now() - started < durationMs && bytes < 8 * 1024 ** 3) {
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

export async function probeDisk(storeDir: string, secondsPerTest: number, progress: (line: string) => void = () => {}): Promise<ProbeResult> {
  const dir = fs.mkdtempSync(path.join(fs.mkdirSync(storeDir, { recursive: true }) ?? storeDir, '.flushbench-probe-'));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once('exit', cleanup);
  try {
    const durationMs = secondsPerTest * 1000;
    const fsync: FsyncResult[] = [];
    for (const writers of [1, 4, 16]) {
      progress(`fdatasync with ${writers} writer(s)…`);
      fsync.push(await fsyncRate(dir, writers, durationMs));
    }
    progress('sequential write + fdatasync…');
    const sequentialWriteMBps = await bandwidth(dir, durationMs, true);
    progress('page-cache write…');
    const pageCacheWriteMBps = await bandwidth(dir, durationMs, false);
    return { dir: storeDir, fsync, sequentialWriteMBps, pageCacheWriteMBps };
  } finally {
    cleanup();
    process.removeListener('exit', cleanup);
  }
}
