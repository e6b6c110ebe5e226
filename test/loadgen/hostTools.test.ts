import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { probeDisk } from '../../loadgen/diskProbe.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';

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
