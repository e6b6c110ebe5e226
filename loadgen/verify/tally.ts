// Compares what producers were told (acks) with what a broker holds after recovery. Pure, so
// the counting rules are unit-tested on their own (test/loadgen/verifyTally.test.ts).
import { type AckRecord, isAcked } from './producer.js';
import type { NodeRead } from './readBack.js';

export interface LossCounts {
  /** Sends answered SUCCESS. */
  acked: number;
  /** Acked, and absent or corrupt on this read. */
  ackedLost: number;
  /** Extra intact copies of a key beyond the first. */
  duplicates: number;
  /** Intact messages nobody was told were stored (allowed: the ack was lost with the broker, or it said FLUSH_*_TIMEOUT). */
  unackedStored: number;
  /** Records that failed a check: broker CRC, our body CRC, or a ConsumeQueue entry pointing at the wrong record. */
  corrupt: number;
  /** Queue offsets between min and max that returned no record. */
  queueGaps: number;
  /** Acked and present, but at another queue offset than the ack said. */
  ackedMoved: number;
  /** From the oldest lost ack to the fault (ms); null when nothing acked was lost. */
  lostWindowMs: number | null;
}

export function emptyCounts(): LossCounts {
  return { acked: 0, ackedLost: 0, duplicates: 0, unackedStored: 0, corrupt: 0, queueGaps: 0, ackedMoved: 0, lostWindowMs: null };
}

/** Keys found intact on the read, with their first position. */
export function intactKeys(read: NodeRead): Map<string, { queueId: number; queueOffset: number }> {
  const found = new Map<string, { queueId: number; queueOffset: number }>();
  for (const entry of read.entries) {
    if (entry.problem || entry.key === null || found.has(entry.key)) continue;
    found.set(entry.key, { queueId: entry.queueId, queueOffset: entry.queueOffset });
  }
  return found;
}

/**
 * Counts one read against the acks. `reads` may hold several nodes' reads: a message counts as
 * present when any of them has it intact (the union: "both nodes died, is it anywhere?").
 */
export function tally(acks: readonly AckRecord[], reads: readonly NodeRead[], faultAtMs: number): LossCounts {
  const counts = emptyCounts();
  const present = new Map<string, { queueId: number; queueOffset: number }>();
  for (const read of reads) {
    for (const [key, at] of intactKeys(read)) if (!present.has(key)) present.set(key, at);
  }
  // Duplicates and damage are judged per node: a copy on the master and one on its slave is replication, not duplication.
  for (const read of reads) {
    const seen = new Set<string>();
    for (const entry of read.entries) {
      if (entry.problem) {
        counts.corrupt += 1;
        continue;
      }
      if (entry.key === null) continue;
      if (seen.has(entry.key)) counts.duplicates += 1;
      seen.add(entry.key);
    }
    counts.queueGaps += read.missingOffsets;
  }
  const ackedKeys = new Set<string>();
  let oldestLostAckMs = Infinity;
  for (const ack of acks) {
    if (!isAcked(ack)) continue;
    counts.acked += 1;
    ackedKeys.add(ack.key);
    const at = present.get(ack.key);
    if (!at) {
      counts.ackedLost += 1;
      oldestLostAckMs = Math.min(oldestLostAckMs, ack.answeredAtMs);
    } else if (reads.length === 1 && (at.queueId !== ack.queueId || at.queueOffset !== ack.queueOffset)) {
      counts.ackedMoved += 1;
    }
  }
  for (const key of present.keys()) if (!ackedKeys.has(key)) counts.unackedStored += 1;
  if (counts.ackedLost > 0) counts.lostWindowMs = Math.max(0, faultAtMs - oldestLostAckMs);
  return counts;
}

/**
 * ASYNC_MASTER's promise is "what the slave had not received is lost": every acked message the
 * slave lacks must lie beyond what it has of that queue (a lost tail), never a hole in the middle.
 */
export function lossIsTail(acks: readonly AckRecord[], slaveRead: NodeRead): boolean {
  const present = intactKeys(slaveRead);
  for (const ack of acks) {
    if (!isAcked(ack) || present.has(ack.key)) continue;
    if (ack.queueOffset < (slaveRead.maxOffsets[ack.queueId] ?? 0)) return false;
  }
  return true;
}

/** Adds b into a (sums; lostWindowMs becomes the max). */
export function addCounts(a: LossCounts, b: LossCounts): LossCounts {
  return {
    acked: a.acked + b.acked,
    ackedLost: a.ackedLost + b.ackedLost,
    duplicates: a.duplicates + b.duplicates,
    unackedStored: a.unackedStored + b.unackedStored,
    corrupt: a.corrupt + b.corrupt,
    queueGaps: a.queueGaps + b.queueGaps,
    ackedMoved: a.ackedMoved + b.ackedMoved,
    lostWindowMs: a.lostWindowMs === null ? b.lostWindowMs : b.lostWindowMs === null ? a.lostWindowMs : Math.max(a.lostWindowMs, b.lostWindowMs),
  };
}
