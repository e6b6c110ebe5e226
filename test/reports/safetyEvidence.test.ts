// A run report quotes the newest `bench verify` verdict per profile and claim found beside it
// (reports/runs/*/verify.json): in the ledger's safety claims and in "What each setting loses".
// Runs with a test fault, unfinished files and "not tested" claims are never evidence.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { claimsLedger } from '../../reports/claimsLedger.js';
import { renderMarkdown } from '../../reports/renderReport.js';
import { collectSafetyEvidence } from '../../reports/safetyEvidence.js';
import type { Summary } from '../../reports/summary.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

function writeVerify(runsDir: string, run: string, body: Record<string, unknown> | string): void {
  fs.mkdirSync(path.join(runsDir, run), { recursive: true });
  fs.writeFileSync(path.join(runsDir, run, 'verify.json'), typeof body === 'string' ? body : JSON.stringify(body));
}

function verify(profile: string, startedAt: string, claims: Array<[string, string, string]>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { profile, engine: 'flushbench', mode: 'strict', startedAt, testFaults: null, claims: claims.map(([id, verdict, detail]) => ({ id, claim: `claim ${id}`, verdict, detail })), ...extra };
}

const LOAD = { driver: 'remoting', producers: 64, sizeBytes: 128, batch: 1, topic: 'T', queues: 8, durationS: 10, warmupS: 1, rate: null, consumers: 0 };

function summaryFor(profiles: string[], runsDir: string): Summary {
  const latencyMs = { p50: 1, p90: 1, p99: 1, p999: 1, max: 1, mean: 1 };
  return {
    schemaVersion: 1, tool: { name: 'flushbench', version: 't' }, command: 'bench run', startedAt: 's', finishedAt: 'f',
    host: { hostname: 'h', cpuModel: 'c', cpuCount: 2, memoryBytes: 1, kernel: 'k', storeDir: '/s', fileSystem: 'ext4', mountPoint: '/', mountOptions: 'rw', device: '/dev/x', diskModel: null, rotational: null, vm: { dirty_ratio: 20, dirty_background_ratio: 10 }, scheduler: 'mq-deadline', writeCache: 'write back', fsyncProbe: null, diskIsMeasured: true } as unknown as Summary['host'],
    results: profiles.map((profile) => ({
      profile, variant: null, description: '', claim: { text: 'c', tpsMin: 3000, tpsMax: 5000, latencyMsMax: null, source: '' }, load: LOAD,
      tps: { mean: 4000, p50PerSecond: 4000, stddevPerSecond: 0, min: 4000, max: 4000, spreadPercent: 1 }, latencyMs,
      sent: 10, ok: 10, statusCounts: { SEND_OK: 10 }, verdict: 'within', verdictConfidence: 'low', harnessCeilingTps: null, boundBy: 'broker',
      runs: [{ run: 1, tps: 4000, sent: 10, ok: 10, statusCounts: {}, latencyMs, timeseries: [], broker: null }], effectiveSettings: {}, notes: [], cpu: null,
    })) as unknown as Summary['results'],
    safety: collectSafetyEvidence(runsDir),
  };
}

test('the newest verify verdict per profile and claim is picked up; test-fault runs, broken files and "not tested" are not', () => {
  const runsDir = scratchDir('safety-evidence');
  try {
    writeVerify(runsDir, 'old-sync', verify('single-sync-flush', '2026-11-01T10:00:00.000Z', [['sync-flush-power-cut', 'violated', 'old: 3 lost']]));
    writeVerify(runsDir, 'new-sync', verify('single-sync-flush', '2026-12-01T10:00:00.000Z', [['sync-flush-power-cut', 'holds', '50 power cuts, 392928 acked, 0 lost'], ['kill-no-loss', 'not tested', 'no kill ran']]));
    writeVerify(runsDir, 'faulty', verify('single-sync-flush', '2026-12-02T10:00:00.000Z', [['sync-flush-power-cut', 'violated', 'ack-before-fsync caught']], { testFaults: 'ack-before-fsync' }));
    writeVerify(runsDir, 'half-written', '{"profile": "single-async-flush", "claims": [');
    writeVerify(runsDir, 'dledger', verify('dledger', '2026-12-01T11:00:00.000Z', [['dledger-leader-kill', 'holds', '50 leader kills, 0 missing'], ['dledger-automatic-failover', 'holds', 'failover p50 6589 ms']]));

    const evidence = collectSafetyEvidence(runsDir);
    assert.deepEqual(evidence.map((e) => `${e.profile}/${e.claimId}=${e.verdict}`).sort(),
      ['dledger/dledger-automatic-failover=holds', 'dledger/dledger-leader-kill=holds', 'single-sync-flush/sync-flush-power-cut=holds']);
    assert.equal(collectSafetyEvidence(path.join(runsDir, 'no-such-folder')).length, 0);

    const summary = summaryFor(['single-sync-flush', 'single-async-flush'], runsDir);
    const ledger = claimsLedger(summary);
    const syncFlush = ledger.find((e) => e.claim.startsWith('SYNC_FLUSH loses nothing'));
    assert.equal(syncFlush?.verdict, 'holds');
    assert.match(syncFlush?.evidence ?? '', /392928 acked, 0 lost.*2026-12-01.*strict.*new-sync/);
    assert.equal(ledger.find((e) => e.claim.startsWith('ASYNC_FLUSH loses at most'))?.verdict, 'not run');
    assert.equal(ledger.find((e) => e.claim.startsWith('DLedger: nothing acked is lost when the leader is killed'))?.verdict, 'holds');

    const report = renderMarkdown(summary, []);
    const section = report.slice(report.indexOf('## What each setting loses'), report.indexOf('## ', report.indexOf('## What each setting loses') + 3));
    assert.match(section, /\| single-sync-flush \| claim sync-flush-power-cut \| holds \| 50 power cuts/);
    assert.match(section, /No bench verify result beside this report for single-async-flush/);
    assert.doesNotMatch(section, /ack-before-fsync|old: 3 lost/);
  } finally {
    removeScratch(runsDir);
  }
});
