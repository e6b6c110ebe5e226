// `bench tune`: the seed's OS advice — check it against this host, apply it (saving the
// originals), restore, print the lines that make it permanent, and sweep vm settings under a
// profile to see whether the advice changes anything here.
import path from 'node:path';
import type { Command } from 'commander';
import { writeSweepReport } from '../../reports/sweepReport.js';
import type { Summary } from '../../reports/summary.js';
import { collectHostFacts } from '../hostFacts.js';
import { parseSweepParam, recoverSweep, runSweep, SWEEP_STATE_FILE, type SweepMeasurement } from '../tuneSweep.js';
import {
  applyAdvice, checkSeedAdvice, leftoverTuneNotice, permanentAdviceLines, PROC_SYS, readSettings, restoreSaved, SEED_ADVICE, STATE_FILE,
} from '../vmTuning.js';
import { runCommand } from './run.js';

const list = (values: Record<string, string | null>) => Object.entries(values).map(([k, v]) => `${k}=${v}`).join(', ');
const collect = (value: string, previous: string[]) => [...previous, value];

interface StateOptions {
  stateFile: string;
  procSys: string;
}

function apply(o: StateOptions): void {
  const stateFile = path.resolve(o.stateFile);
  const leftover = leftoverTuneNotice(stateFile);
  if (leftover) throw new Error(`${leftover} Run \`bench tune restore\` first so the originals are not lost.`);
  const original = applyAdvice(stateFile, SEED_ADVICE, o.procSys);
  process.stdout.write(`applied the seed's advice until the next reboot; originals saved in ${stateFile}: ${list(original)}\n`);
  process.stdout.write(`to make it permanent:\n${permanentAdviceLines().map((l) => `  ${l}`).join('\n')}\n`);
}

function restore(o: StateOptions): void {
  const stateFile = path.resolve(o.stateFile);
  const restored = restoreSaved(stateFile, o.procSys);
  process.stdout.write(restored ? `restored: ${list(restored)}\n` : `nothing to restore: no ${stateFile} (already restored, or never applied)\n`);
}

/**
 * tune and its subcommands share --state-file/--proc-sys. Commander hands a shared option to
 * the parent even after the subcommand's name, so none has a default here: the action reads
 * optsWithGlobals() and applies the default itself. (With defaults, `tune apply --proc-sys X`
 * silently wrote the real /proc/sys.)
 */
function withStateOptions(command: Command): Command {
  return command
    .option('--state-file <path>', `where the originals are saved (default ./${STATE_FILE}; sweep: ./${SWEEP_STATE_FILE})`)
    .option('--proc-sys <dir>', `the sysctl tree to read and write (a copy for tests; default ${PROC_SYS})`);
}

function stateOptions<T extends object = object>(command: Command, defaultStateFile: string): StateOptions & T {
  const o = command.optsWithGlobals<Partial<StateOptions> & T>();
  return { ...o, stateFile: o.stateFile ?? defaultStateFile, procSys: o.procSys ?? PROC_SYS };
}

async function check(o: { json?: boolean; procSys: string; procRoot: string; storeDir: string }): Promise<void> {
  const facts = await collectHostFacts(o.storeDir);
  const items = checkSeedAdvice({ procSys: o.procSys, procRoot: o.procRoot, disk: { device: facts.device, scheduler: facts.scheduler, writeCache: facts.writeCache } });
  if (o.json) {
    process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
    return;
  }
  process.stdout.write('| advice | current | recommended | follows | source |\n|---|---|---|---|---|\n');
  for (const i of items) process.stdout.write(`| ${i.name} | ${i.current ?? '?'} | ${i.recommended} | ${i.follows === null ? '?' : i.follows ? 'yes' : 'no'} | ${i.source} |\n`);
  process.stdout.write('\nMeasure, do not trust: `bench tune sweep --param vm.dirty_ratio=10,20,40 --profile async-async` tells whether it matters here.\n');
}

interface SweepCliOptions extends StateOptions {
  param: string[];
  profile: string;
  repeat: string;
  duration?: string;
  warmup?: string;
  out?: string;
  storeDir: string;
  disk: string;
  restore?: boolean;
}

async function sweep(o: SweepCliOptions): Promise<void> {
  const stateFile = path.resolve(o.stateFile);
  if (o.restore) {
    const restored = recoverSweep(stateFile, o.procSys);
    process.stdout.write(restored ? `restored: ${list(restored)}\n` : `nothing to restore: no ${stateFile}\n`);
    return;
  }
  const repeat = Number(o.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) throw new Error(`--repeat ${o.repeat} must be an integer 1..20`);
  const params = o.param.map(parseSweepParam);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
  const outDir = path.resolve(o.out ?? path.join('reports', 'runs', `${stamp}-sweep-${path.basename(o.profile).replace(/\.\w+$/, '')}`));
  const runner = async (_settings: Record<string, string>, label: string): Promise<SweepMeasurement> => {
    const { runDir, summary } = await runCommand({
      profile: o.profile, set: [], repeat: '1', storeDir: o.storeDir, out: path.join(outDir, label.replace(/[^\w.=-]+/g, '_')), quiet: true, calibrate: false,
      serialize: 'ROCKETMQ', duration: o.duration, warmup: o.warmup, disk: o.disk,
    });
    const results = (summary as Summary).results;
    const okTotal = results.reduce((a, r) => a + r.tps.mean, 0);
    return { tps: okTotal, latencyMsP50: Math.max(...results.map((r) => r.latencyMs.p50)), latencyMsP99: Math.max(...results.map((r) => r.latencyMs.p99)), reportDir: runDir };
  };
  const result = await runSweep({ params, repeat, runner, stateFile, procSys: o.procSys, progress: (l) => process.stderr.write(`${l}\n`) });
  const files = writeSweepReport(outDir, { command: `bench ${process.argv.slice(2).join(' ')}`, profile: o.profile, original: result.original, points: result.points, verdict: result.verdict });
  process.stdout.write(`restored: ${list(result.original)}\nverdict: ${result.verdict}\nsweep report: ${path.join(outDir, files[0])} (also ${files.slice(1).join(', ')})\n`);
}

export function register(program: Command): void {
  const tune = withStateOptions(program.command('tune'))
    .description('check, apply, restore or sweep the OS settings the seed article recommends (vm.dirty_ratio=40 …)')
    .option('--apply', 'same as `bench tune apply --preset seed`')
    .option('--restore', 'same as `bench tune restore`')
    .addHelpText('after', '\nMeasure, do not trust: `bench tune sweep`, or `bench run` before and after `bench tune apply`, then `bench compare`.')
    .action((_options: unknown, command: Command) => {
      const o = stateOptions<{ apply?: boolean; restore?: boolean }>(command, STATE_FILE);
      if (o.apply && o.restore) throw new Error('use --apply or --restore, not both');
      if (o.restore) return restore(o);
      if (o.apply) return apply(o);
      const stateFile = path.resolve(o.stateFile);
      const leftover = leftoverTuneNotice(stateFile);
      if (leftover) process.stderr.write(`warning: ${leftover} Run \`bench tune --restore\` to put them back.\n`);
      const current = readSettings(Object.keys(SEED_ADVICE), o.procSys);
      process.stdout.write('| setting | current | seed advice |\n|---|---|---|\n');
      for (const [key, advice] of Object.entries(SEED_ADVICE)) process.stdout.write(`| ${key} | ${current[key] ?? '?'} | ${advice} |\n`);
      return undefined;
    });
  tune.command('check')
    .description('one entry per seed advice item: name, current, recommended, source')
    .option('--json', 'print JSON')
    .option('--proc-root <dir>', '/proc (self/limits, swaps)', '/proc')
    .option('--store-dir <dir>', 'a directory on the store disk (its scheduler and write cache)', '.')
    .action((_options: unknown, command: Command) => check(stateOptions<{ json?: boolean; procRoot: string; storeDir: string }>(command, STATE_FILE)));
  withStateOptions(tune.command('apply'))
    .description('write the seed\'s four vm settings (root), saving the originals first; prints the lines that make it permanent')
    .option('--preset <name>', 'the advice to apply (only "seed")', 'seed')
    .action((_options: unknown, command: Command) => {
      const o = stateOptions<{ preset: string }>(command, STATE_FILE);
      if (o.preset !== 'seed') throw new Error(`--preset ${o.preset}: only "seed" exists`);
      apply(o);
    });
  withStateOptions(tune.command('restore')).description('write the saved originals back and remove the state file')
    .action((_options: unknown, command: Command) => restore(stateOptions(command, STATE_FILE)));
  withStateOptions(tune.command('sweep'))
    .description('run a profile at every combination of vm settings, restore the originals always, write sweep.md/html/csv and charts')
    .option('--param <key=v1,v2,…>', 'a sysctl and its values (repeatable), e.g. vm.dirty_ratio=10,20,40', collect, [])
    .option('-p, --profile <name>', 'the profile to run at each point', 'async-async')
    .option('--repeat <n>', 'rounds over all points (A B C A B C …)', '1')
    .option('--duration <s>', 'measured seconds per run')
    .option('--warmup <s>', 'warm-up seconds per run')
    .option('--store-dir <dir>', 'where brokers keep their stores', '.flushbench-store')
    .option('--disk <kind>', 'ssd or hdd[:iops=N,bps=M] (see bench run)', 'ssd')
    .option('--out <dir>', 'sweep directory (default reports/runs/<timestamp>-sweep-<profile>)')
    .option('--restore', 'only put back what a crashed sweep saved')
    .action((_options: unknown, command: Command) => sweep(stateOptions<SweepCliOptions>(command, SWEEP_STATE_FILE)));
}
