// The `bench tune sweep` report: sweep.md, a self-contained sweep.html, sweep.csv and two PNG
// charts (mean TPS and mean p99 per combination, one line per value of the first parameter).
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { render } from './charts.js';
import { escapeHtml, htmlFigures, htmlPage, htmlTable, mdTable } from './renderReport.js';

export interface SweepReportPoint {
  label: string;
  settings: Record<string, string>;
  runs: Array<{ tps: number; latencyMsP50: number; latencyMsP99: number; reportDir?: string | null }>;
  tpsMean: number;
  p50MsMean: number;
  p99MsMean: number;
  tpsSpreadPercent: number | null;
}

export interface SweepReportData {
  command: string;
  profile: string;
  original: Record<string, string>;
  points: SweepReportPoint[];
  verdict: string;
}

const HEADER = ['settings', 'runs', 'mean TPS', 'TPS spread %', 'mean p50 ms', 'mean p99 ms', 'reports'];

function rows(data: SweepReportData): string[][] {
  return data.points.map((p) => [
    p.label, String(p.runs.length), p.tpsMean.toFixed(0), p.tpsSpreadPercent === null ? '—' : p.tpsSpreadPercent.toFixed(1),
    p.p50MsMean.toFixed(2), p.p99MsMean.toFixed(2), p.runs.map((r) => r.reportDir ?? '').filter(Boolean).map((d) => path.basename(d)).join(' ') || '—',
  ]);
}

function chart(data: SweepReportData, metric: 'tpsMean' | 'p99MsMean', title: string, yTitle: string): Buffer {
  return render({
    type: 'line',
    data: {
      labels: data.points.map((p) => p.label),
      datasets: [{ label: title, data: data.points.map((p) => p[metric]), borderColor: metric === 'tpsMean' ? '#1f77b4' : '#d62728', backgroundColor: metric === 'tpsMean' ? '#1f77b4' : '#d62728', pointRadius: 6 }],
    },
    options: {
      plugins: { title: { display: true, text: `${data.profile}: ${title}`, font: { size: 18 } }, legend: { display: true, position: 'top' } },
      scales: { x: { title: { display: true, text: 'vm settings' } }, y: { beginAtZero: true, title: { display: true, text: yTitle } } },
    },
  });
}

/** Writes every file into `dir`; returns their names. */
export function writeSweepReport(dir: string, data: SweepReportData): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const charts = [
    { file: 'sweep-tps.png', caption: 'Mean TPS per combination', png: chart(data, 'tpsMean', 'mean TPS per setting', 'acknowledged messages / s') },
    { file: 'sweep-p99.png', caption: 'Mean p99 latency per combination', png: chart(data, 'p99MsMean', 'mean p99 latency per setting', 'p99 latency (ms)') },
  ];
  for (const c of charts) fs.writeFileSync(path.join(dir, c.file), c.png);
  const original = Object.entries(data.original).map(([k, v]) => `${k}=${v}`).join(', ');
  const csvRows = data.points.flatMap((p) => p.runs.map((r, i) => [...Object.values(p.settings), i + 1, r.tps.toFixed(1), r.latencyMsP50.toFixed(3), r.latencyMsP99.toFixed(3), r.reportDir ?? '']));
  fs.writeFileSync(path.join(dir, 'sweep.csv'), stringify(csvRows, { header: true, columns: [...Object.keys(data.points[0]?.settings ?? {}), 'run', 'tps', 'latencyMsP50', 'latencyMsP99', 'reportDir'] }));
  fs.writeFileSync(path.join(dir, 'sweep.md'), [
    '# flushbench vm settings sweep', '', `${data.command}`, '', `Profile: ${data.profile}. This host's values before (restored after): ${original}.`, '',
    `**Verdict on the seed's advice:** ${data.verdict}`, '', mdTable(HEADER, rows(data)), '', ...charts.map((c) => `![${c.caption}](${c.file})`), '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'sweep.html'), htmlPage('flushbench sweep', `<h1>flushbench vm settings sweep</h1><p><code>${escapeHtml(data.command)}</code></p>
<p>Profile: ${escapeHtml(data.profile)}. This host's values before (restored after): ${escapeHtml(original)}.</p>
<p><strong>Verdict on the seed's advice:</strong> ${escapeHtml(data.verdict)}</p>
${htmlTable(HEADER, rows(data))}
${htmlFigures(charts)}`));
  return ['sweep.md', 'sweep.html', 'sweep.csv', ...charts.map((c) => c.file)];
}
