// `bench verify` stopped with SIGTERM in the middle of its crash cycles: it exits 143 and leaves
// nothing behind (no broker process, no verify-* work directory in the store dir).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { benchCommand } from '../../loadgen/childProcesses.js';
import { diskScratchDir, removeScratch } from '../support/scratch.js';
import { waitFor } from '../support/waitFor.js';

function processesUsing(dir: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', dir]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test('SIGTERM during bench verify: exit 143, no broker left, no verify-* work directory left', { timeout: 90_000 }, async () => {
  const scratch = diskScratchDir('verify-signal');
  const storeDir = path.join(scratch, 'store');
  try {
    const { command, args } = benchCommand();
    const child = spawn(command, [...args, 'verify', '--profile', 'single-async-flush', '--fault', 'kill', '--crashes', '20', '--load', '1',
      '--set', 'mappedFileSizeCommitLog=16777216', '--store-dir', storeDir, '--out', path.join(scratch, 'out')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    try {
      await waitFor(() => /kill 1\/20/.test(stderr), 'the first crash cycle to finish', 60_000);
      assert.equal(fs.readdirSync(storeDir).filter((name) => name.startsWith('verify-')).length, 1, 'a verify-* work directory while it runs');
      child.kill('SIGTERM');
      assert.equal(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running after 30 s'), 30_000))]), 143, stderr.slice(-2000));
    } finally {
      child.kill('SIGKILL');
    }
    assert.deepEqual(fs.readdirSync(storeDir).filter((name) => name.startsWith('verify-')), [], 'the work directory is removed');
    assert.deepEqual(processesUsing(storeDir), [], 'no broker or name server survives');
  } finally {
    removeScratch(scratch);
  }
});
