// Verify evidence from both engines (bench verify --engine flushbench|rocketmq) beside a run
// report: "What each setting loses" lists each engine's verdict labelled with it, and the claims
// ledger quotes our broker's own verdict even when an Apache RocketMQ one is newer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { claimsLedger } from '../../reports/claimsLedger.js';
import { renderMarkdown } from '../../reports/renderReport.js';
import { collectSafetyEvidence, findEvidence } from '../../reports/safetyEvidence.js';
import type { Summary } from '../../reports/summary.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

function writeVerify(runsDir: string, run: string, engine: string, startedAt: string, verdict: string, detail: string): void {
  fs.mkdirSync(path.join(runsDir, run), { recursive: true });
  const claims = [{ id: 'async-flush-window', claim: 'ASYNC_FLUSH window', verdict, detail }];
  fs.writeFileSync(path.join(runsDir, run, 'verify.json'), JSON.stringify({ profile: 'single-async-flush', engine, mode: 'strict', startedAt, testFaults: null, claims }));
}

function summaryWith(safety: Summary['safety']): Summary {
  const latencyMs = { p50: 1, p90: 1, p99: 1, p999: 1, max: 1, mean: 1 };
  const load = { driver: 'remoting', producers: 64, sizeBytes: 128, batch: 1, topic: 'T', queues: 8, durationS: 10, warmupS: 1, rate: null, consumers: 0 };
  return {
    schemaVersion: 1, tool: { name: 'flushbench', version: 't' }, command: 'bench run', startedAt: 's', finishedAt: 'f',
    host: { hostname: 'h', cpuModel: 'c', cpuCount: 2, memoryBytes: 1, kernel: 'k', storeDir: '/s', fileSystem: 'ext4', mountPoint: '/', mountOptions: 'rw', device: '/dev/x', diskModel: null, rotational: null, vm: {}, scheduler: null, writeCache: null, fsyncProbe: null, diskIsMeasured: true } as unknown as Summary['host'],
    results: [{
      profile: 'single-async-flush', variant: null, description: '', claim: { text: 'c', tpsMin: 1, tpsMax: 2, latencyMsMax: null, source: '' }, load,
      tps: { mean: 1, p50PerSecond: 1, stddevPerSecond: 0, min: 1, max: 1, spreadPercent: 1 }, latencyMs, sent: 1, ok: 1, statusCounts: {}, verdict: 'within', verdictConfidence: 'low',
      harnessCeilingTps: null, boundBy: 'broker', runs: [], effectiveSettings: {}, notes: [], cpu: null,
    }] as unknown as Summary['results'],
    safety,
  };
}

test('both engines\' verify verdicts show in the loss section with their engine; the ledger prefers ours', () => {
  const runsDir = scratchDir('safety-engines');
  try {
    writeVerify(runsDir, 'ours', 'flushbench', '2026-12-01T10:00:00.000Z', 'holds', 'ours: 30 power cuts, max window 480 ms');
    writeVerify(runsDir, 'apache', 'rocketmq', '2026-12-01T12:00:00.000Z', 'violated', 'apache: 30 power cuts, max window 900 ms');
    const evidence = collectSafetyEvidence(runsDir);
    assert.equal(evidence.length, 2, 'one verdict per engine, not the newest overall');
    assert.equal(findEvidence(evidence, 'single-async-flush', 'async-flush-window')?.engine, 'flushbench');
    assert.equal(findEvidence(evidence, 'single-async-flush', 'async-flush-window', 'rocketmq')?.engine, 'rocketmq');
    assert.equal(findEvidence(evidence.filter((e) => e.engine === 'rocketmq'), 'single-async-flush', 'async-flush-window')?.engine, 'rocketmq', 'another engine\'s verdict when ours is missing');

    const summary = summaryWith(evidence);
    const ledger = claimsLedger(summary).find((e) => e.claim.startsWith('ASYNC_FLUSH loses at most'));
    assert.equal(ledger?.verdict, 'holds');
    assert.match(ledger?.evidence ?? '', /ours: 30 power cuts.*flushbench/);

    const report = renderMarkdown(summary, []);
    const start = report.indexOf('## What each setting loses');
    const section = report.slice(start, report.indexOf('## ', start + 3));
    assert.match(section, /\| holds \| ours: 30 power cuts.*flushbench: ours \|/);
    assert.match(section, /\| violated \| apache: 30 power cuts.*rocketmq: apache \|/);
  } finally {
    removeScratch(runsDir);
  }
});
