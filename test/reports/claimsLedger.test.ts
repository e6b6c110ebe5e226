// The claims ledger from a fixture summary: every seed claim is listed once; TPS verdicts carry
// the fsyncs/s × messages-per-fsync sentence; latency claims compare p50 and p99; the timeout
// claim is refuted by status counts; the metric names really exist in the broker's source.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { claimsLedger, SEED_METRICS } from '../../reports/claimsLedger.js';
import { renderMarkdown } from '../../reports/renderReport.js';
import type { Summary } from '../../reports/summary.js';
import { projectRoot } from '../support/scratch.js';

const LOAD = { driver: 'remoting', producers: 64, sizeBytes: 128, batch: 1, topic: 'T', queues: 8, durationS: 10, warmupS: 1, rate: null, consumers: 0 };

function result(profile: string, tps: number, p50: number, p99: number, extra: Record<string, unknown> = {}): Summary['results'][number] {
  return {
    profile, variant: null, description: '', claim: { text: '', tpsMin: 3000, tpsMax: 5000, latencyMsMax: null, source: '' }, load: LOAD,
    tps: { mean: tps, p50PerSecond: tps, stddevPerSecond: 0, min: tps, max: tps, spreadPercent: 2 }, latencyMs: { p50, p90: p99, p99, p999: p99, max: p99, mean: p50 },
    sent: tps * 10, ok: tps * 10, statusCounts: { SEND_OK: tps * 10 }, verdict: 'within', verdictConfidence: 'low', harnessCeilingTps: null, boundBy: 'broker',
    runs: [{ run: 1, tps, sent: tps * 10, ok: tps * 10, statusCounts: {}, latencyMs: { p50, p90: p99, p99, p999: p99, max: p99, mean: p50 }, timeseries: [], broker: { fsyncs: 9700, messagesPerFsync: 26, flushFailedTimes: 0 } }],
    effectiveSettings: {}, notes: [], cpu: null, ...extra,
  } as unknown as Summary['results'][number];
}

function fixture(): Summary {
  return {
    schemaVersion: 1, tool: { name: 'flushbench', version: 't' }, command: 'bench run', startedAt: 's', finishedAt: 'f',
    host: { hostname: 'h', cpuModel: 'c', cpuCount: 2, memoryBytes: 1, kernel: 'k', storeDir: '/s', fileSystem: 'ext4', mountPoint: '/', mountOptions: 'rw', device: '/dev/x', diskModel: null, rotational: null, vm: { dirty_ratio: 20, dirty_background_ratio: 10 }, scheduler: 'mq-deadline', writeCache: 'write back', fsyncProbe: { fdatasyncPerSecond: 1000, latencyMsP50: 1, latencyMsP99: 2 }, diskIsMeasured: true } as unknown as Summary['host'],
    results: [
      result('sync-sync', 25_220, 2.5, 12, { statusCounts: { SEND_OK: 100, FLUSH_SLAVE_TIMEOUT: 3, SLAVE_NOT_AVAILABLE: 1 }, sent: 104 }),
      result('single-sync-flush', 25_220, 12, 60),
      result('async-async', 80_000, 0.4, 0.9),
    ],
  };
}

test('every seed claim appears once, with a verdict and where it comes from', () => {
  const ledger = claimsLedger(fixture());
  const claims = ledger.map((e) => e.claim);
  assert.equal(new Set(claims).size, claims.length, 'no claim twice');
  for (const profile of ['async-async', 'sync-async', 'async-sync', 'sync-sync', 'single-sync-flush', 'single-async-flush']) {
    assert.equal(claims.filter((c) => c.startsWith(`${profile}: TPS `)).length, 1, profile);
  }
  for (const e of ledger) assert.ok(e.verdict.length > 0 && e.evidence.length > 0, e.claim);
  const byClaim = (prefix: string) => ledger.find((e) => e.claim.startsWith(prefix)) ?? assert.fail(`no ${prefix}`);
  assert.match(byClaim('sync-sync: TPS').evidence, /≈ 970 fsyncs\/s × 26\.0 messages per fsync \(group commit\) ≈ 25,220 msg\/s: the claimed 3,000–5,000 matches one fsync per message on a disk doing 3,000–5,000 fsyncs\/s; this disk does 1,000 fdatasync\/s/);
  assert.deepEqual([byClaim('sync-async: TPS').verdict, byClaim('sync-async: TPS').evidence], ['not run', 'bench run --profile sync-async']);
  assert.match(byClaim('async-async: TPS').evidence, /ASYNC_FLUSH acks from the page cache/);
  assert.equal(byClaim('SYNC_FLUSH latency').verdict, 'p50 within, p99 above');
  assert.equal(byClaim('async replication latency').verdict, 'within');
  assert.equal(byClaim('ASYNC_FLUSH latency').verdict, 'not run');
  const timeout = byClaim('"a sync-replication timeout');
  assert.equal(timeout.verdict, 'refuted');
  assert.match(timeout.evidence, /3 FLUSH_SLAVE_TIMEOUT and 1 SLAVE_NOT_AVAILABLE answers out of 104 sends/);
  assert.match(byClaim('ASYNC_FLUSH loses at most').evidence, /^bench verify --profile single-async-flush --fault powercut/);
  assert.match(byClaim('SSD is 10×').evidence, /bench compare/);
  assert.match(byClaim('OS advice').evidence, /bench tune sweep --param vm\.dirty_ratio/);
  assert.equal(ledger.filter((e) => e.claim.startsWith('monitor ')).length, 6);
});

test('the timeout claim is "not exercised" when no sync-master profile saw a timeout', () => {
  const s = fixture();
  s.results[0].statusCounts = { SEND_OK: 104 };
  assert.equal(claimsLedger(s).find((e) => e.claim.startsWith('"a sync'))?.verdict, 'not exercised');
});

test('each metric the ledger says the broker exposes is registered in the broker source', () => {
  const root = projectRoot();
  const source = ['broker/server/brokerMetrics.ts', 'broker/ha/haMaster.ts'].map((f) => fs.readFileSync(path.join(root, f), 'utf8')).join('\n');
  for (const m of SEED_METRICS) {
    assert.ok(m.ours, `${m.seed} is mapped`);
    assert.ok(source.includes(`${m.ours}`), `${m.ours} (for ${m.seed}) is in the broker source`);
  }
});

test('report.md has the claims ledger section', () => {
  const md = renderMarkdown(fixture(), []);
  assert.match(md, /## Claims ledger\n\n\| claim \(seed\) \| verdict \| where it comes from \|/);
});
