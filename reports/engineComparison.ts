// The engines side by side: each profile run on flushbench's broker and on Apache RocketMQ in the
// same `bench run --engine both`, one row per engine, with flushbench's TPS and broker CPU per
// message as a ratio to RocketMQ's (measured in the same run, so host drift falls on both).
import type { Summary, SummaryResult } from './summary.js';

export const ENGINE_HEADER = [
  'profile', 'engine', 'TPS (mean ± spread)', 'p50 / p99 ms', 'non-OK statuses', 'verdict', 'broker CPU µs/msg (all brokers)', 'flushbench ÷ reference: TPS, CPU/msg',
];

export function engineOf(r: SummaryResult): string {
  return r.engine ?? 'flushbench';
}

function profileOnly(r: SummaryResult): string {
  return r.variant ? `${r.profile} [${r.variant}]` : r.profile;
}

/** True when the run measured more than one engine (the section is left out otherwise). */
export function hasSeveralEngines(summary: Summary): boolean {
  return new Set(summary.results.map(engineOf)).size > 1;
}

function fmt(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function statuses(r: SummaryResult): string {
  const parts = Object.entries(r.statusCounts).filter(([status, count]) => status !== 'SEND_OK' && count > 0).map(([status, count]) => `${status} ${count}`);
  return parts.length ? parts.join(', ') : 'none';
}

/** flushbench's number divided by the other engine's (the first non-flushbench result of the same profile). */
function ratios(r: SummaryResult, peers: SummaryResult[]): string {
  if (engineOf(r) !== 'flushbench') return '';
  const reference = peers.find((p) => engineOf(p) !== 'flushbench');
  if (!reference) return '';
  const tps = reference.tps.mean > 0 ? r.tps.mean / reference.tps.mean : null;
  const ours = r.cpu?.brokersTotalUsPerMsg ?? null;
  const theirs = reference.cpu?.brokersTotalUsPerMsg ?? null;
  const cpu = ours !== null && theirs ? ours / theirs : null;
  return `TPS ×${fmt(tps, 2)}, CPU ×${fmt(cpu, 2)} (vs ${engineOf(reference)})`;
}

/** One row per profile and engine, the profile's engines next to each other. */
export function engineRows(summary: Summary): string[][] {
  const profiles = [...new Set(summary.results.map(profileOnly))];
  return profiles.flatMap((profile) => {
    const peers = summary.results.filter((r) => profileOnly(r) === profile);
    return peers.map((r) => [
      profile, engineOf(r), `${fmt(r.tps.mean, 0)} ± ${fmt(r.tps.spreadPercent, 1)} %`, `${fmt(r.latencyMs.p50, 2)} / ${fmt(r.latencyMs.p99, 2)}`,
      statuses(r), r.verdict ?? 'n/a', fmt(r.cpu?.brokersTotalUsPerMsg, 1), ratios(r, peers),
    ]);
  });
}

export const ENGINE_NOTE = 'Apache RocketMQ ran the same profile (the same broker.properties keys, masters and slaves) on the same store directory and under the same load, interleaved with flushbench (A B A B with --repeat). Its broker CPU is the JVM\'s user + system time from /proc. Broker-side metrics (fsyncs, flush-behind, slave lag) exist only for flushbench.';
