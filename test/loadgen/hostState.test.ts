// `bench tune` and its state file, against a fake /proc/sys: originals saved exclusively and
// atomically, only the four seed sysctls with integer values restored, nothing left behind by
// a failed apply, and a second restore that does nothing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FlushbenchError } from '../../protocol/errors.js';
import { readHostState, saveHostState } from '../../loadgen/hostState.js';
import { applyAdvice, leftoverTuneNotice, readSettings, restoreSaved, SEED_ADVICE, SYSCTL_STATE, withVmSettings } from '../../loadgen/vmTuning.js';
import { runBench } from '../support/benchCli.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

const ORIGINAL = { 'vm.dirty_ratio': '20', 'vm.dirty_background_ratio': '10', 'vm.swappiness': '60', 'vm.overcommit_memory': '0' };
const KEYS = Object.keys(ORIGINAL);

/** A scratch dir with proc/sys/vm/* holding ORIGINAL, and where the state file goes. */
function fakeHost(): { dir: string; procSys: string; state: string } {
  const dir = scratchDir('tune');
  const procSys = path.join(dir, 'proc', 'sys');
  fs.mkdirSync(path.join(procSys, 'vm'), { recursive: true });
  for (const [key, value] of Object.entries(ORIGINAL)) fs.writeFileSync(path.join(procSys, ...key.split('.')), `${value}\n`);
  return { dir, procSys, state: path.join(dir, 'state.json') };
}

const hasCode = (code: string) => (error: unknown) => error instanceof FlushbenchError && error.code === code;

test('apply saves the originals and writes the advice; restore puts them back; a second restore is a no-op', async () => {
  const { dir, procSys, state } = fakeHost();
  try {
    assert.deepEqual(applyAdvice(state, SEED_ADVICE, procSys), ORIGINAL);
    assert.deepEqual(readSettings(KEYS, procSys), SEED_ADVICE);
    assert.deepEqual(readHostState(state, SYSCTL_STATE)?.values, ORIGINAL, 'the state file holds the originals');
    assert.equal(fs.statSync(state).mode & 0o777, 0o600);
    assert.throws(() => applyAdvice(state, SEED_ADVICE, procSys), hasCode('HOST_STATE_EXISTS'));
    assert.deepEqual(readHostState(state, SYSCTL_STATE)?.values, ORIGINAL, 'a second apply keeps the first originals');
    assert.deepEqual(restoreSaved(state, procSys), ORIGINAL);
    assert.deepEqual(readSettings(KEYS, procSys), ORIGINAL);
    assert.ok(!fs.existsSync(state));
    assert.equal(restoreSaved(state, procSys), null, 'nothing to restore');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['proc'], 'no temp file left');

    await assert.rejects(withVmSettings({ 'vm.dirty_ratio': '5' }, async () => {
      assert.equal(readSettings(['vm.dirty_ratio'], procSys)['vm.dirty_ratio'], '5');
      throw new Error('boom');
    }, procSys), /boom/);
    assert.equal(readSettings(['vm.dirty_ratio'], procSys)['vm.dirty_ratio'], '20', 'restored even when fn throws');
  } finally {
    removeScratch(dir);
  }
});

test('the state file is created exclusively: an existing file or a symlink at its name is never written through', () => {
  const { dir, procSys, state } = fakeHost();
  try {
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'keep me\n');
    fs.symlinkSync(victim, state);
    assert.throws(() => applyAdvice(state, SEED_ADVICE, procSys), hasCode('HOST_STATE_EXISTS'));
    assert.equal(fs.readFileSync(victim, 'utf8'), 'keep me\n');
    assert.deepEqual(readSettings(KEYS, procSys), ORIGINAL, 'nothing applied');
    assert.throws(() => restoreSaved(state, procSys), (error: unknown) => hasCode('HOST_STATE_INVALID')(error) && /symbolic link/.test((error as Error).message));
    assert.deepEqual(readSettings(KEYS, procSys), ORIGINAL);
  } finally {
    removeScratch(dir);
  }
});

test('restore refuses unknown keys and non-integer values and writes nothing, not even the valid keys', () => {
  const { dir, procSys, state } = fakeHost();
  fs.mkdirSync(path.join(procSys, 'kernel'));
  fs.writeFileSync(path.join(procSys, 'kernel', 'core_pattern'), 'core\n');
  const saved = (values: Record<string, unknown>) => ({ owner: 'bench tune', savedAt: 'then', pid: 1, hostname: 'h', values });
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['unknown key', { 'vm.dirty_ratio': '1', 'kernel.core_pattern': '|/bin/sh -c evil' }, /unknown key "kernel.core_pattern"/],
    ['path-like key', { 'vm.dirty_ratio': '1', '../../etc/passwd': '1' }, /unknown key/],
    ['non-integer value', { 'vm.dirty_ratio': '1', 'vm.swappiness': '10; reboot' }, /vm.swappiness="10; reboot" is not an integer/],
    ['number, not string', { 'vm.dirty_ratio': 1 }, /is not an integer/],
    ['empty value', { 'vm.dirty_ratio': '' }, /is not an integer/],
  ];
  try {
    for (const [name, values, message] of cases) {
      fs.writeFileSync(state, JSON.stringify(saved(values)));
      assert.throws(() => restoreSaved(state, procSys), (error: unknown) => hasCode('HOST_STATE_INVALID')(error) && message.test((error as Error).message), name);
      assert.deepEqual(readSettings(KEYS, procSys), ORIGINAL, `${name}: nothing written`);
      assert.equal(fs.readFileSync(path.join(procSys, 'kernel', 'core_pattern'), 'utf8'), 'core\n');
      assert.ok(fs.existsSync(state), `${name}: the state file stays for a human to look at`);
    }
    for (const text of ['not json', '[]', JSON.stringify({ owner: 'someone else', values: {} })]) {
      fs.writeFileSync(state, text);
      assert.throws(() => restoreSaved(state, procSys), hasCode('HOST_STATE_INVALID'), text);
    }
    assert.deepEqual(readSettings(KEYS, procSys), ORIGINAL);
    assert.throws(() => applyAdvice(state, { 'kernel.core_pattern': 'x' }, procSys), hasCode('HOST_STATE_INVALID'), 'apply writes only the known keys too');
  } finally {
    removeScratch(dir);
  }
});

test('an apply whose /proc/sys write fails puts back what it wrote and leaves no state file', () => {
  const { dir, procSys, state } = fakeHost();
  try {
    // A symlinked key reads fine but cannot be opened O_NOFOLLOW: the third of four writes fails.
    const real = path.join(dir, 'swappiness-real');
    fs.renameSync(path.join(procSys, 'vm', 'swappiness'), real);
    fs.symlinkSync(real, path.join(procSys, 'vm', 'swappiness'));
    assert.throws(() => applyAdvice(state, SEED_ADVICE, procSys), (error: unknown) => hasCode('TUNE_FAILED')(error) && /cannot write .*swappiness/.test((error as Error).message));
    assert.deepEqual(readSettings(KEYS, procSys), ORIGINAL, 'the two keys written before the failure are back');
    assert.ok(!fs.existsSync(state), 'no state file');

    // A key that cannot be read: refused before anything is saved.
    fs.rmSync(path.join(procSys, 'vm', 'overcommit_memory'));
    assert.throws(() => applyAdvice(state, SEED_ADVICE, procSys), /cannot read .*overcommit_memory; nothing was changed/);
    assert.ok(!fs.existsSync(state));
    assert.ok(!fs.existsSync(path.join(procSys, 'vm', 'overcommit_memory')), 'a missing key is never created');
  } finally {
    removeScratch(dir);
  }
});

test('without write permission (not root) apply saves nothing', { skip: process.getuid?.() === 0 ? 'root can write a read-only file' : false }, () => {
  const { dir, procSys, state } = fakeHost();
  try {
    for (const key of KEYS) fs.chmodSync(path.join(procSys, ...key.split('.')), 0o444);
    assert.throws(() => applyAdvice(state, SEED_ADVICE, procSys), /run as root. Nothing was changed and no state file was written/);
    assert.ok(!fs.existsSync(state));
  } finally {
    removeScratch(dir);
  }
});

test('a state file left by a crashed run is reported at start', () => {
  const { dir, state } = fakeHost();
  try {
    assert.equal(leftoverTuneNotice(state), null);
    saveHostState(state, ORIGINAL, SYSCTL_STATE);
    const raw = JSON.parse(fs.readFileSync(state, 'utf8')) as { pid: number };
    assert.equal(raw.pid, process.pid);
    fs.writeFileSync(state, JSON.stringify({ ...raw, pid: 2 ** 22 + 1 })); // above pid_max: never a live process
    assert.match(leftoverTuneNotice(state) ?? '', /no longer running: a crashed or unrestored run\): vm.dirty_ratio=20/);
  } finally {
    removeScratch(dir);
  }
});

test('bench tune --apply / --restore / --restore against a fake /proc/sys', { timeout: 30_000 }, async () => {
  const { dir, procSys, state } = fakeHost();
  const tune = (...args: string[]) => runBench(['tune', '--proc-sys', procSys, '--state-file', state, ...args], 10_000);
  try {
    const applied = await tune('--apply');
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /originals saved in .*state\.json: vm\.dirty_ratio=20/);
    const shown = await tune();
    assert.match(shown.stdout, /\| vm\.dirty_ratio \| 40 \| 40 \|/);
    assert.match(shown.stderr, /warning: .*state\.json holds settings saved by bench tune/);
    const again = await tune('--apply');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /Run `bench tune restore` first/);
    const restored = await tune('--restore');
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /restored: vm\.dirty_ratio=20, vm\.dirty_background_ratio=10, vm\.swappiness=60, vm\.overcommit_memory=0/);
    const second = await tune('--restore');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /nothing to restore: no .*state\.json/);
    assert.deepEqual(readSettings(KEYS, procSys), ORIGINAL);
  } finally {
    removeScratch(dir);
  }
});

test('bench tune apply --preset seed prints the permanent lines; tune restore puts the originals back', { timeout: 30_000 }, async () => {
  const { dir, procSys, state } = fakeHost();
  const tune = (...args: string[]) => runBench(['tune', ...args, '--proc-sys', procSys, '--state-file', state], 10_000);
  try {
    const applied = await tune('apply', '--preset', 'seed');
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /originals saved in .*state\.json: vm\.dirty_ratio=20/);
    assert.match(applied.stdout, /\/etc\/sysctl\.d\/.*\n\s+vm\.dirty_ratio = 40\n\s+vm\.dirty_background_ratio = 10\n\s+vm\.swappiness = 10\n\s+vm\.overcommit_memory = 1\n/);
    assert.match(applied.stdout, /nofile\s+655350/);
    assert.deepEqual(readSettings(KEYS, procSys), SEED_ADVICE);
    const restored = await tune('restore');
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(readSettings(KEYS, procSys), ORIGINAL);
    assert.equal((await tune('apply', '--preset', 'other')).code, 1, 'only the seed preset exists');
  } finally {
    removeScratch(dir);
  }
});
