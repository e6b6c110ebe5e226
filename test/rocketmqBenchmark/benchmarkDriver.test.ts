// RocketMQ's benchmark Producer (a JVM) drives our single-async-flush broker through the CLI for a
// few seconds: the run reports TPS > 0 and the JVM's CPU as the load generator's. Skipped, with
// the reason, without java, or without the jars and mvn to fetch them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { defaultCacheDir, DEFAULT_ROCKETMQ_VERSION } from '../../loadgen/rocketmq/fetch.js';
import { EXAMPLE_DIR } from '../../loadgen/rocketmqBenchmark/producerJar.js';
import { runBench } from '../support/benchCli.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';

const CLI_TIMEOUT_MS = 120_000;

function missingTool(): string | null {
  if (spawnSync('java', ['-version']).error) return 'java is not installed (apt-get install openjdk-17-jre-headless)';
  const cache = defaultCacheDir(DEFAULT_ROCKETMQ_VERSION);
  const cached = fs.existsSync(path.join(cache, 'fetch-complete.json')) && fs.existsSync(path.join(cache, EXAMPLE_DIR));
  if (!cached && spawnSync('mvn', ['-v']).error) return 'mvn is not installed and the RocketMQ jars (lib/ and the benchmark Producer) are not cached (apt-get install maven)';
  return null;
}

interface Result {
  load: { driver: string };
  tps: { mean: number };
  ok: number;
  latencyMs: { mean: number | null; p99: number | null };
  cpu: { loadgenUsPerMsg: number | null; brokerUsPerMsg: Record<string, number | null> } | null;
  notes: string[];
}

test('--driver rocketmq-benchmark: the Java Producer loads our single-async-flush broker; TPS > 0 and its CPU per message', { timeout: 600_000 }, async (t) => {
  const missing = missingTool();
  if (missing) return t.skip(missing);
  const scratch = diskScratchDir('rmq-bench-driver');
  try {
    const out = path.join(scratch, 'report');
    const run = await runBench(['run', '--profile', 'single-async-flush', '--driver', 'rocketmq-benchmark', '--warmup', '1', '--duration', '3', '--producers', '8',
      '--no-calibrate', '--quiet', '--store-dir', path.join(scratch, 'store'), '--out', out], CLI_TIMEOUT_MS);
    assert.equal(run.code, 0, run.stderr);
    const [result] = (JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as { results: Result[] }).results;
    assert.equal(result.load.driver, 'rocketmq-benchmark');
    assert.ok(result.ok > 0 && result.tps.mean > 0, `acked in the window: ${result.ok}, TPS ${result.tps.mean}`);
    assert.ok((result.cpu?.loadgenUsPerMsg ?? 0) > 0, `the JVM's CPU is the load generator's: ${JSON.stringify(result.cpu)}`);
    assert.ok((result.cpu?.brokerUsPerMsg['broker-a'] ?? 0) > 0);
    assert.equal(result.latencyMs.p99, null, 'no percentiles from the benchmark Producer (NaN → null in JSON)');
    // 3 s is shorter than the Producer's 10 s print interval: TPS falls back to the queue offsets, and the report says so.
    assert.ok(result.notes.some((n) => /printed no 10 s line/.test(n)), result.notes.join('\n'));
    assert.ok(result.notes.some((n) => /no percentiles/.test(n)));
    const log = fs.readdirSync(path.join(out, 'logs'), { recursive: true }).map(String).find((f) => f.endsWith('benchmark-producer.out'));
    assert.ok(log, 'the JVM output is kept below the report');
  } finally {
    removeScratch(scratch);
  }
});
