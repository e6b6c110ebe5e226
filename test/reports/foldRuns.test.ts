// reports/ owns the folding of runs: merged histogram, TPS spread, status totals, verdict and
// notes. And it stands alone: nothing under reports/ imports the load generator.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { foldRuns, type MeasuredProfile } from '../../reports/foldRuns.js';
import { newLatencyHistogram } from '../../reports/histogram.js';
import type { RunResult } from '../../reports/runData.js';
import { projectRoot } from '../support/scratch.js';

function run(index: number, tps: number, latencyUs: number, statusCounts: Record<string, number>): RunResult {
  const histogram = newLatencyHistogram();
  for (let i = 0; i < 100; i++) histogram.recordValue(latencyUs);
  return {
    run: index, tps, sent: tps, ok: tps, statusCounts, latencyMs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 }, histogram,
    timeseries: [tps - 100, tps + 100].map((perSecond, i) => ({
      second: i + 1, tps: perSecond, sendOkPerSecond: perSecond, failures: 0, latencyMsP50: 0, latencyMsP99: 0, latencyMsMax: 0,
      flushBehindBytes: null, fsyncsPerSecond: null, messagesPerFsync: null, slaveLagBytes: null, replicationLatencyMsP99: null,
    })),
    broker: null,
  };
}

const profile: MeasuredProfile = {
  name: 'sync-sync', variant: null, description: 'd',
  claim: { text: '3000-5000', tpsMin: 3000, tpsMax: 5000, latencyMsMax: null, source: 'seed' },
  load: { driver: 'remoting', producers: 8, sizeBytes: 128, batch: 1, topic: 'T', queues: 8, durationS: 2, warmupS: 1, rate: null, consumers: 0 },
};

test('foldRuns merges the runs: histogram, TPS spread, status totals, verdict and notes', () => {
  const folded = foldRuns(profile, [run(1, 4000, 1000, { SEND_OK: 4000 }), run(2, 6000, 3000, { SEND_OK: 5990, FLUSH_SLAVE_TIMEOUT: 10 })],
    { 'broker-a': { transientStorePoolEnable: 'true', transientStorePoolActive: 'false' } }, 12_000);
  assert.equal(folded.histogram.totalCount, 200);
  assert.equal(folded.latencyMs.p50, 1);
  assert.ok(Math.abs(folded.latencyMs.max - 3) < 0.01);
  assert.deepEqual([folded.tps.mean, folded.tps.min, folded.tps.max, folded.tps.spreadPercent], [5000, 4000, 6000, 20]);
  assert.equal(folded.tps.p50PerSecond, 5900, 'median of 3900, 4100, 5900, 6100');
  assert.deepEqual(folded.statusCounts, { SEND_OK: 9990, FLUSH_SLAVE_TIMEOUT: 10 });
  assert.equal(folded.verdict, 'within');
  assert.match(folded.verdictConfidence, /low confidence: runs straddle the range \(1 of 2 runs within/);
  assert.equal(folded.harnessCeilingTps, 12_000);
  assert.equal(folded.notes.length, 2);
  assert.match(folded.notes[0], /FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE/);
  assert.match(folded.notes[1], /broker-a: transientStorePoolEnable=true was NOT in effect/);
  assert.deepEqual(foldRuns(profile, [run(1, 4000, 1000, { SEND_OK: 4000 })], {}, null).notes, []);
});

test('reports/ imports nothing from loadgen/ (loadgen → reports only)', () => {
  const dir = path.join(projectRoot(), 'reports');
  const offenders = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))
    .filter((f) => /from\s+['"]\.\.\/loadgen\//.test(fs.readFileSync(path.join(dir, f), 'utf8')));
  assert.deepEqual(offenders, []);
});
