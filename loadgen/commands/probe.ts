// `bench probe`: the disk's physical limits (fdatasync rate, write bandwidth) and its settings.
import type { Command } from 'commander';
import { crossCheckWithFio, type FioCrossCheck, probeDisk } from '../diskProbe.js';

function seconds(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 300) throw new Error(`${name} ${value} must be 0..300 seconds`);
  return n;
}

export function register(program: Command): void {
  program
    .command('probe')
    .description("measure the disk's physical limits under the store directory: 4 KiB append + fdatasync/s (1, 4, 16 writers), write MB/s, write cache, scheduler, file system")
    .option('--store-dir <dir>', 'directory on the disk to probe', '.')
    .option('--duration <s>', 'seconds per test', '2')
    .option('--cross-check', 'also run fio (--rw=write --bs=4k --fdatasync=1) on the same directory, alternating with our probe, and print both')
    .option('--rounds <n>', 'fio / probe alternations for --cross-check', '3')
    .option('--json', 'print JSON')
    .action(async (o: { storeDir: string; duration: string; crossCheck?: boolean; rounds: string; json?: boolean }) => {
      const perTest = seconds(o.duration, '--duration');
      const rounds = Number(o.rounds);
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error(`--rounds ${o.rounds} must be an integer 1..20`);
      const progress = (line: string) => !o.json && process.stderr.write(`${line}\n`);
      const result = await probeDisk(o.storeDir, perTest, progress);
      const crossCheck: FioCrossCheck | null = o.crossCheck ? await crossCheckWithFio(o.storeDir, perTest, rounds, progress) : null;
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ ...result, fioCrossCheck: crossCheck }, null, 2)}\n`);
        return;
      }
      const d = result.device;
      const out: string[] = [`disk probe under ${result.dir}`, '', '| test | result |', '|---|---|'];
      for (const f of result.fsync) {
        out.push(`| 4 KiB append + fdatasync, ${f.writers} writer(s) | ${Math.round(f.fdatasyncPerSecond)} /s (p50 ${f.latencyMsP50.toFixed(2)} ms, p99 ${f.latencyMsP99.toFixed(2)} ms) |`);
      }
      out.push(`| sequential 1 MiB writes + fdatasync | ${result.sequentialWriteMBps.toFixed(0)} MB/s |`, `| page-cache writes (no sync) | ${result.pageCacheWriteMBps.toFixed(0)} MB/s |`);
      out.push(`| device | ${d.device ?? '?'} (${d.diskModel ?? 'model unknown'}) |`, `| rotational | ${d.rotational ?? '?'} |`, `| I/O scheduler | ${d.scheduler ?? '?'} |`);
      out.push(`| write cache | ${d.writeCache ?? '?'} |`, `| file system | ${d.fileSystem ?? '?'} (${d.mountOptions ?? ''}) |`);
      if (crossCheck) {
        out.push(`| fio --rw=write --bs=4k --fdatasync=1 (median of ${crossCheck.rounds}) | ${Math.round(crossCheck.fioIops)} IOPS |`);
        out.push(`| flushbench 1 writer, alternated with fio (median) | ${Math.round(crossCheck.oursPerSec)} /s (${(crossCheck.ratio * 100).toFixed(0)} % of fio) |`);
      }
      if (d.diskWarning) out.push('', `WARNING: ${d.diskWarning}`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
