// `bench dledger failover --kills N [--timing default|fast]`: failover time of a DLedger group
// over repeated leader SIGKILLs (loadgen/dledgerFailover.ts); writes failover.json and prints a table.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { distribution, runDLedgerFailover } from '../dledgerFailover.js';

/** Named DLedger timings: DLedger's defaults, and a tightened one (10× shorter heartbeats). */
export const DLEDGER_TIMINGS: Record<string, Record<string, string>> = {
  default: {},
  fast: { heartBeatTimeIntervalMs: '200', maxHeartBeatLeak: '3', minVoteIntervalMs: '50', maxVoteIntervalMs: '150' },
};

export function register(program: Command): void {
  const dledger = program.command('dledger').description('DLedger mode measurements');
  dledger
    .command('failover')
    .description('SIGKILL the DLedger leader N times under load; failover time, failed sends, TPS/p99 before and after')
    .option('--kills <n>', 'leader kills', '20')
    .option('--timing <name>', `DLedger timing: ${Object.keys(DLEDGER_TIMINGS).join(' | ')}`, 'default')
    .option('--flush <type>', 'ASYNC_FLUSH | SYNC_FLUSH', 'ASYNC_FLUSH')
    .option('--producers <n>', 'closed-loop producers', '16')
    .option('--window-ms <n>', 'TPS/p99 window before each kill and after each recovery', '2000')
    .option('--route-poll-ms <n>', 'how often producers ask the name server for the master', '100')
    .option('--out <dir>', 'where failover.json goes', path.join('reports', 'runs'))
    .action(async (o: { kills: string; timing: string; flush: string; producers: string; windowMs: string; routePollMs: string; out: string }) => {
      const timing = DLEDGER_TIMINGS[o.timing];
      if (!timing) throw new Error(`--timing ${o.timing}: use one of ${Object.keys(DLEDGER_TIMINGS).join(', ')}`);
      if (o.flush !== 'ASYNC_FLUSH' && o.flush !== 'SYNC_FLUSH') throw new Error(`--flush ${o.flush}: use ASYNC_FLUSH or SYNC_FLUSH`);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const runDir = path.resolve(o.out, `${stamp}-dledger-failover-${o.timing}`);
      const storeDir = path.resolve('.flushbench-store', `${stamp}-dledger-failover`);
      fs.mkdirSync(runDir, { recursive: true });
      const results = await runDLedgerFailover({
        kills: Number(o.kills), timing, flushDiskType: o.flush, producers: Number(o.producers), sizeBytes: 128, windowMs: Number(o.windowMs),
        routePollMs: Number(o.routePollMs), sendTimeoutMs: 3000, storeDir, logDir: path.join(runDir, 'logs'),
        onProgress: (line) => process.stdout.write(`${line}\n`),
      });
      fs.rmSync(storeDir, { recursive: true, force: true });
      const failover = distribution(results.map((r) => r.failoverMs));
      const failed = distribution(results.map((r) => r.failedSends));
      const tpsBefore = distribution(results.map((r) => r.before.tps));
      const tpsAfter = distribution(results.map((r) => r.after.tps));
      const p99Before = distribution(results.map((r) => r.before.p99Ms));
      const p99After = distribution(results.map((r) => r.after.p99Ms));
      const summary = { timing: o.timing, timingKeys: timing, flushDiskType: o.flush, routePollMs: Number(o.routePollMs), failover, failed, tpsBefore, tpsAfter, p99Before, p99After, kills: results };
      fs.writeFileSync(path.join(runDir, 'failover.json'), `${JSON.stringify(summary, null, 2)}\n`);
      const row = (name: string, d: ReturnType<typeof distribution>) => `| ${name} | ${d.min} | ${d.p50} | ${d.p90} | ${d.max} | ${d.mean} |`;
      process.stdout.write([
        '', `DLedger failover, timing ${o.timing} ${JSON.stringify(timing)}, ${o.flush}, ${results.length} leader kills (route poll ${o.routePollMs} ms)`,
        '| measure | min | p50 | p90 | max | mean |', '|---|---|---|---|---|---|',
        row('failover ms (SIGKILL → first SEND_OK from new leader)', failover), row('failed sends per kill', failed),
        row('TPS before kill', tpsBefore), row('TPS after recovery', tpsAfter), row('p99 ms before', p99Before), row('p99 ms after', p99After),
        `automatic failover, no manual switch: ${results.length === Number(o.kills) ? 'CONFIRMED' : 'NOT CONFIRMED'} (${results.length}/${o.kills} kills recovered without intervention)`,
        `written: ${path.join(runDir, 'failover.json')}`, '',
      ].join('\n'));
    });
}
