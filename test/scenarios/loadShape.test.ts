// issue #14 on our engine, shape only: SYSTEM_BUSY appears at saturation; ASYNC_MASTER lag at a
// moderate rate stays below 100 ms (the master's 100 ms transfer wait) plus the transfer time.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { AsyncLagRate } from '../../loadgen/scenarios/asyncLag.js';
import { runScenario } from '../../loadgen/scenarios/runScenario.js';
import type { SaturationResult } from '../../loadgen/scenarios/saturation.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

test('saturation: 256 producers on single-sync-flush get SYSTEM_BUSY, answered fast', { timeout: 60_000 }, async () => {
  const dir = scratchDir('scenario-saturation');
  try {
    // A 2 ms send-queue budget (RocketMQ: 200 ms) so that a fast test disk still saturates in 3 s.
    const file = await runScenario({
      name: 'saturation', engines: ['flushbench'], outDir: dir, storeRoot: dir,
      settings: { saturationWarmupMs: 1000, saturationDurationMs: 3000, brokerSet: { waitTimeMillsInSendQueue: '2' } },
    });
    const [engine] = file.engines;
    assert.equal(engine.error, null);
    const r = engine.outcome?.result as SaturationResult;
    assert.ok((r.statuses.SYSTEM_BUSY ?? 0) > 0 && r.systemBusyShare > 0, `SYSTEM_BUSY at saturation: ${JSON.stringify(r.statuses)}`);
    assert.ok((r.busyReasons['[TIMEOUT_CLEAN_QUEUE]'] ?? 0) > 0, `reason kept: ${JSON.stringify(r.busyReasons)}`);
    assert.ok(r.ackedPerSecond > 0, 'some sends are still acked');
  } finally {
    removeScratch(dir);
  }
});

test('ASYNC_MASTER lag at 1k msgs/s: up to the 100 ms transfer wait plus the transfer time', { timeout: 60_000 }, async () => {
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
    // …and not ~0: an idle master sender waits up to 100 ms (RocketMQ's WriteSocketService), it is not woken by each ASYNC_MASTER put.
    assert.ok(r.metricLagMs.p90 >= 30, `the 100 ms transfer wait shows in the lag: ${JSON.stringify(r.metricLagMs)}`);
  } finally {
    removeScratch(dir);
  }
});
