// CPU accounting reads /proc; these tests feed it fake /proc text, so they run anywhere.
import assert from 'node:assert/strict';
import test from 'node:test';
import { CpuWindow, cpuUsPerMessage, hostCpuTicks, linuxProcSource, processCpuTicks, type ProcSource } from '../../loadgen/cpuAccounting.js';

function stat(pid: number, comm: string, utime: number, stime: number): string {
  // Fields 3..13, then utime (14), stime (15), then the rest.
  return `${pid} (${comm}) S 1 1 1 0 -1 4194304 100 0 0 0 ${utime} ${stime} 0 0 20 0 11 0 12345 0 0`;
}

function hostLine(user: number, idle: number, steal: number): string {
  return `cpu  ${user} 0 0 ${idle} 0 0 0 ${steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 0\n`;
}

test('processCpuTicks reads utime + stime even when the command name holds spaces and parentheses', () => {
  assert.equal(processCpuTicks(stat(42, 'node (broker) x', 150, 50)), 200);
  assert.throws(() => processCpuTicks('42 (x) S 1'), /unreadable/);
});

test('hostCpuTicks sums the aggregate line and picks steal (8th value) and idle + iowait', () => {
  const ticks = hostCpuTicks('cpu  10 1 2 100 5 0 0 7 3 0\n');
  assert.deepEqual(ticks, { total: 125, steal: 7, idle: 105 });
});

test('a window reports each process\'s CPU and the host steal share over the window only', () => {
  const procs = new Map<number, string | null>([[10, stat(10, 'broker', 100, 0)], [11, stat(11, 'namesrv', 5, 5)], [12, stat(12, 'gone', 1, 1)]]);
  let host = hostLine(1000, 1000, 0);
  const fake: ProcSource = { processStat: (pid) => procs.get(pid) ?? null, hostStat: () => host, clockTicksPerSecond: 100 };
  const window = new CpuWindow([{ role: 'broker', pid: 10 }, { role: 'namesrv', pid: 11 }, { role: 'exited', pid: 12 }, { role: 'never', pid: 99 }], fake);
  procs.set(10, stat(10, 'broker', 250, 50)); // +200 ticks = 2 s
  procs.set(11, stat(11, 'namesrv', 6, 5)); // +1 tick
  procs.set(12, null); // exited inside the window
  host = hostLine(1300, 1500, 200); // +300 busy, +500 idle, +200 steal of 1000
  const result = window.close();
  assert.deepEqual(result.processes.map((p) => [p.role, p.cpuSeconds, p.complete]), [['broker', 2, true], ['namesrv', 0.01, true], ['exited', 0, false]]);
  assert.equal(result.hostStealPercent, 20);
  assert.equal(result.hostBusyPercent, 30);
  assert.equal(cpuUsPerMessage(2, 100_000), 20);
  assert.equal(cpuUsPerMessage(2, 0), null);
});

test('on Linux the real /proc gives this process a positive, growing CPU time', { skip: process.platform !== 'linux' && 'needs /proc' }, () => {
  const window = new CpuWindow([{ role: 'self', pid: process.pid }]);
  const until = performance.now() + 50;
  let spin = 0;
  while (performance.now() < until) spin++;
  const result = window.close();
  assert.ok(spin > 0);
  assert.ok(result.processes[0].cpuSeconds > 0, `expected CPU time for pid ${process.pid}`);
  assert.ok(linuxProcSource().clockTicksPerSecond > 0);
});
