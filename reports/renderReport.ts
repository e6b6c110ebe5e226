// report.md and report.html from a summary: verdict table first, then host facts, charts,
// the effective broker settings, notes, and how to read it. Both come from the same rows.
import type { Summary, SummaryResult } from './summary.js';
import { ENGINE_HEADER, ENGINE_NOTE, engineRows, hasSeveralEngines } from './engineComparison.js';
import { LEDGER_HEADER, ledgerRows } from './claimsLedger.js';

export interface ChartFile {
  file: string;
  caption: string;
  png: Buffer;
}

/** Settings shown in the main tables; the HTML report also has every key. */
const KEY_SETTINGS = [
  'brokerRole', 'flushDiskType', 'flushIntervalCommitLog', 'flushCommitLogLeastPages', 'flushCommitLogThoroughInterval', 'flushCommitLogTimed',
  'transientStorePoolEnable', 'transientStorePoolActive', 'syncFlushTimeout', 'slaveAckDeadlineSource', 'slaveAckDeadlineMs',
  'mappedFileSizeCommitLog', 'segmentSizeKey', 'haSlaveFallbehindMax',
];

const SEED_DIFFERENCE =
  'The seed article says a sync-replication timeout still returns success. Real RocketMQ (and this broker) answers ' +
  'FLUSH_SLAVE_TIMEOUT (12) or SLAVE_NOT_AVAILABLE (11); the Java client reports these as a SendResult status, not SEND_OK. ' +
  'Like RocketMQ\'s benchmark, TPS counts them as sent; the status columns show how many there were.';

const HOW_TO_READ = [
  'Claims ledger: every claim of the seed article with its verdict and where it comes from — this run (TPS with one sentence of why from fsyncs/s × messages per fsync and the disk probe; p50 and p99 against each latency claim; status counts for the sync-replication timeout), or the command that measures it (bench verify for loss, bench compare for SSD vs HDD, bench tune for the OS advice). The seed\'s monitoring names are mapped to this broker\'s /metrics names.',
  'Verdict: the mean TPS over the runs against the claimed range (below / within / above). One run gives low confidence; use --repeat 3.',
  'Harness ceiling: what the load generator and broker reach when the broker acks without storing (best of --repeat runs). "harness" in the bound-by column means the profile reached 80 % of it: the number measures this host\'s CPU, not the disk. "broker" means the broker\'s durability work set the pace: fsync and replication waits under SYNC settings, mostly broker CPU under ASYNC ones.',
  'Latency is measured at the producer from send to ack (open loop: from the intended send time). p99 over all measured acks.',
  'Host facts tell what was measured: a store on tmpfs or overlay does not measure a disk. vm.dirty_* decide when the kernel writes back ASYNC_FLUSH data.',
  'CPU per acknowledged message: each process\'s user + system CPU time (from /proc) over the measured window divided by the acks in it. On a shared host absolute TPS moves with CPU steal and neighbours; CPU per message hardly does, so compare settings and engines by it. Steal above 5 % gets a warning in the notes.',
  'Effective settings are what each broker reported it used, e.g. whether transientStorePoolEnable was really in effect.',
];

function fmt(value: number, digits = 0): string {
  return Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';
}

function label(r: SummaryResult): string {
  const engine = r.engine && r.engine !== 'flushbench' ? ` (${r.engine})` : '';
  return `${r.variant ? `${r.profile} [${r.variant}]` : r.profile}${engine}`;
}

function otherStatuses(r: SummaryResult): string {
  const parts = Object.entries(r.statusCounts).filter(([status, count]) => status !== 'SEND_OK' && count > 0).map(([status, count]) => `${status} ${count}`);
  return parts.length ? parts.join(', ') : 'none';
}

function verdictRows(summary: Summary): string[][] {
  return summary.results.map((r) => {
    const claimRange = r.claim.tpsMin === null ? '—' : `${fmt(r.claim.tpsMin)}–${fmt(r.claim.tpsMax ?? r.claim.tpsMin)}`;
    const e2e = r.runs[0]?.endToEnd ? ` (end-to-end p99 ${fmt(r.runs[0].endToEnd.latencyMs.p99, 1)} ms)` : '';
    return [
      label(r), r.claim.text, claimRange, `${fmt(r.tps.mean)} ± ${fmt(r.tps.spreadPercent, 1)} %`,
      `${fmt(r.latencyMs.p50, 2)} / ${fmt(r.latencyMs.p99, 2)}${e2e}`, r.verdict ?? 'n/a', r.verdictConfidence, String(r.runs.length),
      r.harnessCeilingTps ? fmt(r.harnessCeilingTps) : '—', r.boundBy, otherStatuses(r),
    ];
  });
}

/** CPU µs per acknowledged message per process; the number that holds across days on a shared host. */
function cpuRows(summary: Summary): string[][] {
  return summary.results.map((r) => {
    const cpu = r.cpu;
    if (!cpu) return [label(r), 'not measured', '—', '—', '—', '—', '—'];
    const us = (value: number | null) => (value === null ? '—' : fmt(value, 1));
    const brokers = Object.entries(cpu.brokerUsPerMsg).map(([node, value]) => `${node} ${us(value)}`).join(', ') || '—';
    return [label(r), brokers, us(cpu.brokersTotalUsPerMsg), us(cpu.namesrvUsPerMsg), us(cpu.loadgenUsPerMsg), fmt(cpu.hostStealPercent, 1), fmt(cpu.hostBusyPercent, 0)];
  });
}

const CPU_HEADER = ['profile', 'broker CPU µs/msg (each)', 'all brokers µs/msg', 'name server µs/msg', 'load generator µs/msg', 'host steal %', 'host busy %'];

const VERDICT_HEADER = ['profile', 'claim', 'claimed TPS', 'measured TPS (mean ± spread)', 'latency p50 / p99 ms', 'verdict', 'confidence', 'runs', 'harness ceiling', 'bound by', 'non-OK statuses'];

function hostRows(summary: Summary): string[][] {
  const h = summary.host;
  const vm = Object.entries(h.vm ?? {}).map(([k, v]) => `${k}=${v ?? '?'}`).join(', ');
  const probe = h.fsyncProbe ? `${fmt(h.fsyncProbe.fdatasyncPerSecond)} fdatasync/s (4 KiB appends; p50 ${fmt(h.fsyncProbe.latencyMsP50, 2)} ms, p99 ${fmt(h.fsyncProbe.latencyMsP99, 2)} ms)` : 'not measured';
  return [
    ['host', `${h.hostname}, ${h.cpuCount} × ${h.cpuModel}, ${fmt(h.memoryBytes / 1024 ** 3, 1)} GiB, kernel ${h.kernel}`],
    ['store directory', h.diskScope ? `${h.storeDir} (${h.diskScope})` : h.storeDir],
    ['disk', `${h.device ?? '?'} ${h.diskModel ?? ''} — rotational: ${h.rotational ?? '?'}, scheduler: ${h.scheduler ?? '?'}, write cache: ${h.writeCache ?? '?'}`],
    ['file system', `${h.fileSystem ?? '?'} on ${h.mountPoint ?? '?'} (${h.mountOptions ?? '?'})`],
    ['disk measured', h.diskIsMeasured ? 'yes' : `NO — ${h.diskWarning ?? 'not a real disk'}`],
    ['vm settings', vm || 'unknown'],
    ['fsync probe', probe],
    ...(h.diskEmulation ? [['disk emulation', emulationText(h.diskEmulation)]] : []),
  ];
}

function emulationText(e: NonNullable<Summary['host']['diskEmulation']>): string {
  const outside = e.fsyncProbeOutsideThrottle ? `; ${fmt(e.fsyncProbeOutsideThrottle.fdatasyncPerSecond)} fdatasync/s on the same loop device before the throttle` : '';
  return `EMULATED ${e.kind.toUpperCase()}: ${fmt(e.writeIops)} write IOPS, ${fmt(e.writeBps / 1e6)} MB/s, cgroup ${e.cgroup} — ${e.method} (image ${e.image})${outside}`;
}

function settingsRows(r: SummaryResult): string[][] {
  return Object.entries(r.effectiveSettings).map(([node, settings]) => [node, KEY_SETTINGS.filter((k) => k in settings).map((k) => `${k}=${settings[k]}`).join(', ')]);
}

const LOSS_HEADER = ['profile', 'safety claim', 'verdict', 'measured', 'bench verify run'];

/**
 * The safety verdicts of this run's profiles from earlier `bench verify` runs (newest per
 * claim), so each speed above stands next to what the setting loses; a profile with none says
 * which command measures it.
 */
function lossSection(summary: Summary, table: (header: string[], rows: string[][]) => string, paragraph: (text: string) => string): string[] {
  const profiles = [...new Set(summary.results.map((r) => r.profile))];
  const rows: string[][] = [];
  const missing: string[] = [];
  for (const profile of profiles) {
    const found = (summary.safety ?? []).filter((e) => e.profile === profile);
    if (found.length === 0) missing.push(profile);
    for (const e of found) rows.push([profile, e.claim, e.verdict, e.detail, `${e.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${e.mode}, ${e.engine}: ${e.source}`]);
  }
  const out = rows.length > 0 ? [table(LOSS_HEADER, rows)] : [];
  if (missing.length > 0) {
    out.push(paragraph(`No bench verify result beside this report for ${missing.join(', ')}: the speed above has no measured loss yet. ` +
      `Run \`bench verify --profile ${missing[0]}\` (kills and loop-device power cuts, every acked message read back); its verify.json in the same runs folder is picked up by the next report.`));
  }
  return out;
}

export function mdTable(header: string[], rows: string[][]): string {
  const esc = (cell: string) => cell.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [`| ${header.map(esc).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(esc).join(' | ')} |`)].join('\n');
}

export function renderMarkdown(summary: Summary, charts: ChartFile[]): string {
  const notes = [...new Set(summary.results.flatMap((r) => r.notes))];
  return [
    `# flushbench report`, '',
    `${summary.command} — ${summary.startedAt} to ${summary.finishedAt}`, '',
    '## Verdicts', '', mdTable(VERDICT_HEADER, verdictRows(summary)), '',
    '## Claims ledger', '', mdTable(LEDGER_HEADER, ledgerRows(summary)), '',
    '## What each setting loses (bench verify)', '', ...lossSection(summary, (header, rows) => mdTable(header, rows), (text) => text), '',
    ...(hasSeveralEngines(summary) ? ['## Engines side by side', '', mdTable(ENGINE_HEADER, engineRows(summary)), '', ENGINE_NOTE, ''] : []),
    '## CPU per acknowledged message', '', mdTable(CPU_HEADER, cpuRows(summary)), '',
    summary.host.diskIsMeasured ? '' : `> **WARNING:** ${summary.host.diskWarning ?? 'the store was not on a real disk'}; these numbers do not measure a disk.\n`,
    '## Host', '', mdTable(['fact', 'value'], hostRows(summary)), '',
    '## Charts', '', ...charts.map((c) => `![${c.caption}](${c.file})`), '',
    '## Effective broker settings', '',
    ...summary.results.flatMap((r) => [`### ${label(r)}`, '', mdTable(['node', 'settings'], settingsRows(r)), '']),
    '## Notes', '', ...[...notes, SEED_DIFFERENCE].map((n) => `- ${n}`), '',
    '## How to read this report', '', ...HOW_TO_READ.map((n) => `- ${n}`), '',
  ].join('\n');
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function htmlTable(header: string[], rows: string[][], className = ''): string {
  const head = `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td class="${/^(below|within|above)$/.test(cell) ? `verdict-${cell}` : ''}">${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${className}">${head}\n${body}</table>`;
}

/** The style every report page shares (run, compare, sweep, verify, scenario). */
const PAGE_STYLE = `body{font-family:system-ui,sans-serif;margin:2rem;max-width:1300px;color:#222}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}
th{background:#f3f3f3}.verdict-below{background:#fde2e1}.verdict-within{background:#e2f5e1}.verdict-above{background:#e1ecfd}
img{max-width:100%;border:1px solid #ddd;margin:0.5rem 0}.warn{background:#fff3cd;border:1px solid #e0c36b;padding:0.8rem;font-weight:bold}`;

/** A self-contained HTML page in the reports' style; `extraCss` adds a page's own rules. */
export function htmlPage(title: string, body: string, extraCss = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
${PAGE_STYLE}${extraCss ? `\n${extraCss}` : ''}
</style></head><body>
${body}
</body></html>
`;
}

/** PNG charts inlined as data URLs, so the page needs no other file. */
export function htmlFigures(charts: ReadonlyArray<{ png: Buffer; caption: string }>): string {
  return charts.map((c) => `<figure><img alt="${escapeHtml(c.caption)}" src="data:image/png;base64,${c.png.toString('base64')}"><figcaption>${escapeHtml(c.caption)}</figcaption></figure>`).join('\n');
}

export function renderHtml(summary: Summary, charts: ChartFile[]): string {
  const notes = [...new Set(summary.results.flatMap((r) => r.notes))];
  const allSettings = summary.results.map((r) => `<details><summary>${escapeHtml(label(r))}: every setting</summary>${Object.entries(r.effectiveSettings)
    .map(([node, settings]) => `<h4>${escapeHtml(node)}</h4>${htmlTable(['key', 'value'], Object.entries(settings).map(([k, v]) => [k, String(v)]))}`).join('')}</details>`).join('\n');
  return htmlPage('flushbench report', `<h1>flushbench report</h1>
<p><code>${escapeHtml(summary.command)}</code> — ${escapeHtml(summary.startedAt)} to ${escapeHtml(summary.finishedAt)}</p>
<h2>Verdicts</h2>
${htmlTable(VERDICT_HEADER, verdictRows(summary), 'verdicts')}
<h2>Claims ledger</h2>
${htmlTable(LEDGER_HEADER, ledgerRows(summary))}
<h2>What each setting loses (bench verify)</h2>
${lossSection(summary, (header, rows) => htmlTable(header, rows), (text) => `<p>${escapeHtml(text)}</p>`).join('\n')}
${hasSeveralEngines(summary) ? `<h2>Engines side by side</h2>\n${htmlTable(ENGINE_HEADER, engineRows(summary))}\n<p>${escapeHtml(ENGINE_NOTE)}</p>` : ''}
<h2>CPU per acknowledged message</h2>
${htmlTable(CPU_HEADER, cpuRows(summary))}
${summary.host.diskIsMeasured ? '' : `<p class="warn">WARNING: ${escapeHtml(summary.host.diskWarning ?? 'the store was not on a real disk')}; these numbers do not measure a disk.</p>`}
<h2>Host</h2>
${htmlTable(['fact', 'value'], hostRows(summary))}
<h2>Charts</h2>
${htmlFigures(charts)}
<h2>Effective broker settings</h2>
${summary.results.map((r) => `<h3>${escapeHtml(label(r))}</h3>${htmlTable(['node', 'settings'], settingsRows(r))}`).join('\n')}
${allSettings}
<h2>Notes</h2>
<ul>${[...notes, SEED_DIFFERENCE].map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>
<h2>How to read this report</h2>
<ul>${HOW_TO_READ.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`);
}
