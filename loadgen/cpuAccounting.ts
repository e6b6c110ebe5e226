// CPU time per acknowledged message, from /proc. On a shared host absolute TPS moves by up to
// 3× between days (CPU steal, other tenants) while the CPU each message costs hardly moves, so
// every run records, for the measured window only: each process's utime + stime (brokers, name
// server, the load generator) and the host's CPU steal share from /proc/stat.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** Where the numbers come from; tests point it at a fake /proc. */
export interface ProcSource {
  /** Contents of /proc/<pid>/stat, or null when the process is gone. */
  processStat(pid: number): string | null;
  /** Contents of /proc/stat. */
  hostStat(): string;
  /** sysconf(_SC_CLK_TCK): the unit of utime/stime and of /proc/stat. */
  clockTicksPerSecond: number;
}

function clockTicks(): number {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(value) && value > 0 ? value : 100;
  } catch {
    return 100; // USER_HZ on every Linux architecture Node runs on
  }
}

let linuxProc: ProcSource | null = null;

export function linuxProcSource(): ProcSource {
  linuxProc ??= {
    processStat: (pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        return null;
      }
    },
    hostStat: () => fs.readFileSync('/proc/stat', 'utf8'),
    clockTicksPerSecond: clockTicks(),
  };
  return linuxProc;
}

/** utime + stime of one process in clock ticks; the command name may hold spaces and ')'. */
export function processCpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`unreadable /proc/<pid>/stat: ${stat.slice(0, 80)}`);
  return ticks;
}

export interface HostCpuTicks {
  total: number;
  steal: number;
  idle: number;
}

/** The aggregate "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal … */
export function hostCpuTicks(stat: string): HostCpuTicks {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no aggregate cpu line');
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number); // guest time is already inside user
  const [, , , idle, iowait, , , steal] = values;
  return { total: values.reduce((a, b) => a + b, 0), steal: steal ?? 0, idle: idle + (iowait ?? 0) };
}

export interface ProcessCpu {
  /** What the process is: "broker-a-master", "namesrv", "loadgen", … */
  role: string;
  pid: number;
  cpuSeconds: number;
  /** False when the process exited inside the window (its CPU is then a lower bound). */
  complete: boolean;
}

export interface CpuWindowResult {
  durationMs: number;
  processes: ProcessCpu[];
  /** Share of all CPU time the hypervisor gave to others, over the window, in percent. */
  hostStealPercent: number;
  /** Share of all CPU time not idle (steal excluded), in percent. */
  hostBusyPercent: number;
}

/** Opens a measuring window over the given processes; close() reads the deltas. */
export class CpuWindow {
  private readonly startTicks = new Map<string, number>();
  private readonly hostStart: HostCpuTicks;
  private readonly startMs = performance.now();

  constructor(private readonly processes: ReadonlyArray<{ role: string; pid: number }>, private readonly proc: ProcSource = linuxProcSource()) {
    for (const { role, pid } of processes) {
      const stat = proc.processStat(pid);
      if (stat !== null) this.startTicks.set(role, processCpuTicks(stat));
    }
    this.hostStart = hostCpuTicks(proc.hostStat());
  }

  close(): CpuWindowResult {
    const hz = this.proc.clockTicksPerSecond;
    const processes: ProcessCpu[] = [];
    for (const { role, pid } of this.processes) {
      const before = this.startTicks.get(role);
      if (before === undefined) continue;
      const stat = this.proc.processStat(pid);
      processes.push({ role, pid, cpuSeconds: stat === null ? 0 : (processCpuTicks(stat) - before) / hz, complete: stat !== null });
    }
    const host = hostCpuTicks(this.proc.hostStat());
    const total = host.total - this.hostStart.total;
    const steal = host.steal - this.hostStart.steal;
    const idle = host.idle - this.hostStart.idle;
    return {
      durationMs: performance.now() - this.startMs,
      processes,
      hostStealPercent: total > 0 ? (100 * steal) / total : 0,
      hostBusyPercent: total > 0 ? (100 * (total - idle - steal)) / total : 0,
    };
  }
}

/** CPU µs each acknowledged message cost a process; null when nothing was acknowledged. */
export function cpuUsPerMessage(cpuSeconds: number, ackedMessages: number): number | null {
  return ackedMessages > 0 ? (cpuSeconds * 1e6) / ackedMessages : null;
}
