// `bench tune`: show the vm settings the seed recommends, apply them (saving the originals), restore.
import path from 'node:path';
import type { Command } from 'commander';
import { applyAdvice, readSettings, restoreSaved, SEED_ADVICE, STATE_FILE } from '../vmTuning.js';

export function register(program: Command): void {
  program
    .command('tune')
    .description('show, apply or restore the OS settings the seed article recommends (vm.dirty_ratio=40 …)')
    .option('--apply', `write the advice (root), saving the current values to ./${STATE_FILE}`)
    .option('--restore', 'write the saved values back and remove the state file')
    .addHelpText('after', '\nMeasure, do not trust: run `bench run` before and after `bench tune --apply`, then `bench compare` the two reports.')
    .action((o: { apply?: boolean; restore?: boolean }) => {
      const stateFile = path.resolve(STATE_FILE);
      if (o.apply && o.restore) throw new Error('use --apply or --restore, not both');
      if (o.restore) {
        const restored = restoreSaved(stateFile);
        process.stdout.write(`restored: ${Object.entries(restored).map(([k, v]) => `${k}=${v}`).join(', ')}\n`);
        return;
      }
      if (o.apply) {
        const original = applyAdvice(stateFile);
        process.stdout.write(`applied the seed's advice; originals saved in ${stateFile}: ${Object.entries(original).map(([k, v]) => `${k}=${v}`).join(', ')}\n`);
        return;
      }
      const current = readSettings(Object.keys(SEED_ADVICE));
      process.stdout.write('| setting | current | seed advice |\n|---|---|---|\n');
      for (const [key, advice] of Object.entries(SEED_ADVICE)) process.stdout.write(`| ${key.replace('/', '.')} | ${current[key] ?? '?'} | ${advice} |\n`);
    });
}
