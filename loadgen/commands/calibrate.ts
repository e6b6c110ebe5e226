// `bench calibrate`: the harness's own ceiling (an ack-without-store broker, same load).
import type { Command } from 'commander';
import path from 'node:path';
import fs from 'node:fs';
import { calibrate } from '../calibrate.js';
import { DEFAULT_LOAD, validateLoad } from '../profile.js';

export function register(program: Command): void {
  program
    .command('calibrate')
    .description('measure the harness ceiling: the same load against a broker that acks without storing')
    .option('--producers <n>', 'concurrent producers', String(DEFAULT_LOAD.producers))
    .option('--size <bytes>', 'message body size', String(DEFAULT_LOAD.sizeBytes))
    .option('--duration <s>', 'measured seconds (at most 8)', '8')
    .option('--warmup <s>', 'warm-up seconds', '2')
    .option('--store-dir <dir>', 'scratch directory for the broker', '.flushbench-store')
    .option('--serialize <type>', 'JSON or ROCKETMQ remoting headers', 'ROCKETMQ')
    .option('--repeat <n>', 'runs; the ceiling is the best of them', '1')
    .option('--quiet', 'no progress lines')
    .action(async (o: { producers: string; size: string; duration: string; warmup: string; storeDir: string; serialize: string; repeat: string; quiet?: boolean }) => {
      const load = { ...DEFAULT_LOAD, producers: Number(o.producers), sizeBytes: Number(o.size), durationS: Number(o.duration), warmupS: Number(o.warmup) };
      validateLoad(load, 'command line');
      if (o.serialize !== 'JSON' && o.serialize !== 'ROCKETMQ') throw new Error('--serialize must be JSON or ROCKETMQ');
      const repeat = Number(o.repeat);
      if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) throw new Error(`--repeat must be a whole number from 1 to 20, got ${o.repeat}`);
      const storeDir = path.resolve(o.storeDir, `calibrate-${Date.now()}`);
      try {
        const tps = await calibrate(load, {
          storeDir, logDir: path.join(storeDir, 'logs'), repeat, namesrv: null, keepStore: false, quiet: Boolean(o.quiet), json: false,
          harnessCeilingTps: null, serializeType: o.serialize,
        });
        process.stdout.write(`harness ceiling: ${Math.round(tps)} acks/s (${load.producers} producers × ${load.sizeBytes} B, ${o.serialize} headers)\n`);
      } finally {
        fs.rmSync(storeDir, { recursive: true, force: true });
      }
    });
}
