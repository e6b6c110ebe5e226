// A verdict per safety claim from what verify measured. Pure: verify.json's `claims` and the
// report section both come from here, and the claims ledger reads them from verify.json.
import type { ProfileNode } from '../profile.js';
import { judgeDLedgerClaims } from './dledgerClaims.js';
import type { FaultSummary } from './summary.js';

export type Verdict = 'holds' | 'violated' | 'not tested';

export interface ClaimVerdict {
  id: string;
  claim: string;
  verdict: Verdict;
  /** The numbers behind the verdict, in words. */
  detail: string;
}

export interface ProfileShape {
  masterFlush: string;
  masterRole: string;
  hasSlave: boolean;
  flushIntervalMs: number;
  transientPool: boolean;
  /** enableDLegerCommitLog=true: a Raft group of masters, judged by dledgerClaims.ts. */
  dledger: boolean;
}

export function profileShape(nodes: readonly ProfileNode[], overrides: Record<string, string>): ProfileShape {
  const master = nodes.find((n) => n.role === 'master');
  const props = { ...(master?.properties ?? {}), ...overrides };
  return {
    masterFlush: props.flushDiskType ?? 'ASYNC_FLUSH',
    masterRole: props.brokerRole ?? 'ASYNC_MASTER',
    hasSlave: nodes.some((n) => n.role === 'slave'),
    flushIntervalMs: Number(props.flushIntervalCommitLog ?? 500),
    transientPool: props.transientStorePoolEnable === 'true',
    dledger: String(props.enableDLegerCommitLog ?? 'false') === 'true',
  };
}

function ran(faults: Record<string, FaultSummary>, name: string): FaultSummary | null {
  const summary = faults[name];
  return summary && summary.crashes > 0 ? summary : null;
}

export function judgeClaims(shape: ProfileShape, faults: Record<string, FaultSummary>): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  if (shape.dledger) return [...judgeDLedgerClaims(faults), ...integrity(faults)];
  const powercut = ran(faults, 'powercut');
  const kill = ran(faults, 'kill');
  if (shape.masterFlush === 'SYNC_FLUSH') {
    out.push(powercut
      ? { id: 'sync-flush-power-cut', claim: 'SYNC_FLUSH "断电也不丢": nothing acked is lost on a power cut', verdict: powercut.ackedLost === 0 ? 'holds' : 'violated',
        detail: `${powercut.crashes} power cuts, ${powercut.acked} acked, ${powercut.ackedLost} lost on the restarted master` }
      : { id: 'sync-flush-power-cut', claim: 'SYNC_FLUSH "断电也不丢": nothing acked is lost on a power cut', verdict: 'not tested', detail: 'no power cut ran' });
  } else {
    const claim = `ASYNC_FLUSH: a power cut loses at most one flushIntervalCommitLog (${shape.flushIntervalMs} ms) of acked messages`;
    if (!powercut) out.push({ id: 'async-flush-window', claim, verdict: 'not tested', detail: 'no power cut ran' });
    else {
      const window = powercut.lostWindowMsMax;
      // A message acked just after a flush began waits for that flush, the interval's sleep, and
      // the next flush: each cut's window may be the interval plus two of its flush durations.
      const allowanceOf = (cycle: number) => shape.flushIntervalMs + 2 * (powercut.fsyncMsMaxPerCycle[cycle] ?? powercut.fsyncMsMax ?? 0);
      const beyond = powercut.lostWindowsMs.filter((ms, cycle) => ms > allowanceOf(cycle)).length;
      const overInterval = powercut.lostWindowsMs.filter((ms) => ms > shape.flushIntervalMs).length;
      out.push({
        id: 'async-flush-window', claim, verdict: beyond === 0 ? 'holds' : 'violated',
        detail: `${powercut.crashes} power cuts, ${powercut.ackedLost} of ${powercut.acked} acked lost; longest lost window ${window} ms; ${overInterval} of ${powercut.crashes} cuts lost more than ${shape.flushIntervalMs} ms, ` +
          (powercut.fsyncMsMax === null
            // Apache RocketMQ exposes no fsync timing: no flush-duration allowance can be computed.
            ? `slowest fsync n/a (no fsync metric), so judged against ${shape.flushIntervalMs} ms alone`
            : `${beyond} more than ${shape.flushIntervalMs} ms + 2 × that cut's slowest fsync (histogram bucket bound, worst ${powercut.fsyncMsMax} ms: the flush running when the message arrived and the one that would have covered it)`),
      });
    }
  }
  const masterFaults = [kill, powercut].filter((f): f is FaultSummary => f !== null && f.slave !== null);
  const slaveLost = masterFaults.reduce((sum, f) => sum + (f.slave?.ackedLost ?? 0), 0);
  const slaveAcked = masterFaults.reduce((sum, f) => sum + f.acked, 0);
  const crashes = masterFaults.reduce((sum, f) => sum + f.crashes, 0);
  if (shape.hasSlave && shape.masterRole === 'SYNC_MASTER') {
    const claim = 'SYNC_MASTER: when the master dies, the slave has every acked message';
    out.push(masterFaults.length === 0 ? { id: 'sync-master-failover', claim, verdict: 'not tested', detail: 'no master kill or power cut ran' }
      : { id: 'sync-master-failover', claim, verdict: slaveLost === 0 ? 'holds' : 'violated', detail: `${crashes} master crashes, ${slaveAcked} acked, ${slaveLost} missing on the slave (read before the master returned)` });
  }
  if (shape.hasSlave && shape.masterRole === 'SYNC_MASTER' && shape.masterFlush === 'SYNC_FLUSH') {
    const both = ran(faults, 'both-powercut');
    const claim = 'SYNC_FLUSH + SYNC_MASTER: master and slave both lose power, nothing acked is lost';
    out.push(!both ? { id: 'sync-sync-both-die', claim, verdict: 'not tested', detail: 'no both-powercut ran' }
      : { id: 'sync-sync-both-die', claim, verdict: both.ackedLost === 0 ? 'holds' : 'violated', detail: `${both.crashes} double power cuts, ${both.acked} acked, ${both.ackedLost} found on neither node` });
  }
  if (shape.hasSlave && shape.masterRole === 'ASYNC_MASTER') {
    const claim = 'ASYNC_MASTER: when the master dies, what the slave had not yet received is lost (and only that)';
    const tails = masterFaults.every((f) => f.slaveLossIsTail !== false);
    out.push(masterFaults.length === 0 ? { id: 'async-master-tail', claim, verdict: 'not tested', detail: 'no master kill or power cut ran' }
      : { id: 'async-master-tail', claim, verdict: tails ? 'holds' : 'violated', detail: `${crashes} master crashes, ${slaveLost} of ${slaveAcked} acked missing on the slave, ${tails ? 'always a tail of each queue' : 'with holes before the slave\'s end'}` });
  }
  if (kill && !shape.transientPool) {
    out.push({ id: 'kill-no-loss', claim: 'A killed broker process loses nothing acked (the page cache outlives it)', verdict: kill.ackedLost === 0 ? 'holds' : 'violated', detail: `${kill.crashes} kills, ${kill.acked} acked, ${kill.ackedLost} lost` });
  }
  return [...out, ...integrity(faults)];
}

function integrity(faults: Record<string, FaultSummary>): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  const all = Object.values(faults).filter((f) => f.crashes > 0);
  if (all.length > 0) {
    const corrupt = all.reduce((s, f) => s + f.corrupt, 0);
    const duplicates = all.reduce((s, f) => s + f.duplicates, 0);
    const gaps = all.reduce((s, f) => s + f.queueGaps, 0);
    out.push({ id: 'recovery-integrity', claim: 'Recovery never serves garbage: no corrupt record, no duplicate, no ConsumeQueue gap', verdict: corrupt + duplicates + gaps === 0 ? 'holds' : 'violated', detail: `${corrupt} corrupt, ${duplicates} duplicates, ${gaps} queue gaps over ${all.reduce((s, f) => s + f.crashes, 0)} crashes` });
  }
  return out;
}
