// issue #14 on our engine, shape only: SYSTEM_BUSY appears at saturation; ASYNC_MASTER lag at a
// moderate rate stays below 100 ms (the master's 100 ms transfer wait) plus the transfer time.
import assert from 'node:assert/strict';
import test from 'node:test';
import { runScenario } from '../../loadgen/scenarios/runScenario.js';
import type { AsyncLagRate, SaturationResult } from '../../reports/scenarioData.js';
import { diskScratchDir, removeScratch, scratchDir } from '../support/scratch.js';

test('saturation: 256 producers on single-sync-flush get SYSTEM_BUSY, answered fast', { timeout: 60_000 }, async (t) => {
  // A real disk (fdatasync must cost something for sends to queue) and a 1 ms send-queue budget
  // (RocketMQ: 200 ms): with the default, 256 producers do not make either engine shed here
  // (bench scenario --name saturation: 0 SYSTEM_BUSY on both); with 1 ms a few do, as [TIMEOUT_CLEAN_QUEUE].
  const dir = diskScratchDir('scenario-saturation');
  try {
    const file = await runScenario({
      name: 'saturation', engines: ['flushbench'], outDir: dir, storeRoot: dir,
      settings: { saturationWarmupMs: 1000, saturationDurationMs: 5000, brokerSet: { waitTimeMillsInSendQueue: '1' } },
    });
    const [engine] = file.engines;
    assert.equal(engine.error, null);
    const r = engine.outcome?.result as SaturationResult;
    assert.ok(r.ackedPerSecond > 0, 'some sends are still acked');
    const busy = r.statuses.SYSTEM_BUSY ?? 0;
    assert.equal(Object.values(r.busyReasons).reduce((a, b) => a + b, 0), busy, 'every SYSTEM_BUSY has its reason counted');
    assert.equal(r.busyReasons.unknown, undefined, `reasons are RocketMQ's prefixes: ${JSON.stringify(r.busyReasons)}`);
    // Our sends queue only while a CommitLog write runs in the thread pool (a long fdatasync):
    // on a disk whose fdatasync stays short none waits even 1 ms. Say so instead of passing.
    if (busy === 0) {
      t.skip(`no send waited 1 ms in this run (fdatasync too fast here): ${JSON.stringify(r.statuses)}, acked p99 ${r.ackedLatencyMs.p99} ms`);
      return;
    }
    assert.ok(r.systemBusyShare > 0 && (r.busyReasons['[TIMEOUT_CLEAN_QUEUE]'] ?? 0) > 0, `SYSTEM_BUSY as [TIMEOUT_CLEAN_QUEUE]: ${JSON.stringify(r.busyReasons)}`);
    assert.ok(r.refusalLatencyMs.p50 < r.ackedLatencyMs.p99 + 50, `refusals come fast: ${JSON.stringify(r.refusalLatencyMs)}`);
  } finally {
    removeScratch(dir);
  }
});

test('ASYNC_MASTER lag at 1k msgs/s: up to the 100 ms transfer wait plus the transfer time', { timeout: 60_000 }, async (t) => {
  const dir = scratchDir('scenario-lag');
  try {
    const file = await runScenario({
      name: 'async-lag', engines: ['flushbench'], outDir: dir, storeRoot: dir, settings: { lagRates: [1000], lagWarmupMs: 1000, lagDurationMs: 3000 },
    });
    const [engine] = file.engines;
    assert.equal(engine.error, null);
    const [r] = engine.outcome?.result as AsyncLagRate[];
    assert.ok(r.samples >= 15, `sampled every 100 ms: ${r.samples}`);
    assert.ok(r.commitLogBytesPerSecond > 0);
    // Below the 100 ms transfer wait + the transfer and the sampling requests (p90 < 200 ms)…
    assert.ok(r.lagMs.p50 < 100 && r.lagMs.p90 < 200, `lag (runtime info) ${JSON.stringify(r.lagMs)}`);
    assert.ok(r.metricLagMs !== null && r.metricLagMs.p50 < 100 && r.metricLagMs.p90 < 200, `master view ${JSON.stringify(r.metricLagMs)}`);
    // An idle master sender waits up to 100 ms (RocketMQ's WriteSocketService), so the lag is
    // usually spread over 0–100 ms; a clean CI run once measured p90 21 ms, so this is reported,
    // not asserted (what a master kill would lose is bounded above, which is the claim).
    t.diagnostic(`master-view lag at 1k msgs/s: ${JSON.stringify(r.metricLagMs)}`);
  } finally {
    removeScratch(dir);
  }
});
