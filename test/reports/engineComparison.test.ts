// Engines in reports: results carry engine, the side-by-side table with flushbench ÷ RocketMQ
// ratios, distinct file names per engine, and bench compare keys that include the engine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profileKey } from '../../reports/compareReports.js';
import { engineRows, hasSeveralEngines } from '../../reports/engineComparison.js';
import { engineNotes, foldRuns } from '../../reports/foldRuns.js';
import { newLatencyHistogram } from '../../reports/histogram.js';
import type { Summary, SummaryResult } from '../../reports/summary.js';
import { slugOf } from '../../reports/writeReport.js';

function result(profile: string, engine: string | undefined, tps: number, cpuUs: number | null): SummaryResult {
  return {
    profile, variant: null, engine, tps: { mean: tps, p50PerSecond: tps, stddevPerSecond: 0, min: tps, max: tps, spreadPercent: 0 },
    latencyMs: { p50: 1, p90: 2, p99: 3, p999: 4, max: 5, mean: 1 }, statusCounts: { SEND_OK: 100, FLUSH_SLAVE_TIMEOUT: engine === 'flushbench' ? 0 : 2 },
    verdict: 'within', cpu: cpuUs === null ? null : { brokerUsPerMsg: { 'broker-a': cpuUs }, brokersTotalUsPerMsg: cpuUs, namesrvUsPerMsg: 0, loadgenUsPerMsg: 9, hostStealPercent: 0, hostBusyPercent: 90 },
  } as unknown as SummaryResult;
}

const summaryOf = (results: SummaryResult[]) => ({ results } as unknown as Summary);

test('engines side by side: one row per profile and engine, flushbench ÷ RocketMQ TPS and broker CPU per message', () => {
  const summary = summaryOf([result('sync-sync', 'flushbench', 20_000, 20), result('sync-sync', 'rocketmq-4.9.7', 10_000, 40), result('async-async', 'flushbench', 30_000, 10)]);
  assert.ok(hasSeveralEngines(summary));
  const rows = engineRows(summary);
  assert.deepEqual(rows.map((r) => [r[0], r[1]]), [['sync-sync', 'flushbench'], ['sync-sync', 'rocketmq-4.9.7'], ['async-async', 'flushbench']]);
  assert.equal(rows[0][7], 'TPS ×2.00, CPU ×0.50 (vs rocketmq-4.9.7)');
  assert.equal(rows[1][4], 'FLUSH_SLAVE_TIMEOUT 2');
  assert.equal(rows[1][6], '40.0');
  assert.equal(rows[2][7], '', 'no RocketMQ row, no ratio');
  assert.ok(!hasSeveralEngines(summaryOf([result('x', undefined, 1, 1), result('y', 'flushbench', 1, 1)])), 'a summary without engine is flushbench');
});

test('bench compare and file names keep engines apart; older summaries without engine are flushbench', () => {
  assert.equal(profileKey(result('sync-sync', 'rocketmq-4.9.7', 1, 1)), 'sync-sync (rocketmq-4.9.7)');
  assert.equal(profileKey(result('sync-sync', 'flushbench', 1, 1)), 'sync-sync');
  assert.equal(profileKey(result('sync-sync', undefined, 1, 1)), 'sync-sync');
  const folded = (engine?: string) => foldRuns({ name: 'p', variant: null, description: '', claim: { text: '', tpsMin: null, tpsMax: null, latencyMsMax: null, source: '' }, load: {} as never, engine }, [{
    run: 1, tps: 1, sent: 1, ok: 1, statusCounts: { SEND_OK: 1 }, latencyMs: { p50: 1, p90: 1, p99: 1, p999: 1, max: 1, mean: 1 }, histogram: newLatencyHistogram(), timeseries: [], broker: null,
  }], {}, null);
  assert.notEqual(slugOf(folded('rocketmq-4.9.7')), slugOf(folded()));
  assert.equal(folded().engine, 'flushbench');
  assert.equal(folded('rocketmq-4.9.7').engine, 'rocketmq-4.9.7');
  assert.ok(folded('rocketmq-4.9.7').notes.some((n) => /broker-side metrics .* empty for it/.test(n)), 'the report says why RocketMQ has no fsync columns');
  assert.deepEqual(engineNotes('flushbench'), []);
});
