// bench tune sweep and check against a fake /proc/sys and /proc: every combination is run
// (A B C A B C), the runner sees each value, the originals come back at the end, after a
// failed run, after Ctrl-C, and — after a SIGKILLed sweep — at the next start.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { combinations, parseSweepParam, runSweep, seedVerdict, type SweepPoint } from '../../loadgen/tuneSweep.js';
import { checkSeedAdvice, permanentAdviceLines, readSettings } from '../../loadgen/vmTuning.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

const ORIGINAL = { 'vm.dirty_ratio': '20', 'vm.dirty_background_ratio': '10', 'vm.swappiness': '60', 'vm.overcommit_memory': '0' };
const KEYS = ['vm.dirty_ratio', 'vm.dirty_background_ratio'];

function fakeHost(label: string): { dir: string; procSys: string; state: string } {
  const dir = scratchDir(label);
  const procSys = path.join(dir, 'proc', 'sys');
  fs.mkdirSync(path.join(procSys, 'vm'), { recursive: true });
  for (const [key, value] of Object.entries(ORIGINAL)) fs.writeFileSync(path.join(procSys, ...key.split('.')), `${value}\n`);
  return { dir, procSys, state: path.join(dir, 'sweep-state.json') };
}

test('parseSweepParam and combinations', () => {
  assert.deepEqual(parseSweepParam('vm.dirty_ratio=10,20,40'), { key: 'vm.dirty_ratio', values: ['10', '20', '40'] });
  assert.throws(() => parseSweepParam('kernel.panic=1'), /only vm\.dirty_ratio/);
  assert.throws(() => parseSweepParam('vm.dirty_ratio='), /key=v1,v2/);
  assert.deepEqual(combinations([{ key: 'a', values: ['1', '2'] }, { key: 'b', values: ['x', 'y'] }]), [{ a: '1', b: 'x' }, { a: '1', b: 'y' }, { a: '2', b: 'x' }, { a: '2', b: 'y' }]);
});

test('runSweep runs every combination round by round with the values in place, then restores the originals', async (t) => {
  const { dir, procSys, state } = fakeHost('sweep');
  t.after(() => removeScratch(dir));
  const seen: string[] = [];
  const result = await runSweep({
    params: [parseSweepParam('vm.dirty_ratio=20,40'), parseSweepParam('vm.dirty_background_ratio=5,10')], repeat: 2, procSys, stateFile: state,
    runner: async (settings) => {
      const now = readSettings(KEYS, procSys);
      assert.deepEqual(now, settings, 'the runner runs with the point\'s values written');
      assert.ok(fs.existsSync(state), 'the originals are on disk while the host is changed');
      seen.push(`${now['vm.dirty_ratio']}/${now['vm.dirty_background_ratio']}`);
      // The seed's point (40/10) is 30 % faster, every other point the same.
      const tps = settings['vm.dirty_ratio'] === '40' && settings['vm.dirty_background_ratio'] === '10' ? 1300 : 1000;
      return { tps: tps + seen.length, latencyMsP50: 1, latencyMsP99: tps === 1300 ? 2 : 4 };
    },
  });
  assert.deepEqual(seen, ['20/5', '20/10', '40/5', '40/10', '20/5', '20/10', '40/5', '40/10']);
  assert.deepEqual(readSettings(Object.keys(ORIGINAL), procSys), ORIGINAL);
  assert.equal(fs.existsSync(state), false);
  assert.equal(result.points.length, 4);
  assert.equal(result.points[3].runs.length, 2);
  assert.match(result.verdict, /^the seed's advice changed TPS by \+3\d\.\d % and p99 by -50\.0 % on this host \(dirty_ratio=40 dirty_background_ratio=10 against dirty_ratio=20 dirty_background_ratio=10 \(this host's values\)/);
});

test('a failing run still restores the originals', async (t) => {
  const { dir, procSys, state } = fakeHost('sweep-fail');
  t.after(() => removeScratch(dir));
  await assert.rejects(runSweep({
    params: [parseSweepParam('vm.dirty_ratio=10,40')], repeat: 1, procSys, stateFile: state,
    runner: async () => {
      throw new Error('broker died');
    },
  }), /broker died/);
  assert.deepEqual(readSettings(Object.keys(ORIGINAL), procSys), ORIGINAL);
  assert.equal(fs.existsSync(state), false);
});

/** A sweep in a child process whose runner ends the process with `how` while dirty_ratio=10 is in place. */
function sweepChild(dir: string, procSys: string, state: string, how: 'SIGKILL' | 'SIGINT'): Promise<number | string> {
  const moduleUrl = pathToFileURL(path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'loadgen', 'tuneSweep.js')).href;
  const script = path.join(dir, 'child.mjs');
  fs.writeFileSync(script, `import { runSweep, parseSweepParam } from ${JSON.stringify(moduleUrl)};
await runSweep({ params: [parseSweepParam('vm.dirty_ratio=10,40')], repeat: 1, procSys: ${JSON.stringify(procSys)}, stateFile: ${JSON.stringify(state)},
  runner: async () => { process.kill(process.pid, ${JSON.stringify(how)}); await new Promise((r) => setTimeout(r, 5000)); return { tps: 1, latencyMsP50: 1, latencyMsP99: 1 }; } });
`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal ?? -1);
    });
  });
}

test('a SIGKILLed sweep leaves its state file; the next sweep restores the originals before it starts', { timeout: 30_000 }, async (t) => {
  const { dir, procSys, state } = fakeHost('sweep-crash');
  t.after(() => removeScratch(dir));
  assert.equal(await sweepChild(dir, procSys, state, 'SIGKILL'), 'SIGKILL');
  assert.equal(readSettings(['vm.dirty_ratio'], procSys)['vm.dirty_ratio'], '10', 'the crash left the swept value');
  assert.ok(fs.existsSync(state), 'and the originals on disk');
  const before: string[] = [];
  const result = await runSweep({
    params: [parseSweepParam('vm.dirty_ratio=30')], repeat: 1, procSys, stateFile: state,
    runner: async () => {
      before.push('ran');
      return { tps: 1, latencyMsP50: 1, latencyMsP99: 1 };
    },
  });
  assert.deepEqual(result.recovered, { 'vm.dirty_ratio': '20' });
  assert.deepEqual(result.original, { 'vm.dirty_ratio': '20' }, 'the new sweep saved the real originals, not the crashed sweep\'s value');
  assert.deepEqual(readSettings(Object.keys(ORIGINAL), procSys), ORIGINAL);
  assert.equal(fs.existsSync(state), false);
});

test('Ctrl-C during a sweep restores the originals and exits 130', { timeout: 30_000 }, async (t) => {
  const { dir, procSys, state } = fakeHost('sweep-sigint');
  t.after(() => removeScratch(dir));
  assert.equal(await sweepChild(dir, procSys, state, 'SIGINT'), 130);
  assert.deepEqual(readSettings(Object.keys(ORIGINAL), procSys), ORIGINAL);
  assert.equal(fs.existsSync(state), false);
});

test('seedVerdict: a difference inside the run spread is "no measurable difference"', () => {
  const point = (ratio: string, tps: number[], p99: number): SweepPoint => ({
    settings: { 'vm.dirty_ratio': ratio }, label: `dirty_ratio=${ratio}`, runs: tps.map((x) => ({ tps: x, latencyMsP50: 1, latencyMsP99: p99 })),
    tpsMean: tps.reduce((a, b) => a + b, 0) / tps.length, p99MsMean: p99, p50MsMean: 1, tpsSpreadPercent: (100 * (Math.max(...tps) - Math.min(...tps))) / (tps.reduce((a, b) => a + b, 0) / tps.length),
  });
  const verdict = seedVerdict([point('20', [1000, 1200], 4), point('40', [1050, 1250], 4)], { 'vm.dirty_ratio': '20' });
  assert.match(verdict, /^no measurable difference within the run spread: dirty_ratio=40 against dirty_ratio=20 \(this host's values\) changed TPS by \+4\.5 %/);
  assert.match(seedVerdict([point('10', [1], 1), point('20', [1], 1)], {}), /were not among the swept values/);
});

test('tune check: one entry per seed advice item, read from a fake /proc', (t) => {
  const { dir, procSys } = fakeHost('check');
  t.after(() => removeScratch(dir));
  const procRoot = path.join(dir, 'proc');
  fs.mkdirSync(path.join(procRoot, 'self'), { recursive: true });
  fs.writeFileSync(path.join(procRoot, 'self', 'limits'), 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n');
  fs.writeFileSync(path.join(procRoot, 'swaps'), 'Filename\tType\tSize\tUsed\tPriority\n/swapfile file 1048572 0 -2\n');
  const items = checkSeedAdvice({ procSys, procRoot, disk: { device: '/dev/sdz', scheduler: 'none', writeCache: 'write back' } });
  const byName = Object.fromEntries(items.map((i) => [i.name, i]));
  assert.equal(items.length, 8);
  assert.deepEqual([byName['vm.dirty_ratio'].current, byName['vm.dirty_ratio'].recommended, byName['vm.dirty_ratio'].follows], ['20', '40', false]);
  assert.equal(byName['vm.dirty_background_ratio'].follows, true);
  assert.deepEqual([byName['open files (ulimit -n)'].current, byName['open files (ulimit -n)'].follows], ['1024', false]);
  assert.deepEqual([byName.swap.current, byName.swap.follows], ['on (1 device(s) in /proc/swaps)', false]);
  assert.equal(byName['I/O scheduler of the store disk (/dev/sdz)'].follows, true);
  assert.equal(byName['disk write cache of the store disk (/dev/sdz)'].follows, false);
  for (const item of items) assert.match(item.source, /seed/);
  assert.ok(permanentAdviceLines().includes('vm.dirty_ratio = 40'));
});
