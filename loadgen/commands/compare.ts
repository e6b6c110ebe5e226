// `bench compare REPORT…`: two or more runs (e.g. an SSD host and an HDD host) side by side.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { compareCharts } from '../../reports/compareCharts.js';
import {
  compareReports, type ComparedReport, type DiskKind, diskKindOf, renderCompareCsv, renderCompareHtml, renderCompareMarkdown,
} from '../../reports/compareReports.js';
import { type Summary, validateSummary } from '../../reports/summary.js';

export function loadSummary(dir: string): Summary {
  const file = fs.existsSync(path.join(dir, 'summary.json')) ? path.join(dir, 'summary.json') : dir;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file} is not a readable flushbench report (${(error as Error).message})`);
  }
  try {
    return validateSummary(raw);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}

function parseList(value: string | undefined, count: number, name: string): string[] | null {
  if (value === undefined) return null;
  const items = value.split(',').map((s) => s.trim());
  if (items.length !== count) throw new Error(`${name} lists ${items.length} values for ${count} reports`);
  return items;
}

export interface CompareOptions {
  out?: string;
  labels?: string;
  disks?: string;
  force?: boolean;
}

/** Builds the comparison, writes compare.md/html/csv and the charts when `out` is set, returns the Markdown. */
export function runCompare(reportPaths: string[], o: CompareOptions): string {
  if (reportPaths.length < 2) throw new Error('bench compare needs at least two reports');
  const labels = parseList(o.labels, reportPaths.length, '--labels');
  const disks = parseList(o.disks, reportPaths.length, '--disks');
  for (const d of disks ?? []) if (!['ssd', 'hdd', 'unknown'].includes(d)) throw new Error(`--disks: "${d}" is not ssd, hdd or unknown`);
  const reports: ComparedReport[] = reportPaths.map((p, i) => {
    const summary = loadSummary(p);
    return { label: labels?.[i] ?? path.basename(path.resolve(p).replace(/\/summary\.json$/, '')), summary, diskKind: (disks?.[i] as DiskKind | undefined) ?? diskKindOf(summary) };
  });
  const comparison = compareReports(reports);
  if (comparison.loadDifferences.length > 0 && !o.force) {
    throw new Error(`the reports ran different loads, so their numbers do not compare (pass --force to compare anyway):\n  ${comparison.loadDifferences.join('\n  ')}`);
  }
  const charts = o.out ? compareCharts(comparison) : [];
  const markdown = renderCompareMarkdown(comparison, charts);
  if (o.out) {
    fs.mkdirSync(o.out, { recursive: true });
    for (const chart of charts) fs.writeFileSync(path.join(o.out, chart.file), chart.png);
    fs.writeFileSync(path.join(o.out, 'compare.md'), markdown);
    fs.writeFileSync(path.join(o.out, 'compare.html'), renderCompareHtml(comparison, charts));
    fs.writeFileSync(path.join(o.out, 'compare.csv'), renderCompareCsv(comparison));
  }
  return markdown;
}

export function register(program: Command): void {
  program
    .command('compare')
    .description('compare two or more reports side by side (e.g. SSD host vs HDD host, or the real disk vs --disk hdd)')
    .argument('<reports...>', 'report directories (or their summary.json), the first is the reference for ratios')
    .option('--out <dir>', 'write compare.md, compare.html (self-contained), compare.csv and PNG charts here')
    .option('--labels <a,b,…>', 'a name per report (default: the directory name)')
    .option('--disks <ssd,hdd,…>', 'the disk kind per report when the host facts cannot tell (virtio always says rotational)')
    .option('--force', 'compare even when the reports ran different loads')
    .action((reportPaths: string[], o: CompareOptions) => {
      process.stdout.write(runCompare(reportPaths, o));
      if (o.out) process.stderr.write(`comparison written to ${path.resolve(o.out)}/compare.html\n`);
    });
}
