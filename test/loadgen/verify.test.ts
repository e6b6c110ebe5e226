// Process-level crash checks: brokers killed with SIGKILL under load, then the acked
// messages are counted on the restarted broker (or the slave).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runVerify, type VerifyResult } from '../../loadgen/verify.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';

test('kill -9 under load: ASYNC_FLUSH and SYNC_FLUSH lose no acked message, SYNC_MASTER has them all on the slave', { timeout: 150_000 }, async () => {
  const dir = diskScratchDir('verify'); // kill -9 and restart against the project's disk, not tmpfs
  try {
    const results = await runVerify(dir, 1000, () => {});
    const byName = new Map(results.map((r): [string, VerifyResult] => [r.scenario, r]));
    for (const name of ['kill-async', 'kill-sync', 'kill-sync-master']) {
      const result = byName.get(name);
      assert.ok(result, name);
      assert.ok(result.acked > 0, `${name}: some sends were acked`);
      assert.equal(result.lost, 0, `${name}: ${result.detail}`);
    }
    const pool = byName.get('kill-pool');
    assert.ok(pool && pool.acked > 0);
    assert.ok(pool.lost >= 0 && pool.lost < pool.acked, 'pool losses are bounded by what was acked');
  } finally {
    removeScratch(dir);
  }
});
