// The claims ledger: every claim of the seed article (shared/seed, see DESIGN.md's table) with
// its verdict and where the verdict comes from — this run's profiles, status counts and host
// probe, or a pointer to the command that measures it (bench verify, compare, tune sweep).
import { describeEvidence, findEvidence } from './safetyEvidence.js';
import type { Summary, SummaryResult } from './summary.js';

export interface LedgerEntry {
  /** The seed's claim, in English, with the seed's own words where they matter. */
  claim: string;
  verdict: string;
  /** Where the verdict comes from: measurements, or the command that would measure it. */
  evidence: string;
}

export const LEDGER_HEADER = ['claim (seed)', 'verdict', 'where it comes from'];

/** The six TPS claims (seed: 组合方案 table and the flush sections), for profiles this run did not measure. */
const TPS_CLAIMS: Record<string, string> = {
  'async-async': '40,000–50,000', 'sync-async': '8,000–10,000', 'async-sync': '10,000–15,000', 'sync-sync': '3,000–5,000',
  'single-sync-flush': '1,000–3,000', 'single-async-flush': '10,000–50,000',
};
const TPS_PROFILES = Object.keys(TPS_CLAIMS);
const SYNC_FLUSH_PROFILES = new Set(['sync-async', 'sync-sync', 'single-sync-flush']);
const SYNC_MASTER_PROFILES = ['async-sync', 'sync-sync'];

/** The seed's monitoring names → what our broker's /metrics exposes (broker/server/brokerMetrics.ts, broker/ha/haMaster.ts). */
export const SEED_METRICS: ReadonlyArray<{ seed: string; seedSays: string; ours: string | null; note: string }> = [
  { seed: 'commitLogDiskRatio', seedSays: '刷盘延迟 (flush latency)', ours: 'rocketmq_commitlog_disk_ratio', note: 'it is the store disk\'s used fraction, not a latency; flush latency is rocketmq_fsync_latency_seconds' },
  { seed: 'flushBehindBytes', seedSays: '刷盘队列大小 (flush queue size)', ours: 'rocketmq_flush_behind_bytes', note: 'bytes written but not yet fsynced; the seed alerts above 10 MiB' },
  { seed: 'flushFailedTimes', seedSays: '刷盘失败次数 (flush failures)', ours: 'rocketmq_flush_failed_times_total', note: 'counter' },
  { seed: 'slaveFallBehindMasterHow', seedSays: '主从差距 (slave lag)', ours: 'rocketmq_ha_slave_fall_behind_bytes', note: 'bytes; the seed alerts above 100 MiB' },
  { seed: 'haTransferredBytes', seedSays: '同步延迟 (replication delay)', ours: 'rocketmq_ha_transferred_bytes_total', note: 'a byte counter, not a delay; replication delay is rocketmq_ha_replication_latency_seconds' },
  { seed: 'haConnectionCount', seedSays: '同步失败次数 (replication failures)', ours: 'rocketmq_ha_connections', note: 'connected slaves, not a failure count' },
];

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—');

function find(summary: Summary, profile: string): SummaryResult | undefined {
  return summary.results.find((r) => r.profile === profile && r.variant === null) ?? summary.results.find((r) => r.profile === profile);
}

/** Broker fsyncs per second and messages per fsync, means over the runs that have them. */
function fsyncFacts(r: SummaryResult): { fsyncsPerSec: number; messagesPerFsync: number } | null {
  const runs = r.runs.filter((run) => run.broker?.fsyncs && run.broker.messagesPerFsync !== null);
  if (runs.length === 0 || !r.load?.durationS) return null;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    fsyncsPerSec: mean(runs.map((run) => (run.broker?.fsyncs ?? 0) / r.load.durationS)),
    messagesPerFsync: mean(runs.map((run) => run.broker?.messagesPerFsync ?? 0)),
  };
}

/** One sentence of why, from the broker's fsync counts and the host probe. */
export function tpsWhy(r: SummaryResult, probePerSec: number | null): string {
  const facts = fsyncFacts(r);
  const claimed = r.claim.tpsMin === null ? null : `${fmt(r.claim.tpsMin)}–${fmt(r.claim.tpsMax ?? r.claim.tpsMin)}`;
  const probe = probePerSec === null ? '' : `; this disk does ${fmt(probePerSec)} fdatasync/s with one writer`;
  if (SYNC_FLUSH_PROFILES.has(r.profile)) {
    if (!facts) return `no broker fsync counts (metrics unreachable)${probe}`;
    return `≈ ${fmt(facts.fsyncsPerSec)} fsyncs/s × ${fmt(facts.messagesPerFsync, 1)} messages per fsync (group commit) ≈ ${fmt(r.tps.mean)} msg/s`
      + `${claimed ? `: the claimed ${claimed} matches one fsync per message on a disk doing ${claimed} fsyncs/s` : ''}${probe}`;
  }
  const cpu = r.cpu?.brokersTotalUsPerMsg;
  const background = facts ? `${fmt(facts.fsyncsPerSec)} background fsyncs/s of ${fmt(facts.messagesPerFsync, 0)} messages each` : 'fsyncs in the background';
  return `ASYNC_FLUSH acks from the page cache (${background}), so the disk hardly sets the pace: ${r.boundBy === 'harness' ? 'the load generator reached its ceiling' : 'broker CPU does'}${cpu ? ` (${fmt(cpu, 1)} µs broker CPU per message)` : ''}`;
}

function tpsEntries(summary: Summary): LedgerEntry[] {
  const probe = summary.host.fsyncProbe?.fdatasyncPerSecond ?? null;
  return TPS_PROFILES.map((profile) => {
    const r = find(summary, profile);
    if (!r) return { claim: `${profile}: TPS ${TPS_CLAIMS[profile]}`, verdict: 'not run', evidence: `bench run --profile ${profile}` };
    const claimed = r.claim.tpsMin === null ? '—' : `${fmt(r.claim.tpsMin)}–${fmt(r.claim.tpsMax ?? r.claim.tpsMin)}`;
    return {
      claim: `${profile}: TPS ${claimed}`,
      verdict: r.verdict ?? 'n/a',
      evidence: `measured ${fmt(r.tps.mean)} ± ${fmt(r.tps.spreadPercent, 1)} % (${r.runs.length} run(s)); ${tpsWhy(r, probe)}`,
    };
  });
}

/** Compares one latency percentile with a claimed range. */
function against(valueMs: number, minMs: number | null, maxMs: number): string {
  if (valueMs > maxMs) return 'above';
  return minMs !== null && valueMs < minMs ? 'below' : 'within';
}

function latencyEntry(summary: Summary, claim: string, profiles: string[], minMs: number | null, maxMs: number): LedgerEntry {
  const r = profiles.map((p) => find(summary, p)).find(Boolean);
  if (!r) return { claim, verdict: 'not run', evidence: `bench run --profile ${profiles[0]}` };
  const p50 = against(r.latencyMs.p50, minMs, maxMs);
  const p99 = against(r.latencyMs.p99, minMs, maxMs);
  return {
    claim,
    verdict: p50 === p99 ? p50 : `p50 ${p50}, p99 ${p99}`,
    evidence: `${r.profile} send→ack latency p50 ${fmt(r.latencyMs.p50, 2)} ms, p99 ${fmt(r.latencyMs.p99, 2)} ms against ${minMs === null ? `< ${maxMs}` : `${minMs}–${maxMs}`} ms`,
  };
}

function timeoutEntry(summary: Summary): LedgerEntry {
  const claim = '"a sync-replication timeout still returns success" (Master仍然返回成功)';
  const results = SYNC_MASTER_PROFILES.map((p) => find(summary, p)).filter((r): r is SummaryResult => Boolean(r));
  if (results.length === 0) return { claim, verdict: 'not run', evidence: 'bench run --profile sync-sync (status counts), or bench verify --profile sync-sync --fault slave-kill' };
  const count = (status: string) => results.reduce((a, r) => a + (r.statusCounts[status] ?? 0), 0);
  const timeouts = count('FLUSH_SLAVE_TIMEOUT');
  const notAvailable = count('SLAVE_NOT_AVAILABLE');
  const sent = results.reduce((a, r) => a + r.sent, 0);
  const where = results.map((r) => r.profile).join(', ');
  if (timeouts + notAvailable > 0) {
    return { claim, verdict: 'refuted', evidence: `${where}: ${timeouts} FLUSH_SLAVE_TIMEOUT and ${notAvailable} SLAVE_NOT_AVAILABLE answers out of ${sent} sends — a timeout is reported to the producer, not SEND_OK (as in RocketMQ 4.9.x)` };
  }
  return { claim, verdict: 'not exercised', evidence: `${where}: no slave timeout in ${sent} sends. The broker answers FLUSH_SLAVE_TIMEOUT (12) on a timeout, like RocketMQ 4.9.x; bench verify --profile sync-sync --fault slave-kill provokes one` };
}

/** A safety claim: its verdict from the newest bench verify run beside this report, else the command that measures it. */
function safetyEntry(summary: Summary, claim: string, profile: string, claimId: string, command: string): LedgerEntry {
  const found = findEvidence(summary.safety, profile, claimId);
  return found ? { claim, verdict: found.verdict, evidence: `${profile}: ${describeEvidence(found)}` } : { claim, verdict: 'not run', evidence: command };
}

function pointerEntries(summary: Summary): LedgerEntry[] {
  const emulated = summary.host.diskEmulation;
  return [
    safetyEntry(summary, 'ASYNC_FLUSH loses at most one flushIntervalCommitLog (500 ms) on power loss (最多丢失500ms内的数据)', 'single-async-flush', 'async-flush-window',
      'bench verify --profile single-async-flush --fault powercut (loop-device power cut, counts acked messages lost)'),
    safetyEntry(summary, 'SYNC_FLUSH loses nothing on power loss (断电也不丢)', 'single-sync-flush', 'sync-flush-power-cut', 'bench verify --profile single-sync-flush --fault powercut'),
    safetyEntry(summary, 'SYNC_FLUSH + SYNC_MASTER loses nothing even if both nodes die (Master和Slave都宕机也不丢数据)', 'sync-sync', 'sync-sync-both-die',
      'bench verify --profile sync-sync --fault both-powercut'),
    safetyEntry(summary, 'DLedger (recommended since 4.5): automatic failover, no manual switch (自动故障转移)', 'dledger', 'dledger-automatic-failover',
      'bench verify --profile dledger --fault kill (or bench dledger failover for the failover time)'),
    safetyEntry(summary, 'DLedger: nothing acked is lost when the leader is killed while a majority survives', 'dledger', 'dledger-leader-kill', 'bench verify --profile dledger --fault kill'),
    safetyEntry(summary, 'DLedger: nothing acked is lost when the leader loses power while a majority survives', 'dledger', 'dledger-leader-power-cut', 'bench verify --profile dledger --fault powercut'),
    {
      claim: 'SSD is 10× faster than HDD (比HDD快10倍以上)', verdict: 'see bench compare',
      evidence: emulated
        ? `this run is the emulated HDD (${fmt(emulated.writeIops)} write IOPS); bench compare <a --disk ssd report> <this report> judges it per profile`
        : 'bench run --disk hdd (same profiles), then bench compare <this report> <the hdd report> judges it per profile',
    },
    { claim: 'OS advice: vm.dirty_ratio=40, dirty_background_ratio=10, swappiness=10, overcommit_memory=1, ulimit -n 655350, swap off, deadline/noop, write cache off', verdict: 'see bench tune', evidence: `bench tune check (this host: vm.dirty_ratio=${summary.host.vm?.dirty_ratio ?? '?'}, dirty_background_ratio=${summary.host.vm?.dirty_background_ratio ?? '?'}, scheduler ${summary.host.scheduler ?? '?'}, write cache ${summary.host.writeCache ?? '?'}); bench tune sweep --param vm.dirty_ratio=10,20,40 --profile async-async measures whether it matters` },
  ];
}

function metricEntries(): LedgerEntry[] {
  return SEED_METRICS.map((m) => ({
    claim: `monitor ${m.seed} (${m.seedSays})`,
    verdict: m.ours ? 'exposed' : 'not exposed',
    evidence: m.ours ? `/metrics ${m.ours}: ${m.note}` : m.note,
  }));
}

export function claimsLedger(summary: Summary): LedgerEntry[] {
  return [
    ...tpsEntries(summary),
    latencyEntry(summary, 'SYNC_FLUSH latency 10–50 ms (高 10-50ms)', ['single-sync-flush'], 10, 50),
    latencyEntry(summary, 'ASYNC_FLUSH latency < 1 ms (低 <1ms)', ['single-async-flush'], null, 1),
    latencyEntry(summary, 'async replication latency < 1 ms (异步复制 <1ms)', ['async-async'], null, 1),
    latencyEntry(summary, 'sync replication latency 5–10 ms (同步双写 5-10ms)', ['async-sync'], 5, 10),
    timeoutEntry(summary),
    ...pointerEntries(summary),
    ...metricEntries(),
  ];
}

export function ledgerRows(summary: Summary): string[][] {
  return claimsLedger(summary).map((e) => [e.claim, e.verdict, e.evidence]);
}
