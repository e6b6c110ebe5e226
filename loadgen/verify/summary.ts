// Folds crash cycles into the per-fault and total numbers of verify.json (the shape the claims
// ledger reads: crashes, acked, ackedLost, lostWindowMsMax, duplicates, unackedStored, corrupt,
// queueGaps — per fault and in total).
import type { CycleResult } from './crashCycle.js';
import type { VerifyCounts } from '../../reports/verifyReport.js';
import { addCounts, emptyCounts, type LossCounts } from './tally.js';
import type { DLedgerSeriesSummary } from './dledgerSeries.js';

/** verify.json's counts (the shape reports/verifyReport.ts reads) and the moves only loadgen tracks. */
export interface CountsSummary extends VerifyCounts {
  ackedMoved: number;
}

export interface FaultSummary extends CountsSummary {
  crashes: number;
  /** Cycles that failed before they could be counted (the error is in `errors`). */
  failedCycles: number;
  errors: string[];
  /** Per node, when the profile has a slave: the master after its recovery, the slave's own read. */
  master: CountsSummary | null;
  slave: CountsSummary | null;
  /** false when, in some crash, the slave lacked an acked message before its end (not a tail). */
  slaveLossIsTail: boolean | null;
  fsyncMsMax: number | null;
  /** Each crash's lost window (0 when nothing was lost), in cycle order. */
  lostWindowsMs: number[];
  /** Each crash's slowest fsync during its load (histogram bucket bound, ms; null when not scraped). */
  fsyncMsMaxPerCycle: Array<number | null>;
  /** Crashes after which the restarted master had lost the topic's config (messages still stored). */
  topicConfigLost: number;
  statusCounts: Record<string, number>;
  /** DLedger profiles: the series' failovers, cycles and every member's final read. */
  dledger?: DLedgerSeriesSummary;
}

export function toSummary(counts: LossCounts): CountsSummary {
  return {
    acked: counts.acked, ackedLost: counts.ackedLost, lostWindowMsMax: counts.lostWindowMs ?? 0, duplicates: counts.duplicates,
    unackedStored: counts.unackedStored, corrupt: counts.corrupt, queueGaps: counts.queueGaps, ackedMoved: counts.ackedMoved,
  };
}

export function summarizeFault(cycles: readonly CycleResult[], errors: readonly string[]): FaultSummary {
  let counts = emptyCounts();
  let master = emptyCounts();
  let slave: LossCounts | null = null;
  let tail: boolean | null = null;
  let fsyncMsMax: number | null = null;
  const statusCounts: Record<string, number> = {};
  for (const cycle of cycles) {
    counts = addCounts(counts, cycle.counts);
    master = addCounts(master, cycle.master);
    if (cycle.slave) slave = addCounts(slave ?? emptyCounts(), cycle.slave);
    if (cycle.slaveLossIsTail !== null) tail = (tail ?? true) && cycle.slaveLossIsTail;
    if (cycle.fsyncMsMax !== null) fsyncMsMax = Math.max(fsyncMsMax ?? 0, cycle.fsyncMsMax);
    for (const [code, n] of Object.entries(cycle.statusCounts)) statusCounts[code] = (statusCounts[code] ?? 0) + n;
  }
  return {
    crashes: cycles.length, failedCycles: errors.length, errors: [...errors], ...toSummary(counts),
    master: slave ? toSummary(master) : null, slave: slave ? toSummary(slave) : null, slaveLossIsTail: tail, fsyncMsMax, lostWindowsMs: cycles.map((c) => c.counts.lostWindowMs ?? 0), fsyncMsMaxPerCycle: cycles.map((c) => c.fsyncMsMax), topicConfigLost: cycles.filter((c) => c.topicConfigLost).length, statusCounts,
  };
}

export function totalOf(faults: readonly CountsSummary[], crashes: readonly number[]): CountsSummary & { crashes: number } {
  const total = { crashes: crashes.reduce((a, b) => a + b, 0), acked: 0, ackedLost: 0, lostWindowMsMax: 0, duplicates: 0, unackedStored: 0, corrupt: 0, queueGaps: 0, ackedMoved: 0 };
  for (const f of faults) {
    total.acked += f.acked;
    total.ackedLost += f.ackedLost;
    total.lostWindowMsMax = Math.max(total.lostWindowMsMax, f.lostWindowMsMax);
    total.duplicates += f.duplicates;
    total.unackedStored += f.unackedStored;
    total.corrupt += f.corrupt;
    total.queueGaps += f.queueGaps;
    total.ackedMoved += f.ackedMoved;
  }
  return total;
}
