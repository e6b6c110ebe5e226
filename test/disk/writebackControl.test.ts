// Strict writeback mode on a fake /proc/sys (no root needed): saved before any change, put back
// at the end, after a SIGKILL'ed holder at the next start, never over another live holder.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FlushbenchError } from '../../protocol/errors.js';
import { enableStrictWriteback, restoreLeftoverWriteback, STRICT_WRITEBACK } from '../../loadgen/disk/writebackControl.js';
import { removeScratch, scratchDir } from '../support/scratch.js';
import { killChild, startChild } from './diskChild.js';

const ORIGINAL = { 'vm.dirty_writeback_centisecs': '500', 'vm.dirty_expire_centisecs': '3000' };

function fakeProcSys(): { root: string; procSys: string; stateFile: string } {
  const root = scratchDir('writeback');
  const procSys = path.join(root, 'sys');
  fs.mkdirSync(path.join(procSys, 'vm'), { recursive: true });
  for (const [key, value] of Object.entries(ORIGINAL)) fs.writeFileSync(path.join(procSys, ...key.split('.')), `${value}\n`);
  return { root, procSys, stateFile: path.join(root, 'state', 'writeback-state.json') };
}

function current(procSys: string): Record<string, string> {
  return Object.fromEntries(Object.keys(ORIGINAL).map((key) => [key, fs.readFileSync(path.join(procSys, ...key.split('.')), 'utf8').trim()]));
}

function hasCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => error instanceof FlushbenchError && error.code === code;
}

test('strict mode sets the writeback sysctls, saves the originals first, and restore puts them back once', (t) => {
  const { root, procSys, stateFile } = fakeProcSys();
  t.after(() => removeScratch(root));
  const strict = enableStrictWriteback({ stateFile, procSys });
  assert.deepEqual(current(procSys), STRICT_WRITEBACK);
  assert.deepEqual(strict.original, ORIGINAL);
  const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { values: Record<string, string>; pid: number };
  assert.deepEqual(saved.values, ORIGINAL, 'the state file holds the originals, not the strict values');
  assert.equal(saved.pid, process.pid);
  strict.restore();
  assert.deepEqual(current(procSys), ORIGINAL);
  assert.equal(fs.existsSync(stateFile), false, 'state file removed after restore');
  fs.writeFileSync(path.join(procSys, 'vm', 'dirty_expire_centisecs'), '4242\n');
  strict.restore();
  assert.equal(current(procSys)['vm.dirty_expire_centisecs'], '4242', 'a second restore writes nothing');
});

test('a SIGKILLed holder: its state file is refused while it lives and restored at the next start', async (t) => {
  const { root, procSys, stateFile } = fakeProcSys();
  const { child } = await startChild(['strict', stateFile, procSys]);
  t.after(async () => {
    await killChild(child);
    removeScratch(root);
  });
  assert.deepEqual(current(procSys), STRICT_WRITEBACK, 'the child turned strict mode on');
  assert.throws(() => enableStrictWriteback({ stateFile, procSys }), hasCode('DISK_STRICT_BUSY'));
  assert.deepEqual(restoreLeftoverWriteback({ stateFile, procSys }), { action: 'held', pid: child.pid });
  assert.deepEqual(current(procSys), STRICT_WRITEBACK, 'a live holder keeps its mode');

  await killChild(child); // the crash: no exit hook runs
  assert.deepEqual(current(procSys), STRICT_WRITEBACK, 'SIGKILL left the host in strict mode');
  const outcome = restoreLeftoverWriteback({ stateFile, procSys });
  assert.deepEqual(outcome, { action: 'restored', values: ORIGINAL, pid: child.pid });
  assert.deepEqual(current(procSys), ORIGINAL);
  assert.equal(fs.existsSync(stateFile), false);
  assert.deepEqual(restoreLeftoverWriteback({ stateFile, procSys }), { action: 'none' });
});

test('enabling after a crash restores the leftover first, so the saved originals are the real ones', async (t) => {
  const { root, procSys, stateFile } = fakeProcSys();
  t.after(() => removeScratch(root));
  const { child } = await startChild(['strict', stateFile, procSys]);
  await killChild(child);
  const strict = enableStrictWriteback({ stateFile, procSys });
  assert.deepEqual(strict.original, ORIGINAL, 'not the strict values the crashed run left');
  strict.restore();
  assert.deepEqual(current(procSys), ORIGINAL);
});

test('a state file saved before the last boot is discarded without writing (the reboot reset the values)', async (t) => {
  const { root, procSys, stateFile } = fakeProcSys();
  t.after(() => removeScratch(root));
  const { child } = await startChild(['strict', stateFile, procSys]);
  await killChild(child);
  fs.writeFileSync(path.join(procSys, 'vm', 'dirty_writeback_centisecs'), '700\n'); // what the new boot set
  const outcome = restoreLeftoverWriteback({ stateFile, procSys, bootTimeMs: () => Date.now() + 60_000 });
  assert.deepEqual(outcome, { action: 'discarded-stale', pid: child.pid });
  assert.equal(current(procSys)['vm.dirty_writeback_centisecs'], '700');
  assert.equal(fs.existsSync(stateFile), false);
});

test('a write that fails half-way puts back what was changed and keeps the state file', (t) => {
  const { root, procSys, stateFile } = fakeProcSys();
  t.after(() => removeScratch(root));
  // Readable through the symlink, but writes refuse it (O_NOFOLLOW): the second write fails.
  const expire = path.join(procSys, 'vm', 'dirty_expire_centisecs');
  fs.renameSync(expire, `${expire}.real`);
  fs.symlinkSync(`${expire}.real`, expire);
  assert.throws(() => enableStrictWriteback({ stateFile, procSys }), hasCode('DISK_SYSCTL_FAILED'));
  assert.equal(fs.readFileSync(path.join(procSys, 'vm', 'dirty_writeback_centisecs'), 'utf8').trim(), '500', 'the first key was put back');
  assert.equal(fs.readFileSync(`${expire}.real`, 'utf8').trim(), '3000', 'the refused key was never changed');
  assert.equal(fs.existsSync(stateFile), true, 'the originals stay saved while a value could not be restored');
});

test('Ctrl-C: a holder that gets SIGINT puts the values back and exits 130', async (t) => {
  const { root, procSys, stateFile } = fakeProcSys();
  const { child } = await startChild(['strict', stateFile, procSys]);
  t.after(async () => {
    await killChild(child);
    removeScratch(root);
  });
  assert.deepEqual(current(procSys), STRICT_WRITEBACK);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.deepEqual(current(procSys), ORIGINAL);
  assert.equal(fs.existsSync(stateFile), false);
});
