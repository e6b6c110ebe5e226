import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { compareTable } from '../../loadgen/commands/compare.js';
import { probeDisk } from '../../loadgen/diskProbe.js';
import type { Summary } from '../../reports/summary.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';

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
    assert.equal(result.fsync4kPerSec, result.fsync[0].fdatasyncPerSecond, 'fsync4kPerSec is the one-writer rate');
    assert.ok(result.device.fileSystem, 'the file system under the probed directory is named');
    assert.ok(result.sequentialWriteMBps > 0 && result.pageCacheWriteMBps > 0);
    assert.deepEqual(fs.readdirSync(dir), [], 'probe files removed');
  } finally {
    removeScratch(dir);
  }
});
