// `bench scenario --name slave-stop|slave-restart|saturation|async-lag [--engine …] [--out DIR]`:
// issue #14's failure and overload scenarios, engines side by side (loadgen/scenarios/).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { type Engine, ENGINES } from '../clusterLauncher.js';
import { SCENARIO_NAMES, type ScenarioName } from '../../reports/scenarioData.js';
import { runScenario } from '../scenarios/runScenario.js';
import { renderScenarioMarkdown, scenarioSection } from '../../reports/scenarioReport.js';

export function register(program: Command): void {
  program
    .command('scenario')
    .description('failure/overload scenario on flushbench and/or Apache RocketMQ, side by side: slave SIGSTOP, slave restart, saturation, ASYNC_MASTER lag')
    .requiredOption('--name <name>', SCENARIO_NAMES.join(' | '))
    .option('--engine <engine>', 'flushbench | rocketmq | both', 'both')
    .option('--out <dir>', 'where scenario.json, scenario.md and scenario.html go (default reports/runs/<stamp>-scenario-<name>)')
    .option('--stop-ms <n>', 'slave-stop: how long the slave stays SIGSTOPped', '10000')
    .option('--set <key=value...>', 'broker.properties key for every node of both engines (e.g. waitTimeMillsInSendQueue=20)')
    .action(async (o: { name: string; engine: string; out?: string; stopMs: string; set?: string[] }) => {
      if (!SCENARIO_NAMES.includes(o.name as ScenarioName)) throw new Error(`--name ${o.name}: use one of ${SCENARIO_NAMES.join(', ')}`);
      const engines: Engine[] = o.engine === 'both' ? [...ENGINES] : ENGINES.includes(o.engine as Engine) ? [o.engine as Engine] : [];
      if (engines.length === 0) throw new Error(`--engine ${o.engine}: use flushbench, rocketmq or both`);
      const brokerSet: Record<string, string> = {};
      for (const pair of o.set ?? []) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new Error(`--set ${pair}: use key=value`);
        brokerSet[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const outDir = path.resolve(o.out ?? path.join('reports', 'runs', `${stamp}-scenario-${o.name}`));
      const storeRoot = path.resolve('.flushbench-store', `${stamp}-scenario`);
      let file;
      try {
        file = await runScenario({
          name: o.name as ScenarioName, engines, outDir, storeRoot,
          settings: { stopMs: Number(o.stopMs), brokerSet }, onProgress: (line) => process.stdout.write(`${line}\n`),
        });
      } finally {
        fs.rmSync(storeRoot, { recursive: true, force: true }); // runScenario removes each engine's store, not this run's folder
      }
      process.stdout.write(`\n${renderScenarioMarkdown(scenarioSection(file))}written: ${path.join(outDir, 'scenario.json')}\n`);
      if (file.engines.some((e) => e.error)) process.exitCode = 1;
    });
}
