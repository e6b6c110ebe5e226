// One line per subcommand; each module exports `register(program)`.
import type { Command } from 'commander';
import { register as broker } from './broker.js';
import { register as namesrv } from './namesrv.js';
import { register as topic } from './topic.js';
import { register as run } from './run.js';
import { register as calibrate } from './calibrate.js';
import { register as verify } from './verify.js';
import { register as probe } from './probe.js';
import { register as tune } from './tune.js';
import { register as compare } from './compare.js';
import { register as rocketmq } from './rocketmq.js';
import { register as dledger } from './dledger.js';
import { register as scenario } from './scenario.js';

type Register = (program: Command) => void;

const registrations: Register[] = [run, compare, calibrate, verify, probe, tune, broker, namesrv, topic, rocketmq, dledger, scenario];

export function registerCommands(program: Command): void {
  for (const register of registrations) register(program);
}
