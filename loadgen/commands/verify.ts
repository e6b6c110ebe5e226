// `bench verify`: the safety half of every claim — crashes and power cuts under load, every
// acked message read back (see loadgen/verify.ts and loadgen/disk/README.md).
import path from 'node:path';
import type { Command } from 'commander';
import { FlushbenchError } from '../../protocol/errors.js';
import { writeVerifyReport } from '../../reports/verifyReport.js';
import { applyOverrides, listProfiles, resolveProfiles } from '../profile.js';
import { runVerify, VERIFY_ENGINES, VERIFY_FAULTS, type VerifyEngine, type VerifyFault } from '../verify.js';

interface VerifyCommandOptions {
  profile: string;
  engine: string;
  fault: string[];
  crashes: string;
  load?: string;
  set: string[];
  storeDir: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  strict?: boolean;
  realistic?: boolean;
  imageMib: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function positive(name: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new FlushbenchError('BAD_OPTION', `${name} ${value}: give a number in (0, ${max}]`);
  return n;
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('safety checks: kill, power-cut (loop device), partition and fill brokers under load, then read every acked message back')
    .requiredOption('-p, --profile <name|file>', `profile (${listProfiles().join(', ')})`)
    .option('--engine <name>', `whose brokers crash: ${VERIFY_ENGINES.join('|')} (rocketmq: Apache RocketMQ 4.9.7 JVMs, fetched like bench run --engine rocketmq; needs java)`, 'flushbench')
    .option('--fault <kind>', `${VERIFY_FAULTS.join('|')} (repeatable; default: every fault that applies to the profile)`, collect, [])
    .option('--crashes <n>', 'crash cycles per crash fault', '5')
    .option('--load <s>', 'seconds of load per cycle; the fault falls at a random moment in its 30–90 % (default 2)')
    .option('--set <key=value>', 'override a broker key on every node, e.g. mappedFileSizeCommitLog=16777216 (repeatable)', collect, [])
    .option('--store-dir <dir>', 'where stores and loop images live: the disk under test, not tmpfs', '.flushbench-store')
    .option('--image-mib <n>', 'loop image size per node (MiB)', '512')
    .option('--out <dir>', 'where verify.json/.csv/.md/.html go (default reports/runs/<timestamp>-verify-<profile>)')
    .option('--json', 'print verify.json to stdout')
    .option('--quiet', 'no progress lines')
    .option('--strict', 'power cuts in the worst case: no background writeback, ext4 commit=600 (default)')
    .option('--realistic', 'power cuts with the host writeback settings as they are (some unsynced data survives by luck)')
    .addHelpText('after', '\nPower-cut faults need root, losetup/mkfs.ext4/mount and a loop device; without them they are skipped\nwith the reason and kill/partition still run (exit status 2). Exit status 1: a claim is violated.')
    .action(async (o: VerifyCommandOptions) => {
      if (!(VERIFY_ENGINES as readonly string[]).includes(o.engine)) throw new FlushbenchError('BAD_OPTION', `--engine ${o.engine}: use one of ${VERIFY_ENGINES.join(', ')}`);
      if (o.strict && o.realistic) throw new FlushbenchError('BAD_OPTION', '--strict and --realistic exclude each other');
      for (const fault of o.fault) {
        if (!(VERIFY_FAULTS as readonly string[]).includes(fault)) throw new FlushbenchError('BAD_OPTION', `--fault ${fault}: use one of ${VERIFY_FAULTS.join(', ')}`);
      }
      const profiles = resolveProfiles(o.profile);
      if (profiles.length !== 1) throw new FlushbenchError('BAD_OPTION', `--profile ${o.profile} names ${profiles.length} profiles; verify takes one`);
      const overrides: Record<string, string> = {};
      for (const item of o.set) {
        const match = /^([\w.]+)=(.*)$/.exec(item);
        if (!match || match[1].startsWith('load.')) throw new FlushbenchError('BAD_OVERRIDE', `--set ${item}: give a broker key=value`);
        overrides[match[1]] = match[2];
      }
      const profile = applyOverrides(profiles[0], o.set);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const outDir = path.resolve(o.out ?? path.join('reports', 'runs', `${stamp}-verify-${o.engine === 'flushbench' ? '' : `${o.engine}-`}${profile.name}`));
      const log = (line: string) => {
        if (!o.quiet) process.stderr.write(`${line}\n`);
      };
      const report = await runVerify({
        profile, engine: o.engine as VerifyEngine, overrides, faults: o.fault as VerifyFault[], crashes: Math.floor(positive('--crashes', o.crashes, 10_000)), loadS: positive('--load', o.load ?? '2', 600),
        storeDir: path.resolve(o.storeDir), strict: !o.realistic, imageSizeMiB: Math.floor(positive('--image-mib', o.imageMib, 65_536)), logDir: path.join(outDir, 'logs'), onProgress: log,
      });
      const files = writeVerifyReport(outDir, report);
      if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        for (const claim of report.claims) process.stdout.write(`${claim.verdict.toUpperCase().padEnd(10)} ${claim.claim}: ${claim.detail}\n`);
        for (const skipped of report.skipped) process.stdout.write(`SKIPPED    ${skipped.fault}: ${skipped.reason}\n`);
        process.stdout.write(`wrote ${files.join(', ')}\n`);
      }
      const failedCycles = Object.values(report.faults).some((f) => f.failedCycles > 0);
      const violated = report.claims.some((c) => c.verdict === 'violated') || report.partition?.verdict === 'violated' || report.diskFull?.verdict === 'violated';
      if (violated || failedCycles) process.exitCode = 1;
      else if (report.skipped.length > 0) process.exitCode = 2;
    });
}
