// `bench probe`: the disk's physical limits (fdatasync rate, write bandwidth).
import type { Command } from 'commander';
import { probeDisk } from '../diskProbe.js';

export function register(program: Command): void {
  program
    .command('probe')
    .description("measure the disk's physical limits under the store directory: fdatasync/s (1, 4, 16 writers), write MB/s")
    .option('--store-dir <dir>', 'directory on the disk to probe', '.')
    .option('--duration <s>', 'seconds per test', '2')
    .option('--json', 'print JSON')
    .action(async (o: { storeDir: string; duration: string; json?: boolean }) => {
      const seconds = Number(o.duration);
      if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 300) throw new Error(`--duration ${o.duration} must be 0..300 seconds`);
      const result = await probeDisk(o.storeDir, seconds, (line) => !o.json && process.stderr.write(`${line}\n`));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      process.stdout.write(`disk probe under ${result.dir}\n\n| test | result |\n|---|---|\n`);
      for (const f of result.fsync) {
        process.stdout.write(`| 4 KiB append + fdatasync, ${f.writers} writer(s) | ${Math.round(f.fdatasyncPerSecond)} /s (p50 ${f.latencyMsP50.toFixed(2)} ms, p99 ${f.latencyMsP99.toFixed(2)} ms) |\n`);
      }
      process.stdout.write(`| sequential 1 MiB writes + fdatasync | ${result.sequentialWriteMBps.toFixed(0)} MB/s |\n| page-cache writes (no sync) | ${result.pageCacheWriteMBps.toFixed(0)} MB/s |\n`);
    });
}
