// `bench tune`: show the vm settings the seed recommends, apply them (saving the originals), restore.
import path from 'node:path';
import type { Command } from 'commander';
import { applyAdvice, leftoverTuneNotice, PROC_SYS, readSettings, restoreSaved, SEED_ADVICE, STATE_FILE } from '../vmTuning.js';

const list = (values: Record<string, string | null>) => Object.entries(values).map(([k, v]) => `${k}=${v}`).join(', ');

export function register(program: Command): void {
  program
    .command('tune')
    .description('show, apply or restore the OS settings the seed article recommends (vm.dirty_ratio=40 …)')
    .option('--apply', `write the advice (root), saving the current values to ./${STATE_FILE} first`)
    .option('--restore', 'write the saved values back and remove the state file (nothing to do without one)')
    .option('--state-file <path>', 'where the originals are saved', STATE_FILE)
    .option('--proc-sys <dir>', 'the sysctl tree to read and write (a copy for tests)', PROC_SYS)
    .addHelpText('after', '\nMeasure, do not trust: run `bench run` before and after `bench tune --apply`, then `bench compare` the two reports.')
    .action((o: { apply?: boolean; restore?: boolean; stateFile: string; procSys: string }) => {
      const stateFile = path.resolve(o.stateFile);
      if (o.apply && o.restore) throw new Error('use --apply or --restore, not both');
      if (o.restore) {
        const restored = restoreSaved(stateFile, o.procSys);
        process.stdout.write(restored ? `restored: ${list(restored)}\n` : `nothing to restore: no ${stateFile} (already restored, or never applied)\n`);
        return;
      }
      const leftover = leftoverTuneNotice(stateFile);
      if (o.apply) {
        if (leftover) throw new Error(`${leftover} Run \`bench tune --restore\` first so the originals are not lost.`);
        const original = applyAdvice(stateFile, SEED_ADVICE, o.procSys);
        process.stdout.write(`applied the seed's advice; originals saved in ${stateFile}: ${list(original)}\n`);
        return;
      }
      if (leftover) process.stderr.write(`warning: ${leftover} Run \`bench tune --restore\` to put them back.\n`);
      const current = readSettings(Object.keys(SEED_ADVICE), o.procSys);
      process.stdout.write('| setting | current | seed advice |\n|---|---|---|\n');
      for (const [key, advice] of Object.entries(SEED_ADVICE)) process.stdout.write(`| ${key} | ${current[key] ?? '?'} | ${advice} |\n`);
    });
}
