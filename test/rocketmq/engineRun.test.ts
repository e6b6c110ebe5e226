// bench run on Apache RocketMQ itself, through the CLI: --namesrv against a RocketMQ cluster
// started by the launcher (and its system topic BenchmarkTest), --engine rocketmq on a single
// master, and a SYNC_MASTER + slave profile. Skipped, with the reason, without java/mvn.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { defaultCacheDir, DEFAULT_ROCKETMQ_VERSION, fetchRocketmq } from '../../loadgen/rocketmq/fetch.js';
import { startRocketmq } from '../../loadgen/rocketmq/rocketmqProcess.js';
import { runBench } from '../support/benchCli.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';

const ENGINE = `rocketmq-${DEFAULT_ROCKETMQ_VERSION}`;
/** 64 MiB commit-log files instead of 1 GiB: RocketMQ maps the current and the next file at start. */
const SMALL_FILES = ['--set', `mappedFileSizeCommitLog=${64 * 1024 * 1024}`];
const SHORT = ['--duration', '2', '--warmup', '1', '--no-calibrate', '--producers', '16', '--quiet'];
const CLI_TIMEOUT_MS = 90_000;

function missingTool(): string | null {
  if (spawnSync('java', ['-version']).error) return 'java is not installed (apt-get install openjdk-17-jre-headless)';
  const cached = fs.existsSync(path.join(defaultCacheDir(DEFAULT_ROCKETMQ_VERSION), 'fetch-complete.json'));
  if (!cached && spawnSync('mvn', ['-v']).error) return 'mvn is not installed and RocketMQ is not cached (apt-get install maven)';
  return null;
}

interface SummaryJson {
  host: { storeDir: string; diskScope?: string | null };
  results: Array<{ engine: string; ok: number; statusCounts: Record<string, number>; cpu: { brokerUsPerMsg: Record<string, number | null> } | null; effectiveSettings: Record<string, Record<string, string>>; notes: string[] }>;
}

function readSummary(out: string): SummaryJson {
  return JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as SummaryJson;
}

test('bench run --namesrv drives a real RocketMQ cluster; BenchmarkTest (a system topic there) is used, not fatal', { timeout: 240_000 }, async (t) => {
  const missing = missingTool();
  if (missing) return t.skip(missing);
  const scratch = diskScratchDir('rmq-remote');
  const lib = fetchRocketmq({});
  const cluster = await startRocketmq({ lib, storeDir: path.join(scratch, 'rmq'), settings: { mappedFileSizeCommitLog: String(64 * 1024 * 1024) }, brokerHeap: '512m', namesrvHeap: '128m', readyTimeoutMs: 90_000 });
  try {
    const out = path.join(scratch, 'report');
    const run = await runBench(['run', '--namesrv', cluster.namesrvAddress, '--profile', 'single-async-flush', ...SHORT, '--store-dir', path.join(scratch, 'store'), '--out', out], CLI_TIMEOUT_MS);
    assert.equal(run.code, 0, run.stderr);
    const summary = readSummary(out);
    assert.equal(summary.results[0].engine, 'remote');
    assert.ok(summary.results[0].ok > 0, 'acked messages');
    assert.match(summary.host.diskScope ?? '', /harness's own directory, not the remote cluster's/);
    assert.match(fs.readFileSync(path.join(out, 'report.md'), 'utf8'), /not the remote cluster's/);

    // 4.9.x refuses UPDATE_AND_CREATE_TOPIC for BenchmarkTest; the run uses the existing route (8 of its 1024 queues).
    const systemOut = path.join(scratch, 'report-system');
    const system = await runBench(['run', '--namesrv', cluster.namesrvAddress, '--topic', 'BenchmarkTest', '--profile', 'single-async-flush', ...SHORT, '--store-dir', path.join(scratch, 'store'), '--out', systemOut, '--remote-store-dir', path.join(scratch, 'rmq', 'store')], CLI_TIMEOUT_MS);
    assert.equal(system.code, 0, system.stderr);
    assert.match(system.stderr, /conflict with system topic.*using the existing topic BenchmarkTest/);
    const systemSummary = readSummary(systemOut);
    assert.ok(systemSummary.results[0].ok > 0);
    assert.equal(systemSummary.host.storeDir, path.join(scratch, 'rmq', 'store'), '--remote-store-dir: disk facts of the cluster\'s store');
  } finally {
    await cluster.stop();
    removeScratch(scratch);
  }
});

test('bench run --engine rocketmq: a single master on Apache RocketMQ, engine and broker CPU in summary.json', { timeout: 180_000 }, async (t) => {
  const missing = missingTool();
  if (missing) return t.skip(missing);
  const scratch = diskScratchDir('rmq-engine');
  try {
    const out = path.join(scratch, 'report');
    const run = await runBench(['run', '--engine', 'rocketmq', '--profile', 'single-async-flush', ...SHORT, ...SMALL_FILES, '--store-dir', path.join(scratch, 'store'), '--out', out], CLI_TIMEOUT_MS);
    assert.equal(run.code, 0, run.stderr);
    const [result] = readSummary(out).results;
    assert.equal(result.engine, ENGINE);
    assert.ok(result.ok > 0);
    assert.ok((result.cpu?.brokerUsPerMsg['broker-a'] ?? 0) > 0, `the JVM's CPU is accounted: ${JSON.stringify(result.cpu)}`);
    assert.equal(result.effectiveSettings['broker-a'].mappedFileSizeCommitLog, String(64 * 1024 * 1024), 'settings read back from the broker (GET_BROKER_CONFIG)');
    assert.ok(fs.existsSync(path.join(out, `timeseries-single-async-flush-${ENGINE}.csv`)));
  } finally {
    removeScratch(scratch);
  }
});

test('bench run --engine rocketmq async-sync: SYNC_MASTER + SLAVE, the slave reports before load, SEND_OK dominates', { timeout: 180_000 }, async (t) => {
  const missing = missingTool();
  if (missing) return t.skip(missing);
  const scratch = diskScratchDir('rmq-slave');
  try {
    const out = path.join(scratch, 'report');
    const run = await runBench(['run', '--engine', 'rocketmq', '--profile', 'async-sync', ...SHORT, ...SMALL_FILES, '--store-dir', path.join(scratch, 'store'), '--out', out], CLI_TIMEOUT_MS);
    assert.equal(run.code, 0, run.stderr);
    const [result] = readSummary(out).results;
    assert.equal(result.engine, ENGINE);
    const sendOk = result.statusCounts.SEND_OK ?? 0;
    const all = Object.values(result.statusCounts).reduce((a, b) => a + b, 0);
    assert.ok(sendOk > 0 && sendOk >= 0.95 * all, `SEND_OK dominates: ${JSON.stringify(result.statusCounts)}`);
    assert.equal(result.effectiveSettings['broker-a'].brokerRole, 'SYNC_MASTER');
    assert.equal(result.effectiveSettings['broker-a-s'].brokerRole, 'SLAVE');
    assert.ok((result.cpu?.brokerUsPerMsg['broker-a-s'] ?? 0) > 0, 'the slave JVM is accounted too');
  } finally {
    removeScratch(scratch);
  }
});
