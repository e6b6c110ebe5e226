// Verdicts for a DLedger profile: what the leader crashes showed. Pure, like claims.ts.
import type { ClaimVerdict } from './claims.js';
import type { FaultSummary } from './summary.js';

/** What an ack promises, per flush type, and what a leader power cut therefore keeps. */
function ackMeaning(flushDiskType: string): string {
  return flushDiskType === 'SYNC_FLUSH'
    ? 'SYNC_FLUSH: acked once the leader has fdatasync\'ed the entry and one follower has written it, so one disk and one more page cache hold every ack'
    : 'ASYNC_FLUSH: acked once 2 of 3 hold the entry in memory (the leader written to its page cache, a follower written to its own; the disk sees it within flushFileInterval), ' +
      'so a leader power cut loses nothing acked as long as the followers\' processes keep their page caches — only the leader lost power here; ' +
      'a power cut of two members at once could lose acks that had not reached either disk (not tested)';
}

function failoverWords(f: FaultSummary): string {
  const d = f.dledger;
  if (!d) return '';
  const dropped = d.entriesDropped === null ? '' : d.entriesDropped === 0 ? '; every crashed leader recovered all the entries it had' : `; the crashes took at least ${d.entriesDropped} entries from the crashed leaders' own logs (in ${d.crashesThatDropped} of ${d.cycles.length} crashes; the majority had them)`;
  return `${dropped}; failover p50 ${d.failoverMsP50 ?? '–'} ms, max ${d.failoverMsMax ?? '–'} ms; ${d.failedSendsDuringFailover} sends failed during elections (never acked, so not counted as lost); ${d.ackedAfterFirstFault} acked after the first crash`;
}

function membersWords(f: FaultSummary): string {
  const members = f.dledger?.members ?? [];
  return members.map((m) => `${m.name}${m.leader ? ' (leader)' : ''} ${m.ackedLost} missing`).join(', ');
}

export function judgeDLedgerClaims(faults: Record<string, FaultSummary>): ClaimVerdict[] {
  const out: ClaimVerdict[] = [];
  const ran = Object.entries(faults).filter(([name, f]) => (name === 'kill' || name === 'powercut') && f.dledger);
  for (const [name, id, what] of [['kill', 'dledger-leader-kill', 'is killed'], ['powercut', 'dledger-leader-power-cut', 'loses power']] as const) {
    const f = faults[name];
    const claim = `DLedger: no acked message is lost when the leader ${what} while a majority survives`;
    if (!f?.dledger || f.crashes === 0) {
      out.push({ id, claim, verdict: 'not tested', detail: f ? `no ${name} series completed: ${f.errors[0] ?? 'nothing ran'}` : `no ${name} series ran` });
      continue;
    }
    out.push({
      id, claim, verdict: f.ackedLost === 0 ? 'holds' : 'violated',
      detail: `${f.crashes} leader ${name === 'kill' ? 'kills' : 'power cuts'}, ${f.acked} acked, ${f.ackedLost} missing on the final leader after all members converged` +
        `${f.ackedLost > 0 ? ` (longest lost window ${f.lostWindowMsMax} ms before a crash)` : ''}${failoverWords(f)}. ${ackMeaning(f.dledger.flushDiskType)}`,
    });
  }
  if (ran.length === 0) return out;
  const series = ran.map(([, f]) => f);
  const crashes = series.reduce((s, f) => s + f.crashes, 0);
  const stalled = series.flatMap((f) => (f.dledger?.cycles ?? []).filter((c) => c.ackedAfterFault === 0).map((c) => c.cycle));
  const failed = series.reduce((s, f) => s + f.failedCycles, 0);
  out.push({
    id: 'dledger-automatic-failover', claim: 'DLedger (4.5+ recommended): automatic failover, no manual switch',
    verdict: crashes === 0 ? 'not tested' : failed === 0 && stalled.length === 0 ? 'holds' : 'violated',
    detail: `${crashes} leader crashes, ${crashes - stalled.length} followed by SEND_OKs from a newly elected leader without intervention${failed ? `; ${failed} cycles failed (${series.flatMap((f) => f.errors)[0]?.split('\n')[0]})` : ''}` +
      series.map((f) => failoverWords(f)).join(''),
  });
  const complete = series.filter((f) => (f.dledger?.members.length ?? 0) > 0);
  if (complete.length > 0) {
    const missing = complete.reduce((s, f) => s + (f.dledger?.members ?? []).reduce((m, r) => m + r.ackedLost, 0), 0);
    const damaged = complete.reduce((s, f) => s + (f.dledger?.members ?? []).reduce((m, r) => m + r.corrupt + r.duplicates + r.queueGaps, 0), 0);
    out.push({
      id: 'dledger-replicas-converge', claim: 'DLedger: after the crashes every member (the restarted ones too) holds every acked message, intact',
      verdict: missing + damaged === 0 ? 'holds' : 'violated',
      detail: complete.map((f) => `${f.dledger?.cycles.length} crashes: ${membersWords(f)}`).join('; ') + `; ${damaged} corrupt, duplicate or gap records over all members`,
    });
  }
  return out;
}
