// `bench verify` output: verify.json (the numbers; the claims ledger reads it), verify.csv (one
// row per fault and a total row), and verify.md / verify.html (a verdict per safety claim, the
// per-fault table, the mode and the power-cut self-check). The types below are the part of the
// JSON this writer reads; loadgen/verify.ts writes a superset of them.
import fs from 'node:fs';
import path from 'node:path';
import { escapeHtml, htmlPage, htmlTable, mdTable } from './renderReport.js';

export interface VerifyCounts {
  acked: number;
  ackedLost: number;
  lostWindowMsMax: number;
  duplicates: number;
  unackedStored: number;
  corrupt: number;
  queueGaps: number;
}

export interface VerifyFaultJson extends VerifyCounts {
  crashes: number;
  failedCycles: number;
  errors: string[];
  slave: VerifyCounts | null;
  fsyncMsMax: number | null;
  topicConfigLost?: number;
  /** DLedger profiles: leader crashes in one living group (loadgen/verify/dledgerSeries.ts). */
  dledger?: VerifyDLedgerJson;
}

export interface VerifyDLedgerJson {
  flushDiskType: string;
  cycles: Array<{ cycle: number; killed: string; newLeader: string; failoverMs: number; failedSends: number; ackedAfterFault: number }>;
  members: Array<VerifyCounts & { name: string; selfId: string; leader: boolean }>;
  finalLeader: string | null;
  ledgerEndIndex: number | null;
  convergeMs: number | null;
  failedSendsDuringFailover: number;
  failoverMsMax: number | null;
  failoverMsP50: number | null;
  /** Acked sends answered after the first fault: the producers went on with the new leader. */
  ackedAfterFirstFault: number;
  /** Wall time of the series: start of the group to the end of the last read-back. */
  seriesMs?: number;
}

export interface VerifyJson {
  profile: string;
  engine: string;
  mode: 'strict' | 'realistic';
  startedAt: string;
  loadS: number;
  crashesPerFault: number;
  testFaults: string | null;
  powerCutProof: { keepsSynced: boolean; dropsUnsynced: boolean; syncedBytesSurvived: number; appendedBytesSurvived: number; unsyncedFileExists: boolean } | null;
  faults: Record<string, VerifyFaultJson>;
  total: VerifyCounts & { crashes: number };
  skipped: Array<{ fault: string; reason: string }>;
  partition: { verdict: string; detail: string } | null;
  diskFull: { verdict: string; detail: string } | null;
  claims: Array<{ id: string; claim: string; verdict: string; detail: string }>;
  /** Each crash cycle; only the fields this writer reads. */
  cycles?: Array<{ fault: string; recovery?: string | null }>;
  /** Wall time of the whole run, seconds (absent in older files). */
  wallS?: number;
}

export const VERIFY_CSV_COLUMNS = ['fault', 'crashes', 'acked', 'ackedLost', 'lostWindowMsMax', 'duplicates', 'unackedStored', 'corrupt', 'queueGaps', 'slaveAckedLost', 'failedCycles'] as const;

export function verifyCsv(report: VerifyJson): string {
  const rows = Object.entries(report.faults).map(([fault, f]) => [fault, f.crashes, f.acked, f.ackedLost, f.lostWindowMsMax, f.duplicates, f.unackedStored, f.corrupt, f.queueGaps, f.slave?.ackedLost ?? '', f.failedCycles]);
  const t = report.total;
  rows.push(['total', t.crashes, t.acked, t.ackedLost, t.lostWindowMsMax, t.duplicates, t.unackedStored, t.corrupt, t.queueGaps, '', '']);
  return `${[VERIFY_CSV_COLUMNS.join(','), ...rows.map((r) => r.join(','))].join('\n')}\n`;
}

function modeLine(report: VerifyJson): string {
  const mode = report.mode === 'strict'
    ? 'strict (no background writeback during the run, ext4 commit=600: only what fdatasync forced survives a power cut — the worst case)'
    : 'realistic (host writeback settings untouched: some unsynced data survives a power cut by luck)';
  const proof = report.powerCutProof
    ? `power-cut self-check: fdatasync'ed 8 KiB ${report.powerCutProof.keepsSynced ? 'survived' : 'LOST'}, unsynced append ${report.powerCutProof.appendedBytesSurvived} B survived, unsynced file ${report.powerCutProof.unsyncedFileExists ? 'exists' : 'gone'}`
    : 'no power cut ran';
  return `Mode: ${mode}. ${proof}.`;
}

/** The slowest fsync any fault's load saw, or n/a when the brokers have no /metrics (Apache RocketMQ). */
export function fsyncLine(report: VerifyJson): string {
  const values = Object.values(report.faults).map((f) => f.fsyncMsMax).filter((v): v is number => v !== null);
  if (report.engine === 'rocketmq') return 'Slowest CommitLog fsync during the loads: n/a (Apache RocketMQ exposes no fsync metric).';
  return `Slowest CommitLog fsync during the loads: ${values.length ? `${Math.max(...values)} ms` : 'n/a (not scraped)'}.`;
}

function loadLine(report: VerifyJson): string {
  return `Load ${report.loadS} s before each fault, ${report.crashesPerFault} crashes per fault${report.wallS === undefined ? '' : `, ${report.wallS} s wall time`}.`;
}

function faultRows(report: VerifyJson): string[][] {
  const rows = Object.entries(report.faults).map(([fault, f]) => [
    fault, String(f.crashes), String(f.acked), String(f.ackedLost), String(f.lostWindowMsMax), String(f.duplicates), String(f.unackedStored), String(f.corrupt), String(f.queueGaps),
    f.slave ? String(f.slave.ackedLost) : '–', f.failedCycles ? String(f.failedCycles) : '0',
  ]);
  const t = report.total;
  rows.push(['total', String(t.crashes), String(t.acked), String(t.ackedLost), String(t.lostWindowMsMax), String(t.duplicates), String(t.unackedStored), String(t.corrupt), String(t.queueGaps), '', '']);
  return rows;
}

const FAULT_HEADER = ['fault', 'crashes', 'acked', 'acked lost', 'max lost window ms', 'duplicates', 'unacked stored', 'corrupt', 'queue gaps', 'lost on slave', 'failed cycles'];

const DLEDGER_HEADER = ['fault', 'leader crashes', 'failover p50 ms', 'failover max ms', 'failed sends during elections', 'acked after the first crash', 'final leader', 'missing per member (final read)', 'converged in ms', 'series wall s'];

function dledgerRows(report: VerifyJson): string[][] {
  return Object.entries(report.faults).filter(([, f]) => f.dledger).map(([fault, f]) => {
    const d = f.dledger as VerifyDLedgerJson;
    return [
      `${fault} (${d.flushDiskType})`, String(d.cycles.length), String(d.failoverMsP50 ?? '–'), String(d.failoverMsMax ?? '–'), String(d.failedSendsDuringFailover), String(d.ackedAfterFirstFault),
      d.finalLeader ?? '–', d.members.map((m) => `${m.name} ${m.ackedLost}`).join(', ') || '–', String(d.convergeMs ?? '–'), d.seriesMs === undefined ? '–' : String(Math.round(d.seriesMs / 1000)),
    ];
  });
}

function notes(report: VerifyJson): string[] {
  const out: string[] = [];
  if (report.testFaults) out.push(`The brokers ran with the TEST fault FLUSHBENCH_TEST_FAULTS=${report.testFaults}: this run checks the checker, not the broker.`);
  for (const s of report.skipped) out.push(`${s.fault} skipped: ${s.reason}`);
  for (const [fault, f] of Object.entries(report.faults)) {
    for (const e of f.errors.slice(0, 3)) out.push(`${fault}: ${e.split('\n')[0]}`);
    if (f.topicConfigLost) out.push(`${fault}: after ${f.topicConfigLost} of ${f.crashes} crashes the restarted master had lost the topic's config (config/topics.json did not survive; the messages did)${report.engine === 'rocketmq' ? '; the topic was created again before the read, since Apache RocketMQ answers no pull for a topic it does not know' : ''}`);
  }
  const recoveries = (report.cycles ?? []).filter((c) => c.recovery);
  if (recoveries.length > 0) {
    const abnormal = recoveries.filter((c) => c.recovery === 'abnormal').length;
    out.push(`Recovery of the restarted master (its broker.log): ${abnormal} of ${recoveries.length} abnormal (abort file found: recoverAbnormally), ${recoveries.length - abnormal} normal (abort file gone: recoverNormally).`);
  }
  if (report.partition) out.push(`partition: ${report.partition.verdict} — ${report.partition.detail}`);
  if (report.diskFull) out.push(`disk-full: ${report.diskFull.verdict} — ${report.diskFull.detail}`);
  return out;
}

/** The verify section as Markdown (a heading, the claims, the per-fault table, notes). */
export function renderVerifyMarkdown(report: VerifyJson): string {
  const lines = [
    `## Safety: ${report.profile} (bench verify, ${report.engine})`, '',
    modeLine(report), `${loadLine(report)} Started ${report.startedAt}. ${fsyncLine(report)}`, '',
    mdTable(['claim', 'verdict', 'measured'], report.claims.map((c) => [c.claim, c.verdict, c.detail])), '',
    mdTable(FAULT_HEADER, faultRows(report)), '',
    ...(dledgerRows(report).length ? [mdTable(DLEDGER_HEADER, dledgerRows(report)), '', 'DLedger: the fault hits the current leader of one group of 3 that lives through the whole series; acked lost is read on the final leader once every member has the same committed log; each follower is read too.', ''] : []),
    'acked lost: acked (SEND_OK) but absent or corrupt on the read the fault is about (the restarted master for kill/powercut, the caught-up slave for slave-*, both nodes for both-powercut); lost on slave: missing from the slave read before the master returned. Lost window: from the oldest lost ack to the fault.',
  ];
  const extra = notes(report);
  if (extra.length > 0) lines.push('', ...extra.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

export function renderVerifyHtml(report: VerifyJson): string {
  const extra = notes(report);
  return `<section class="verify"><h2>Safety: ${escapeHtml(report.profile)} (bench verify, ${escapeHtml(report.engine)})</h2>
<p>${escapeHtml(`${modeLine(report)} ${loadLine(report)} ${fsyncLine(report)}`)}</p>
${htmlTable(['claim', 'verdict', 'measured'], report.claims.map((c) => [c.claim, c.verdict, c.detail]))}
${htmlTable(FAULT_HEADER, faultRows(report))}
${dledgerRows(report).length ? htmlTable(DLEDGER_HEADER, dledgerRows(report)) : ''}
${extra.length ? `<ul>${extra.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}</section>`;
}

/** Writes verify.json, verify.csv, verify.md and verify.html into outDir; returns their paths. */
export function writeVerifyReport(outDir: string, report: VerifyJson): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  const files: Array<[string, string]> = [
    ['verify.json', `${JSON.stringify(report, null, 2)}\n`],
    ['verify.csv', verifyCsv(report)],
    ['verify.md', renderVerifyMarkdown(report)],
    ['verify.html', htmlPage(`bench verify ${report.profile}`, renderVerifyHtml(report))],
  ];
  return files.map(([name, text]) => {
    const file = path.join(outDir, name);
    fs.writeFileSync(file, text);
    return file;
  });
}
