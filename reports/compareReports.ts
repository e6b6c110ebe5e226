// `bench compare REPORT…`: two or more runs (e.g. an SSD host and an HDD host, or the real disk
// and `--disk hdd`) side by side: per profile TPS, p50/p99, verdict and the ratio to the first
// report; host facts side by side; the seed's "SSD is 10× faster than HDD" judged per profile.
import { stringify } from 'csv-stringify/sync';
import { escapeHtml, htmlFigures, htmlPage, htmlTable, mdTable } from './renderReport.js';
import type { Summary, SummaryResult } from './summary.js';

/** The seed's claim: SSD is "10×" faster than HDD. */
export const SSD_OVER_HDD_CLAIM = 10;

export type DiskKind = 'ssd' | 'hdd' | 'unknown';

export interface ComparedReport {
  label: string;
  summary: Summary;
  diskKind: DiskKind;
}

export interface CompareRow {
  profile: string;
  /** One cell per report, null where the report lacks the profile. */
  cells: Array<{ tps: number; p50Ms: number; p99Ms: number; verdict: string; ratioToFirst: number | null } | null>;
}

export interface SsdHddVerdict {
  profile: string;
  ssdTps: number;
  hddTps: number;
  ratio: number;
  holds: boolean;
}

export interface Comparison {
  reports: ComparedReport[];
  rows: CompareRow[];
  ssdOverHdd: SsdHddVerdict[];
  loadDifferences: string[];
}

/** Profile, variant and engine: a RocketMQ row never compares against a flushbench row. */
export function profileKey(r: SummaryResult): string {
  const engine = r.engine && r.engine !== 'flushbench' ? ` (${r.engine})` : '';
  return `${r.variant ? `${r.profile} [${r.variant}]` : r.profile}${engine}`;
}

/**
 * What kind of disk a report measured: an emulated HDD says so; otherwise the rotational
 * flag, except on virtio, which reports rotational=1 whatever backs it.
 */
export function diskKindOf(summary: Summary): DiskKind {
  const host = summary.host as Summary['host'] & { diskEmulation?: { kind?: string } | null };
  if (host.diskEmulation?.kind === 'hdd') return 'hdd';
  if (host.rotational === null || (host.diskModel ?? '').includes('virtio')) return host.diskEmulation ? 'ssd' : 'unknown';
  return host.rotational ? 'hdd' : 'ssd';
}

const LOAD_KEYS = ['driver', 'producers', 'sizeBytes', 'batch', 'queues', 'rate', 'durationS'] as const;

/** Loads that differ between reports for the same profile: such numbers do not compare. */
export function loadDifferences(reports: ComparedReport[]): string[] {
  const out: string[] = [];
  const first = reports[0];
  for (const other of reports.slice(1)) {
    for (const a of first.summary.results) {
      const b = other.summary.results.find((r) => profileKey(r) === profileKey(a));
      if (!b) continue;
      for (const key of LOAD_KEYS) {
        if (a.load?.[key] !== b.load?.[key]) out.push(`${profileKey(a)}: ${key} is ${String(a.load?.[key])} in ${first.label} but ${String(b.load?.[key])} in ${other.label}`);
      }
    }
  }
  return out;
}

export function compareReports(reports: ComparedReport[]): Comparison {
  if (reports.length < 2) throw new Error(`compare needs at least two reports, got ${reports.length}`);
  const profiles: string[] = [];
  for (const { summary } of reports) for (const r of summary.results) if (!profiles.includes(profileKey(r))) profiles.push(profileKey(r));
  const rows: CompareRow[] = profiles.map((profile) => {
    const firstTps = reports[0].summary.results.find((r) => profileKey(r) === profile)?.tps.mean ?? null;
    return {
      profile,
      cells: reports.map(({ summary }) => {
        const r = summary.results.find((x) => profileKey(x) === profile);
        if (!r) return null;
        return { tps: r.tps.mean, p50Ms: r.latencyMs.p50, p99Ms: r.latencyMs.p99, verdict: r.verdict ?? 'n/a', ratioToFirst: firstTps ? r.tps.mean / firstTps : null };
      }),
    };
  });
  const ssd = reports.find((r) => r.diskKind === 'ssd');
  const hdd = reports.find((r) => r.diskKind === 'hdd');
  const ssdOverHdd: SsdHddVerdict[] = [];
  if (ssd && hdd) {
    for (const profile of profiles) {
      const s = ssd.summary.results.find((r) => profileKey(r) === profile);
      const h = hdd.summary.results.find((r) => profileKey(r) === profile);
      if (!s || !h || h.tps.mean <= 0) continue;
      const ratio = s.tps.mean / h.tps.mean;
      ssdOverHdd.push({ profile, ssdTps: s.tps.mean, hddTps: h.tps.mean, ratio, holds: ratio >= SSD_OVER_HDD_CLAIM });
    }
  }
  return { reports, rows, ssdOverHdd, loadDifferences: loadDifferences(reports) };
}

const round = (n: number) => String(Math.round(n));
const fixed = (n: number, digits = 2) => n.toFixed(digits);

function profileRows(c: Comparison): string[][] {
  return c.rows.flatMap((row) => row.cells.map((cell, i) => [
    row.profile, c.reports[i].label, cell ? round(cell.tps) : '—', cell ? fixed(cell.p50Ms) : '—', cell ? fixed(cell.p99Ms) : '—',
    cell?.verdict ?? '—', cell?.ratioToFirst == null ? '—' : fixed(cell.ratioToFirst),
  ]));
}

const PROFILE_HEADER = ['profile', 'report', 'TPS', 'p50 ms', 'p99 ms', 'verdict', 'TPS ÷ first report'];
const HOST_HEADER = ['fact'];

function hostRows(c: Comparison): string[][] {
  const facts: Array<[string, (s: Summary, r: ComparedReport) => string]> = [
    ['disk kind', (_s, r) => r.diskKind],
    ['host', (s) => `${s.host.hostname} (${s.host.cpuCount} CPU)`],
    ['run', (s) => s.startedAt],
    ['device', (s) => `${s.host.device ?? '?'} ${s.host.diskModel ?? ''}`.trim()],
    ['rotational', (s) => String(s.host.rotational ?? '?')],
    ['scheduler / write cache', (s) => `${s.host.scheduler ?? '?'} / ${s.host.writeCache ?? '?'}`],
    ['file system', (s) => `${s.host.fileSystem ?? '?'} (${s.host.mountOptions ?? '?'})`],
    ['fdatasync/s (1 writer, 4 KiB)', (s) => (s.host.fsyncProbe ? round(s.host.fsyncProbe.fdatasyncPerSecond) : 'not measured')],
    ['vm.dirty_ratio / background', (s) => `${s.host.vm?.dirty_ratio ?? '?'} / ${s.host.vm?.dirty_background_ratio ?? '?'}`],
  ];
  return facts.map(([name, get]) => [name, ...c.reports.map((r) => get(r.summary, r))]);
}

function ssdRows(c: Comparison): string[][] {
  return c.ssdOverHdd.map((v) => [v.profile, round(v.ssdTps), round(v.hddTps), `${fixed(v.ratio, 1)}×`, v.holds ? 'holds' : 'does not hold']);
}

const SSD_HEADER = ['profile', 'SSD TPS', 'HDD TPS', 'SSD ÷ HDD', `"SSD is ${SSD_OVER_HDD_CLAIM}× faster"`];

function ssdNote(c: Comparison): string {
  if (c.ssdOverHdd.length > 0) return '';
  return 'The seed\'s "SSD is 10× faster than HDD" needs one SSD and one HDD report (the virtio rotational flag is not meaningful; `bench run --disk hdd` marks an emulated HDD).';
}

export function renderCompareMarkdown(c: Comparison, chartFiles: Array<{ file: string; caption: string }>): string {
  return [
    '# flushbench comparison', '',
    ...c.reports.map((r, i) => `${i + 1}. **${r.label}** — ${r.summary.command} (${r.summary.startedAt})`), '',
    c.loadDifferences.length ? `> **Loads differ** (compared with --force):\n${c.loadDifferences.map((d) => `> - ${d}`).join('\n')}\n` : '',
    '## Profiles', '', mdTable(PROFILE_HEADER, profileRows(c)), '',
    '## SSD vs HDD', '', c.ssdOverHdd.length ? mdTable(SSD_HEADER, ssdRows(c)) : ssdNote(c), '',
    '## Hosts', '', mdTable([...HOST_HEADER, ...c.reports.map((r) => r.label)], hostRows(c)), '',
    '## Charts', '', ...chartFiles.map((f) => `![${f.caption}](${f.file})`), '',
  ].join('\n');
}

export function renderCompareHtml(c: Comparison, charts: Array<{ png: Buffer; caption: string }>): string {
  return htmlPage('flushbench comparison', `<h1>flushbench comparison</h1>
<ol>${c.reports.map((r) => `<li><b>${escapeHtml(r.label)}</b> — <code>${escapeHtml(r.summary.command)}</code> (${escapeHtml(r.summary.startedAt)})</li>`).join('')}</ol>
${c.loadDifferences.length ? `<div class="warn">Loads differ (compared with --force):<ul>${c.loadDifferences.map((d) => `<li>${escapeHtml(d)}</li>`).join('')}</ul></div>` : ''}
<h2>Profiles</h2>
${htmlTable(PROFILE_HEADER, profileRows(c))}
<h2>SSD vs HDD</h2>
${c.ssdOverHdd.length ? htmlTable(SSD_HEADER, ssdRows(c)) : `<p>${escapeHtml(ssdNote(c))}</p>`}
<h2>Hosts</h2>
${htmlTable([...HOST_HEADER, ...c.reports.map((r) => r.label)], hostRows(c))}
<h2>Charts</h2>
${htmlFigures(charts)}`);
}

export function renderCompareCsv(c: Comparison): string {
  const rows = c.rows.flatMap((row) => row.cells.flatMap((cell, i) => (cell ? [{
    profile: row.profile, report: c.reports[i].label, diskKind: c.reports[i].diskKind, tps: cell.tps.toFixed(1), p50Ms: cell.p50Ms.toFixed(3),
    p99Ms: cell.p99Ms.toFixed(3), verdict: cell.verdict, ratioToFirst: cell.ratioToFirst?.toFixed(4) ?? '',
  }] : [])));
  return stringify(rows, { header: true, columns: ['profile', 'report', 'diskKind', 'tps', 'p50Ms', 'p99Ms', 'verdict', 'ratioToFirst'] });
}
