#!/usr/bin/env node
// The `bench` command line. Each subcommand lives in loadgen/commands/<name>.ts and
// registers itself here, so adding a command never touches another command's file.
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';

// `bench probe` runs 16 concurrent fdatasync loops: give libuv's thread pool room before first use.
if (process.argv[2] === 'probe') process.env.UV_THREADPOOL_SIZE ??= '20';

const program = new Command();
program
  .name('bench')
  .description('flushbench: measure what each RocketMQ durability setting costs on this disk')
  .showHelpAfterError('(run with --help for usage)');

registerCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`bench: ${message}\n`);
  process.exitCode = 1;
});
