// Writes one run's report directory: summary.json, per profile/variant timeseries-*.csv,
// latency-*.csv and latency-*.hgrm, PNG charts, report.md and a self-contained report.html.
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { claimsChart, fsyncChart, labelOf, latencyChart, latencyDistributionChart, tpsChart } from './charts.js';
import { renderHtml, renderMarkdown, type ChartFile } from './renderReport.js';
import type { ProfileResult, RunData } from './runData.js';
import { type Summary, summaryFromRunData } from './summary.js';
import { collectSafetyEvidence } from './safetyEvidence.js';

export const TIMESERIES_COLUMNS = [
  'second', 'run', 'tps', 'sendOkPerSecond', 'failures', 'latencyMsP50', 'latencyMsP99', 'latencyMsMax',
  'flushBehindBytes', 'fsyncsPerSecond', 'messagesPerFsync', 'slaveLagBytes', 'replicationLatencyMsP99',
] as const;

export function slugOf(result: ProfileResult): string {
  const engine = result.engine && result.engine !== 'flushbench' ? `-${result.engine}` : '';
  return `${result.profile}${result.variant ? `-${result.variant}` : ''}${engine}`.replace(/[^\w.-]+/g, '_');
}

function timeseriesCsv(result: ProfileResult): string {
  const rows = result.runs.flatMap((run) => run.timeseries.map((p) => TIMESERIES_COLUMNS.map((column) => (column === 'run' ? run.run : p[column] ?? ''))));
  return stringify(rows, { header: true, columns: [...TIMESERIES_COLUMNS] });
}

function latencyCsv(result: ProfileResult): string {
  const h = result.histogram;
  const percentiles = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100];
  const rows = percentiles.map((p) => [p, h.totalCount ? h.getValueAtPercentile(p) / 1000 : 0, Math.round((h.totalCount * p) / 100)]);
  return stringify(rows, { header: true, columns: ['percentile', 'latencyMs', 'count'] });
}

/** Renders every file; returns the summary that was written. */
export async function writeReport(runDir: string, data: RunData): Promise<Summary> {
  fs.mkdirSync(runDir, { recursive: true });
  const summary = summaryFromRunData(data);
  summary.safety = collectSafetyEvidence(path.dirname(path.resolve(runDir)));
  fs.writeFileSync(path.join(runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const charts: ChartFile[] = [];
  const addChart = (file: string, caption: string, png: Buffer) => {
    fs.writeFileSync(path.join(runDir, file), png);
    charts.push({ file, caption, png });
  };
  if (data.results.length > 0) {
    addChart('claims.png', 'Measured mean TPS against the claimed range', claimsChart(data.results));
    addChart('latency-distribution.png', 'Latency by percentile', latencyDistributionChart(data.results));
    addChart('fsync.png', 'Messages per fsync and fsyncs per second', fsyncChart(data.results));
  }
  for (const result of data.results) {
    const slug = slugOf(result);
    fs.writeFileSync(path.join(runDir, `timeseries-${slug}.csv`), timeseriesCsv(result));
    fs.writeFileSync(path.join(runDir, `latency-${slug}.csv`), latencyCsv(result));
    fs.writeFileSync(path.join(runDir, `latency-${slug}.hgrm`), result.histogram.outputPercentileDistribution(5, 1000));
    addChart(`tps-${slug}.png`, `Throughput over time — ${labelOf(result)}`, tpsChart(result));
    addChart(`latency-${slug}.png`, `Latency over time — ${labelOf(result)}`, latencyChart(result));
  }
  fs.writeFileSync(path.join(runDir, 'report.md'), renderMarkdown(summary, charts));
  fs.writeFileSync(path.join(runDir, 'report.html'), renderHtml(summary, charts));
  return summary;
}
