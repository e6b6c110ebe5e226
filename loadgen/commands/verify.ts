// `bench verify`: crash and loss checks (see loadgen/verify.ts).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { runVerify } from '../verify.js';

export function register(program: Command): void {
  program
    .command('verify')
    .description('crash and loss checks: kill -9 brokers under load and count acked messages that did not survive')
    .option('--store-dir <dir>', 'where the brokers keep their stores (the disk under test)', '.flushbench-store')
    .option('--load <s>', 'seconds of load before each kill', '3')
    .option('--json', 'print results as JSON')
    .addHelpText('after', '\nA power cut cannot be simulated from user space: ASYNC_FLUSH can lose what was not fsynced\n(up to flushIntervalCommitLog, 500 ms by default, of acked messages). Test that on a VM with a hard reset.')
    .action(async (o: { storeDir: string; load: string; json?: boolean }) => {
      const loadS = Number(o.load);
      if (!Number.isFinite(loadS) || loadS <= 0 || loadS > 600) throw new Error(`--load ${o.load} must be 0..600 seconds`);
      const dir = path.resolve(o.storeDir, `verify-${Date.now()}`);
      fs.mkdirSync(dir, { recursive: true });
      try {
        const results = await runVerify(dir, loadS * 1000, (r) => {
          if (!o.json) process.stdout.write(`${r.passed ? 'PASS' : 'FAIL'} ${r.scenario}: ${r.expectation}; acked ${r.acked}, lost ${r.lost} (${r.detail})\n`);
        });
        if (o.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
        if (results.some((r) => !r.passed)) process.exitCode = 1;
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
}
