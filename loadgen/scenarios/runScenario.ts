// `bench scenario`: one of the four failure/overload scenarios of issue #14 on one or both
// engines, one after the other on fresh clusters; writes scenario.json and the side-by-side
// report (reports/scenarioReport.ts).
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError, errorMessage } from '../../protocol/errors.js';
import { writeScenarioReport } from '../../reports/scenarioReport.js';
import { type Engine, type EngineCluster, launchEngineCluster } from '../clusterLauncher.js';
import { resolveProfiles } from '../profile.js';
import { type EngineScenarioResult, SCENARIO_NAMES, type ScenarioFile, type ScenarioName, type ScenarioOutcome, type ScenarioSettings } from '../../reports/scenarioData.js';
import { runAsyncLag } from './asyncLag.js';
import { runSaturation } from './saturation.js';
import { runSlaveRestart, runSlaveStop } from './slaveFaults.js';

export const DEFAULT_SETTINGS: ScenarioSettings = {
  stopMs: 10_000, faultRate: 1000, faultProducers: 64, beforeMs: 3000, afterMs: 6000, recoverLimitMs: 90_000,
  saturationProducers: 256, saturationWarmupMs: 3000, saturationDurationMs: 15_000,
  lagRates: [1000, 20_000], lagProducers: 64, lagWarmupMs: 2000, lagDurationMs: 10_000,
  sendTimeoutMs: 10_000, brokerSet: {},
};

const PROFILE_OF: Record<ScenarioName, string> = {
  'slave-stop': 'async-sync', 'slave-restart': 'async-sync', saturation: 'single-sync-flush', 'async-lag': 'async-async',
};

export interface ScenarioRunOptions {
  name: ScenarioName;
  engines: Engine[];
  outDir: string;
  storeRoot: string;
  settings?: Partial<ScenarioSettings>;
  onProgress?: (line: string) => void;
}

async function runOn(name: ScenarioName, cluster: EngineCluster, s: ScenarioSettings, logDir: string): Promise<ScenarioOutcome> {
  const fault = { rate: s.faultRate, producers: s.faultProducers, beforeMs: s.beforeMs, afterMs: s.afterMs, sendTimeoutMs: s.sendTimeoutMs };
  switch (name) {
    case 'slave-stop': return { scenario: name, result: await runSlaveStop(cluster, { ...fault, stopMs: s.stopMs }) };
    case 'slave-restart': return { scenario: name, result: await runSlaveRestart(cluster, { ...fault, recoverLimitMs: s.recoverLimitMs, logDir }) };
    case 'saturation': return {
      scenario: name,
      result: await runSaturation(cluster, { producers: s.saturationProducers, warmupMs: s.saturationWarmupMs, durationMs: s.saturationDurationMs, sendTimeoutMs: s.sendTimeoutMs }),
    };
    case 'async-lag': return {
      scenario: name,
      result: await runAsyncLag(cluster, { rates: s.lagRates, producers: s.lagProducers, warmupMs: s.lagWarmupMs, durationMs: s.lagDurationMs, sampleEveryMs: 100, sendTimeoutMs: s.sendTimeoutMs }),
    };
  }
}

/** Runs the scenario on each engine (fresh cluster and store each), writes scenario.json + report; returns the file's content. */
export async function runScenario(o: ScenarioRunOptions): Promise<ScenarioFile> {
  if (!SCENARIO_NAMES.includes(o.name)) throw new FlushbenchError('UNKNOWN_SCENARIO', `--name ${o.name}: use one of ${SCENARIO_NAMES.join(', ')}`);
  const settings = { ...DEFAULT_SETTINGS, ...o.settings };
  const progress = o.onProgress ?? (() => {});
  const [profile] = resolveProfiles(PROFILE_OF[o.name]);
  const nodes = profile.nodes.map((n) => ({ ...n, properties: { ...n.properties, ...settings.brokerSet } }));
  fs.mkdirSync(o.outDir, { recursive: true });
  const file: ScenarioFile = { scenario: o.name, profile: profile.name, startedAt: new Date().toISOString(), settings, engines: [] };
  for (const engine of o.engines) {
    const started = Date.now();
    const storeDir = path.join(o.storeRoot, `${o.name}-${engine}`);
    const logDir = path.join(o.outDir, 'logs', engine);
    fs.mkdirSync(logDir, { recursive: true });
    progress(`${o.name} on ${engine} (${profile.name})…`);
    let cluster: EngineCluster | null = null;
    const entry: EngineScenarioResult = { engine, engineLabel: engine, outcome: null, error: null, elapsedMs: 0 };
    try {
      cluster = await launchEngineCluster(engine, nodes, { storeDir, logDir, onProgress: (line) => progress(`  ${line}`) });
      entry.engineLabel = cluster.engineLabel;
      entry.outcome = await runOn(o.name, cluster, settings, logDir);
    } catch (error) {
      entry.error = errorMessage(error);
      progress(`${o.name} on ${engine} failed: ${entry.error}`);
    } finally {
      if (cluster) await cluster.stop().catch((error: unknown) => progress(`  stopping ${engine}: ${errorMessage(error)}`));
      fs.rmSync(storeDir, { recursive: true, force: true });
    }
    entry.elapsedMs = Date.now() - started;
    file.engines.push(entry);
  }
  fs.writeFileSync(path.join(o.outDir, 'scenario.json'), `${JSON.stringify(file, null, 2)}\n`);
  writeScenarioReport(o.outDir, file);
  return file;
}
