// `bench run --profile <name>`: the main job. Launches each profile's cluster on the disk
// under test, drives the load, and writes a report with a verdict per claim.
import fs from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import type { HostFactsData, ProfileResult, RunData } from '../../reports/runData.js';
import { applyOverrides, listProfiles, type Profile, resolveProfiles } from '../profile.js';
import { runProfileEngines, type RunOptions } from '../runProfile.js';
import { type Engine, ENGINES } from '../clusterLauncher.js';
import { calibrate } from '../calibrate.js';
import { collectHostFacts } from '../hostFacts.js';
import { writeReport } from '../../reports/writeReport.js';
import { prepareRunDisk } from '../disk/runDisk.js';
import { driversOf } from '../rocketmqBenchmark/driver.js';

export interface RunCommandOptions {
  profile: string;
  set: string[];
  producers?: string;
  size?: string;
  batch?: string;
  topic?: string;
  queues?: string;
  rate?: string;
  warmup?: string;
  duration?: string;
  repeat: string;
  storeDir: string;
  out?: string;
  namesrv?: string;
  keepStore?: boolean;
  quiet?: boolean;
  json?: boolean;
  calibrate: boolean;
  serialize: 'JSON' | 'ROCKETMQ';
  /** remoting, http, rocketmq-benchmark, or a comma-separated list run back to back. */
  driver?: string;
  /** The binary distribution whose benchmark Producer --driver rocketmq-benchmark runs. */
  rocketmqHome?: string;
  consumers?: string;
  connections?: string;
  /** ssd (the real disk), hdd or hdd:iops=N,bps=M (an emulated HDD). */
  disk?: string;
  /** flushbench (default), rocketmq or both. */
  engine?: string;
  /** With --namesrv: the remote cluster's store directory, for the host's disk facts. */
  remoteStoreDir?: string;
}

/** --engine: which engines to run, in order (both = flushbench then RocketMQ, A B A B with --repeat). */
export function enginesOf(engine: string | undefined, namesrv: string | undefined): Engine[] {
  const value = engine ?? 'flushbench';
  if (namesrv && value !== 'flushbench') throw new Error(`--engine ${value} launches a cluster; with --namesrv the cluster is already running (drop --engine)`);
  if (value === 'both') return [...ENGINES];
  if (!(ENGINES as readonly string[]).includes(value)) throw new Error(`--engine ${value}: use flushbench, rocketmq or both`);
  return [value as Engine];
}

/** Whose disk the host facts describe when bench run drives a cluster it did not launch. */
function diskScopeOf(options: RunCommandOptions): string | null {
  if (!options.namesrv) return null;
  return options.remoteStoreDir
    ? 'the remote cluster\'s store directory given by --remote-store-dir'
    : 'disk facts of the harness\'s own directory, not the remote cluster\'s: pass --remote-store-dir DIR for the cluster\'s disk';
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  program
    .command('run')
    .description('run a profile (or several) and write a report with a verdict per claim')
    .option('-p, --profile <name|file>', `profile name (${listProfiles().join(', ')}), a profile .yaml, or a broker.properties; several separated by commas`, 'sync-sync')
    .option('--set <key=value>', 'override a broker key on every node, or load.<field>=value (repeatable)', collect, [])
    .option('--producers <n>', 'concurrent producers (RocketMQ benchmark -w; default 64)')
    .option('--size <bytes>', 'message body size (default 128)')
    .option('--batch <n>', 'messages per send request (SEND_BATCH_MESSAGE when > 1)')
    .option('--topic <name>', 'topic (default FlushbenchTest; RocketMQ 4.9.x refuses to create BenchmarkTest, a system topic there)')
    .option('--queues <n>', 'write queues per master (default 8)')
    .option('--driver <driver>', 'remoting (our RocketMQ-protocol producers), http (autocannon against the broker\'s HTTP produce endpoint), rocketmq-benchmark (RocketMQ\'s own benchmark Producer, a JVM), or a list such as remoting,rocketmq-benchmark: run back to back on the same cluster type and compare TPS')
    .option('--rocketmq-home <dir>', 'with --driver rocketmq-benchmark: an unpacked RocketMQ binary distribution whose own Producer and client to run (default: the Maven-fetched 4.9.7 client with rocketmq-example 4.7.0)')
    .option('--rate <msgs/s>', 'open-loop target rate with coordinated-omission correction (default: closed loop)')
    .option('--consumers <n>', 'long-polling consumers measuring end-to-end latency (default 0)')
    .option('--connections <n>', 'connections per broker the producers share (default 1, like one DefaultMQProducer; redis-benchmark -c opens one per client)')
    .option('--warmup <s>', 'warm-up seconds, not measured')
    .option('--duration <s>', 'measured seconds per run')
    .option('--repeat <n>', 'runs per profile; the report gives mean and spread', '1')
    .option('--store-dir <dir>', 'where brokers keep their stores: the disk under test', '.flushbench-store')
    .option('--disk <kind>', 'ssd (the real disk under --store-dir) or hdd / hdd:iops=N,bps=M: an emulated HDD, a throttled loop device (root; default 150 IOPS, 150 MB/s)', 'ssd')
    .option('--out <dir>', 'report directory (default reports/runs/<timestamp>-<profile>)')
    .option('--namesrv <host:port>', 'drive an existing RocketMQ cluster instead of launching one')
    .option('--remote-store-dir <dir>', 'with --namesrv: the remote cluster\'s store directory (a local or mounted path); host and disk facts and the fsync probe are taken there')
    .addOption(new Option('--engine <engine>', 'the broker a launched cluster runs: flushbench (ours), rocketmq (Apache RocketMQ 4.9.7 from `bench rocketmq fetch`) or both, interleaved per run').choices(['flushbench', 'rocketmq', 'both']))
    .option('--keep-store', 'keep broker stores after the run')
    .option('--quiet', 'no progress lines (warnings and the report path still go to stderr)')
    .option('--json', 'print the summary as JSON on stdout')
    .option('--no-calibrate', 'skip measuring the harness ceiling (an ack-without-store broker)')
    .addOption(new Option('--serialize <type>', 'remoting header type (RocketMQ ≥ 4.9.4 benchmark uses ROCKETMQ)').choices(['JSON', 'ROCKETMQ']).default('ROCKETMQ'))
    .addHelpText('after', '\nExamples:\n  bench run --profile sync-sync\n  bench run --profile all --repeat 3 --store-dir /mnt/ssd/fb\n  bench run --profile single-async-flush --set flushCommitLogLeastPages=0 --duration 60\n')
    .action(async (options: RunCommandOptions) => {
      const data = await runCommand(options);
      if (options.json) process.stdout.write(`${JSON.stringify(data.summary, null, 2)}\n`);
    });
}

function loadOverrides(options: RunCommandOptions): string[] {
  const map: Array<[keyof RunCommandOptions, string]> = [
    ['producers', 'producers'], ['size', 'sizeBytes'], ['batch', 'batch'], ['topic', 'topic'], ['queues', 'queues'],
    ['rate', 'rate'], ['warmup', 'warmupS'], ['duration', 'durationS'], ['consumers', 'consumers'], ['connections', 'connections'],
  ];
  return map.filter(([flag]) => options[flag] !== undefined).map(([flag, field]) => `load.${field}=${options[flag]}`);
}

export async function runCommand(options: RunCommandOptions): Promise<{ runDir: string; summary: unknown }> {
  const repeat = Number(options.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 50) throw new Error(`--repeat ${options.repeat} must be an integer 1..50`);
  const engines = enginesOf(options.engine, options.namesrv);
  const drivers = options.driver === undefined ? undefined : driversOf(options.driver);
  if (options.remoteStoreDir && !options.namesrv) throw new Error('--remote-store-dir describes a cluster given by --namesrv; without it the store is --store-dir');
  const profiles: Profile[] = options.profile.split(',').filter(Boolean).flatMap((name) => resolveProfiles(name.trim())).map((p) => applyOverrides(p, [...options.set, ...loadOverrides(options)]));
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
  const runDir = path.resolve(options.out ?? path.join('reports', 'runs', `${stamp}-${path.basename(options.profile).replace(/\.\w+$/, '')}`));
  fs.mkdirSync(runDir, { recursive: true });
  const say = (line: string) => !options.quiet && process.stderr.write(`${line}\n`);
  // Warnings and where the report went are not progress: --quiet keeps them.
  const tell = (line: string) => process.stderr.write(`${line}\n`);
  const disk = await prepareRunDisk(options.disk ?? 'ssd', options.storeDir, stamp, tell);
  const storeDir = disk.storeDir;

  let host: HostFactsData;
  try {
    const factsDir = options.namesrv && options.remoteStoreDir ? path.resolve(options.remoteStoreDir) : storeDir;
    host = { ...(await collectHostFacts(factsDir, { fsyncProbe: true })), diskEmulation: disk.emulation, diskScope: diskScopeOf(options) };
  } catch (error) {
    await disk.release();
    throw error;
  }
  if (!host.diskIsMeasured) tell(`\n*** WARNING: ${host.diskWarning ?? 'the store directory is not on a real disk'} — the results do not measure a disk. ***\n`);
  const runOptions: RunOptions = {
    storeDir, logDir: path.join(runDir, 'logs'), repeat, namesrv: options.namesrv ?? null, keepStore: Boolean(options.keepStore),
    quiet: Boolean(options.quiet), json: Boolean(options.json), harnessCeilingTps: null, serializeType: options.serialize,
    drivers, rocketmqHome: options.rocketmqHome ?? null,
  };
  try {
    if (options.calibrate && !options.namesrv) {
      // The ceiling is flushbench's ack-without-store broker whatever --engine says: it measures the harness.
      // …and our own driver: the Java benchmark Producer is what is being checked, not the ceiling.
      const ceilingDriver = drivers?.find((d) => d !== 'rocketmq-benchmark') ?? 'remoting';
      runOptions.harnessCeilingTps = await calibrate(profiles[0].load, { ...runOptions, engine: 'flushbench', drivers: [ceilingDriver] });
      say(`harness ceiling (ack without store): ${Math.round(runOptions.harnessCeilingTps)} msgs/s`);
    }
    const results: ProfileResult[] = [];
    for (const profile of profiles) {
      const variants = profile.variants.length ? profile.variants : [null];
      for (const variant of variants) {
        const mark = disk.mark();
        const engineResults = await runProfileEngines(profile, variant, engines, runOptions);
        const diskNotes = disk.notesSince(mark);
        for (const result of engineResults) result.notes.push(...diskNotes);
        results.push(...engineResults);
      }
    }
    const data: RunData = {
      tool: { name: 'flushbench', version: '0.1.0' },
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      command: `bench ${process.argv.slice(2).join(' ')}`,
      host,
      results,
    };
    const summary = await writeReport(runDir, data);
    printVerdictTable(results, options.quiet ? null : process.stderr);
    tell(`${options.quiet ? '' : '\n'}report: ${path.join(runDir, 'report.html')} (also report.md, summary.json, CSVs, charts)`);
    return { runDir, summary };
  } finally {
    await disk.release();
    if (!options.keepStore) fs.rmSync(storeDir, { recursive: true, force: true });
  }
}

function printVerdictTable(results: ProfileResult[], out: NodeJS.WritableStream | null): void {
  if (!out) return;
  out.write('\n| profile | engine | claim (TPS) | measured TPS | p50 / p99 ms | broker CPU µs/msg | verdict |\n|---|---|---|---|---|---|---|\n');
  for (const r of results) {
    const claim = r.claim.tpsMin === null ? '—' : `${r.claim.tpsMin}–${r.claim.tpsMax}`;
    const cpu = r.cpu?.brokersTotalUsPerMsg;
    out.write(`| ${r.profile}${r.variant ? ` [${r.variant}]` : ''} | ${r.engine} | ${claim} | ${Math.round(r.tps.mean)} | ${r.latencyMs.p50.toFixed(2)} / ${r.latencyMs.p99.toFixed(2)} | ${cpu === null || cpu === undefined ? '—' : cpu.toFixed(1)} | ${r.verdict ?? 'n/a'} |\n`);
  }
}
