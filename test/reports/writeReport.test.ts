import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { newLatencyHistogram } from '../../reports/histogram.js';
import { collectHostFacts, mountOf } from '../../loadgen/hostFacts.js';
import { verdictOf } from '../../reports/verdict.js';
import type { ProfileResult, RunData, RunResult } from '../../reports/runData.js';
import { validateSummary } from '../../reports/summary.js';
import { TIMESERIES_COLUMNS, writeReport } from '../../reports/writeReport.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

function run(index: number, tps: number): RunResult {
  const histogram = newLatencyHistogram();
  for (let i = 1; i <= 1000; i++) histogram.recordValue(i * 10);
  return {
    run: index, tps, sent: tps * 3, ok: tps * 3, statusCounts: { SEND_OK: tps * 3 - 5, FLUSH_SLAVE_TIMEOUT: 5 },
    latencyMs: { p50: 5, p90: 9, p99: 9.9, p999: 10, max: 10, mean: 5 }, histogram,
    timeseries: [1, 2, 3].map((second) => ({
      second, tps, sendOkPerSecond: tps, failures: 0, latencyMsP50: 1, latencyMsP99: 2, latencyMsMax: 3,
      flushBehindBytes: 0, fsyncsPerSecond: 100, messagesPerFsync: tps / 100, slaveLagBytes: null, replicationLatencyMsP99: null,
    })),
    broker: { fsyncs: 300, messagesPerFsync: 10, flushFailedTimes: 0 },
  };
}

function result(profile: string, tpsMin: number | null, engine = 'flushbench'): ProfileResult {
  const runs = [run(1, 2000), run(2, 2200)];
  const histogram = newLatencyHistogram();
  for (const r of runs) histogram.add(r.histogram);
  const claim = { text: 'claim', tpsMin, tpsMax: tpsMin === null ? null : tpsMin * 2, latencyMsMax: null, source: 'test' };
  const { verdict, confidence } = verdictOf(claim, runs.map((r) => r.tps));
  return {
    profile, variant: tpsMin === null ? 'x=1' : null, engine, description: 'd', claim,
    load: { driver: 'remoting', producers: 64, sizeBytes: 128, batch: 1, topic: 'T', queues: 8, durationS: 3, warmupS: 1, rate: null, consumers: 0 },
    runs, histogram, tps: { mean: 2100, p50PerSecond: 2000, stddevPerSecond: 100, min: 2000, max: 2200, spreadPercent: 4.8 },
    latencyMs: { p50: 5, p90: 9, p99: 9.9, p999: 10, max: 10, mean: 5 }, sent: 12600, ok: 12600, statusCounts: { SEND_OK: 12590, FLUSH_SLAVE_TIMEOUT: 10 },
    verdict, verdictConfidence: confidence, harnessCeilingTps: 50_000, effectiveSettings: { 'broker-a': { flushDiskType: 'SYNC_FLUSH' } }, notes: ['a note'],
    cpu: { brokerUsPerMsg: { 'broker-a': 21.5 }, brokersTotalUsPerMsg: 21.5, namesrvUsPerMsg: 0.1, loadgenUsPerMsg: 13.4, hostStealPercent: 7.5, hostBusyPercent: 90 },
  };
}

test('writeReport writes summary, CSVs, hgrm, 1200×600 PNG charts, markdown and self-contained HTML', async () => {
  const dir = scratchDir('report');
  try {
    const data: RunData = {
      tool: { name: 'flushbench', version: 'test' }, startedAt: 'a', finishedAt: 'b', command: 'bench run',
      host: await collectHostFacts(dir), results: [result('sync-sync', 3000), result('least-pages', null)],
    };
    await writeReport(dir, data);
    const files = fs.readdirSync(dir);
    for (const name of ['summary.json', 'report.md', 'report.html', 'claims.png', 'latency-distribution.png', 'fsync.png', 'timeseries-sync-sync.csv', 'latency-sync-sync.csv', 'latency-sync-sync.hgrm', 'tps-sync-sync.png', 'latency-least-pages-x_1.png']) {
      assert.ok(files.includes(name), `missing ${name}`);
    }
    for (const png of files.filter((f) => f.endsWith('.png'))) {
      const bytes = fs.readFileSync(path.join(dir, png));
      assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], png);
      assert.equal(bytes.toString('ascii', 12, 16), 'IHDR');
      assert.equal(bytes.readUInt32BE(16), 1200, `${png} width`);
      assert.equal(bytes.readUInt32BE(20), 600, `${png} height`);
    }
    const csv = fs.readFileSync(path.join(dir, 'timeseries-sync-sync.csv'), 'utf8').split('\n');
    assert.equal(csv[0], TIMESERIES_COLUMNS.join(','));
    assert.equal(csv.filter(Boolean).length, 1 + 6, 'three seconds × two runs');
    assert.match(fs.readFileSync(path.join(dir, 'latency-sync-sync.csv'), 'utf8'), /^percentile,latencyMs,count\n/);
    assert.match(fs.readFileSync(path.join(dir, 'latency-sync-sync.hgrm'), 'utf8'), /Value\s+Percentile\s+TotalCount/);
    const summary = validateSummary(JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')));
    assert.equal(summary.results[0].verdict, 'below');
    assert.equal(summary.results[1].verdict, null);
    assert.equal(summary.results[0].boundBy, 'broker');
    const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
    assert.ok(html.indexOf('Verdicts') < html.indexOf('Host'), 'verdict table comes first');
    assert.match(html, /<td class="verdict-below">below<\/td>/);
    assert.ok((html.match(/src="data:image\/png;base64,/g) ?? []).length >= 5, 'charts embedded');
    assert.doesNotMatch(html, /src="(?!data:)/, 'no external assets');
    assert.match(html, /FLUSH_SLAVE_TIMEOUT 10/);
    const md = fs.readFileSync(path.join(dir, 'report.md'), 'utf8');
    assert.match(md, /\| sync-sync \| claim \| 3,000–6,000 \|/);
  } finally {
    removeScratch(dir);
  }
});

test('validateSummary names the first bad path', () => {
  assert.throws(() => validateSummary({ schemaVersion: 1, host: {}, results: [{ profile: 'p', tps: { mean: 'fast' } }] }), /\$\.results\[0\]\.tps\.mean/);
  assert.throws(() => validateSummary({ schemaVersion: 99 }), /\$\.schemaVersion must be 1/);
  assert.throws(() => validateSummary([]), /\$\.results|\$\.schemaVersion/);
});

test('verdicts: below, within, above, none, and confidence from the runs', () => {
  const claim = { text: '', tpsMin: 1000, tpsMax: 3000, latencyMsMax: null, source: '' };
  assert.equal(verdictOf(claim, [500]).verdict, 'below');
  assert.equal(verdictOf(claim, [2000]).verdict, 'within');
  assert.equal(verdictOf(claim, [3000.5]).verdict, 'above');
  assert.match(verdictOf(claim, [2000]).confidence, /1 run/);
  assert.match(verdictOf(claim, [900, 1100, 2000]).confidence, /low confidence: runs straddle the range \(2 of 3 runs within/);
  assert.equal(verdictOf({ ...claim, tpsMin: null, tpsMax: null }, [5]).verdict, null);
});

test('host facts: the file system of a temp dir, and tmpfs is flagged as not a disk', async () => {
  const facts = await collectHostFacts(os.tmpdir());
  assert.ok(facts.fileSystem, 'a file system type');
  assert.equal(typeof facts.vm.dirty_ratio, 'number');
  const fake = '36 1 0:40 / /mnt/ram rw,relatime - tmpfs tmpfs rw\n30 1 8:1 / / rw - ext4 /dev/sda1 rw\n';
  assert.equal(mountOf('/', fake)?.fileSystem, 'ext4');
});
