import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { compareTable } from '../../loadgen/commands/compare.js';
import { probeDisk } from '../../loadgen/diskProbe.js';
import { applyAdvice, readSettings, restoreSaved, SEED_ADVICE, withVmSettings } from '../../loadgen/vmTuning.js';
import type { Summary } from '../../reports/summary.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';

function fakeProcSys(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fb-procsys-'));
  fs.mkdirSync(path.join(dir, 'vm'));
  for (const [key, value] of Object.entries({ 'vm/dirty_ratio': '20', 'vm/dirty_background_ratio': '10', 'vm/swappiness': '60', 'vm/overcommit_memory': '0' })) {
    fs.writeFileSync(path.join(dir, key), `${value}\n`);
  }
  return dir;
}

test('tune: apply saves the originals, refuses to overwrite saved state, restore puts them back', async () => {
  const procSys = fakeProcSys();
  const state = path.join(procSys, 'state.json');
  try {
    applyAdvice(state, SEED_ADVICE, procSys);
    assert.equal(readSettings(['vm/dirty_ratio'], procSys)['vm/dirty_ratio'], '40');
    assert.throws(() => applyAdvice(state, SEED_ADVICE, procSys), /already holds saved settings/);
    restoreSaved(state, procSys);
    assert.deepEqual(readSettings(['vm/dirty_ratio', 'vm/swappiness'], procSys), { 'vm/dirty_ratio': '20', 'vm/swappiness': '60' });
    assert.ok(!fs.existsSync(state));
    assert.throws(() => restoreSaved(state, procSys), /nothing to restore/);
    await assert.rejects(withVmSettings({ 'vm/dirty_ratio': '5' }, async () => {
      assert.equal(readSettings(['vm/dirty_ratio'], procSys)['vm/dirty_ratio'], '5');
      throw new Error('boom');
    }, procSys), /boom/);
    assert.equal(readSettings(['vm/dirty_ratio'], procSys)['vm/dirty_ratio'], '20', 'restored even when fn throws');
  } finally {
    fs.rmSync(procSys, { recursive: true, force: true });
  }
});

test('compare: matches profiles, computes ratios and states the SSD-vs-HDD claim', () => {
  const summary = (rotational: boolean, tps: number): Summary => ({
    schemaVersion: 1, tool: { name: 'flushbench', version: 't' }, command: '', startedAt: 's', finishedAt: 'f',
    host: { hostname: rotational ? 'hdd' : 'ssd', rotational, device: '/dev/x', diskModel: null, fileSystem: 'ext4' } as Summary['host'],
    results: [{ profile: 'single-sync-flush', variant: null, tps: { mean: tps }, latencyMs: { p99: 1 }, verdict: 'within' } as Summary['results'][number]],
  });
  const table = compareTable(summary(true, 1000), summary(false, 8000));
  assert.match(table, /\| single-sync-flush \| 1000 \| 8000 \| 8\.00 \|/);
  assert.match(table, /SSD is 10× faster than HDD": measured SSD\/HDD ratios 8\.0×/);
});

test('probe measures positive fdatasync rates and bandwidth', async () => {
  const dir = diskScratchDir('probe'); // the probe measures the disk; /tmp may be tmpfs
  try {
    const result = await probeDisk(dir, 0.2);
    assert.deepEqual(result.fsync.map((f) => f.writers), [1, 4, 16]);
    for (const f of result.fsync) assert.ok(f.fdatasyncPerSecond > 0 && f.latencyMsP99 >= f.latencyMsP50);
    assert.ok(result.sequentialWriteMBps > 0 && result.pageCacheWriteMBps > 0);
    assert.deepEqual(fs.readdirSync(dir), [], 'probe files removed');
  } finally {
    removeScratch(dir);
  }
});
