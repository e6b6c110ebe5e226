// In-process HA benchmark: master store + HAMaster and slave store + HASlave over loopback,
// N concurrent appenders of small messages for each flush × replication combination.
// Reports TPS (PUT_OK per second), put latency and replication latency (waitForSlave → PUT_OK).
//   npm run bench:ha -- [--seconds 3] [--concurrency 64] [--size 128] [--dir /path] [--combos async-sync,sync-sync] [--json]
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import hdr from 'hdr-histogram-js';
import { HAMaster } from '../haMaster.js';
import { HASlave } from '../haSlave.js';
import { encodeSocketAddress, type MessageToStore } from '../../store/messageCodec.js';
import { MessageStore } from '../../store/messageStore.js';
import type { PutStatus } from '../../store/putStatus.js';
import { defaultStoreConfig } from '../../store/storeConfig.js';
import { FLUSH_REPLICATION_COMBOS, type FlushReplicationCombo } from '../flushReplicationCombos.js';

interface Options {
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  size: number;
  dir: string;
  segmentMb: number;
  combos: string;
  json: boolean;
}

type Histogram = ReturnType<typeof hdr.build>;

const newHistogram = (): Histogram => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });

interface ComboResult {
  combo: string;
  tps: number;
  puts: number;
  statuses: Record<string, number>;
  putLatencyUs: { p50: number; p99: number; max: number };
  replicationLatencyUs: { p50: number; p99: number; max: number } | null;
  haTransferredBytes: number;
  slaveFallBehindBytesAtEnd: number;
  masterFsyncs: number;
  slaveFsyncs: number;
}

function alphanumeric(size: number): Buffer {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = chars.charCodeAt(Math.floor(Math.random() * chars.length));
  return out;
}

const summary = (h: Histogram): { p50: number; p99: number; max: number } => ({ p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), max: h.maxValue });

async function runCombo(combo: FlushReplicationCombo, options: Options): Promise<ComboResult> {
  const root = fs.mkdtempSync(path.join(options.dir, `.flushbench-habench-${combo.name}-`));
  const base = { mappedFileSizeCommitLog: options.segmentMb * 1024 * 1024 };
  const master = await MessageStore.open({ ...defaultStoreConfig(path.join(root, 'master')), ...base, brokerRole: combo.masterRole, flushDiskType: combo.masterFlush });
  const slave = await MessageStore.open({ ...defaultStoreConfig(path.join(root, 'slave')), ...base, brokerRole: 'SLAVE', flushDiskType: combo.slaveFlush });
  const haMaster = new HAMaster(master, { haListenPort: 0 });
  const port = await haMaster.start();
  const replication = newHistogram();
  let measuring = false;
  // Same gate, timed from the call to its PUT_OK (the broker's view of replication latency).
  master.setReplicationGate({
    isSlaveOk: (end) => haMaster.isSlaveOk(end),
    waitForSlave: (end) => {
      const startedNs = process.hrtime.bigint();
      return haMaster.waitForSlave(end).then((status) => {
        if (measuring && status === 'PUT_OK') replication.recordValue(Math.max(1, Number((process.hrtime.bigint() - startedNs) / 1000n)));
        return status;
      });
    },
  });
  const haSlave = new HASlave(slave, { masterHaAddress: () => `127.0.0.1:${port}` });
  haSlave.start();
  for (let i = 0; i < 500 && haMaster.haConnectionCount === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (haMaster.haConnectionCount === 0) throw new Error('the slave did not connect in 5 s');
  // Like RocketMQ's HAClient, the slave's first report (where to start) comes haSendHeartbeatInterval
  // (5 s) after it connected; the steady state is measured from then on.
  for (let i = 0; i < 1000 && !haMaster.connectionsStatus().some((c) => c.slaveRequestOffset >= 0); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!haMaster.connectionsStatus().some((c) => c.slaveRequestOffset >= 0)) throw new Error('the slave did not report its offset in 10 s');

  const host = encodeSocketAddress('127.0.0.1', 10911);
  const putLatency = newHistogram();
  const statuses: Record<string, number> = {};
  let puts = 0;
  let stop = false;
  const worker = async (id: number): Promise<void> => {
    const message: MessageToStore = {
      topic: 'BenchmarkTest', queueId: id % 8, flag: 0, body: alphanumeric(options.size),
      properties: `UNIQ_KEY\u0001${id.toString(16).padStart(32, '0')}\u0002WAIT\u0001true`,
      sysFlag: 0, bornTimestamp: Date.now(), bornHost: host, storeHost: host, reconsumeTimes: 0, preparedTransactionOffset: 0,
    };
    while (!stop) {
      const startedNs = process.hrtime.bigint();
      message.bornTimestamp = Date.now();
      const result = await master.putMessage(message);
      if (!measuring) continue;
      putLatency.recordValue(Math.max(1, Number((process.hrtime.bigint() - startedNs) / 1000n)));
      const status: PutStatus = result.status;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 'PUT_OK') puts++;
    }
  };
  const workers = Array.from({ length: options.concurrency }, (_, i) => worker(i));
  await new Promise((resolve) => setTimeout(resolve, options.warmupSeconds * 1000));
  const masterFsyncsBefore = master.stats().fsyncCount;
  const slaveFsyncsBefore = slave.stats().fsyncCount;
  const transferredBefore = haMaster.haTransferredBytes;
  measuring = true;
  const startedMs = performance.now();
  await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
  measuring = false;
  const elapsedS = (performance.now() - startedMs) / 1000;
  stop = true;
  await Promise.all(workers);
  const result: ComboResult = {
    combo: combo.name,
    tps: Math.round(puts / elapsedS),
    puts,
    statuses,
    putLatencyUs: summary(putLatency),
    replicationLatencyUs: replication.totalCount > 0 ? summary(replication) : null,
    haTransferredBytes: haMaster.haTransferredBytes - transferredBefore,
    slaveFallBehindBytesAtEnd: haMaster.slaveFallBehindBytes,
    masterFsyncs: master.stats().fsyncCount - masterFsyncsBefore,
    slaveFsyncs: slave.stats().fsyncCount - slaveFsyncsBefore,
  };
  await haSlave.close();
  await haMaster.close();
  await slave.shutdown();
  await master.shutdown();
  fs.rmSync(root, { recursive: true, force: true });
  return result;
}

function formatUs(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us} µs`;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('bench:ha')
    .description('In-process RocketMQ HA benchmark: TPS and replication latency for each flush × replication combination')
    .option('--seconds <n>', 'measured seconds per combination', Number, 3)
    .option('--warmup-seconds <n>', 'warm-up seconds per combination (not counted)', Number, 1)
    .option('--concurrency <n>', 'concurrent appenders', Number, 64)
    .option('--size <bytes>', 'message body size', Number, 128)
    .option('--dir <path>', 'where the two stores live (the disk under test; /tmp may be tmpfs)', process.cwd())
    .option('--segment-mb <n>', 'mappedFileSizeCommitLog in MiB', Number, 1024)
    .option('--combos <list>', 'comma-separated combinations', FLUSH_REPLICATION_COMBOS.map((c) => c.name).join(','))
    .option('--json', 'print JSON instead of a table', false)
    .parse();
  const options = program.opts<Options>();
  const wanted = options.combos.split(',').map((s) => s.trim());
  const results: ComboResult[] = [];
  for (const combo of FLUSH_REPLICATION_COMBOS.filter((c) => wanted.includes(c.name))) results.push(await runCombo(combo, options));
  if (options.json) {
    console.log(JSON.stringify({ options, results }, null, 2));
    return;
  }
  console.log(`HA bench: ${options.concurrency} appenders × ${options.size} B, ${options.seconds} s per combination, stores in ${options.dir}`);
  console.log('combination   TPS      put p50     put p99     repl p50    repl p99    repl max    fsyncs m/s  other statuses');
  for (const r of results) {
    const repl = r.replicationLatencyUs;
    const other = Object.entries(r.statuses).filter(([s]) => s !== 'PUT_OK').map(([s, n]) => `${s}=${n}`).join(' ') || '-';
    console.log([
      r.combo.padEnd(12), String(r.tps).padStart(7), formatUs(r.putLatencyUs.p50).padStart(11), formatUs(r.putLatencyUs.p99).padStart(11),
      (repl ? formatUs(repl.p50) : '-').padStart(11), (repl ? formatUs(repl.p99) : '-').padStart(11), (repl ? formatUs(repl.max) : '-').padStart(11),
      `${r.masterFsyncs}/${r.slaveFsyncs}`.padStart(11), other,
    ].join(' '));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
