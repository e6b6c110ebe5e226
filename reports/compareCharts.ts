// Overlay charts for `bench compare`: TPS per profile with one bar per report, and per profile
// the latency distribution (p50 … max) with one line per report.
import { render } from './charts.js';
import type { Comparison } from './compareReports.js';
import { profileKey } from './compareReports.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const PERCENTILES = [['p50', 'p50'], ['p90', 'p90'], ['p99', 'p99'], ['p99.9', 'p999'], ['max', 'max']] as const;
/** More profiles than this and the per-profile latency charts stop (the table has them all). */
const LATENCY_CHARTS_MAX = 12;

export interface CompareChart {
  file: string;
  caption: string;
  png: Buffer;
}

function tpsChart(c: Comparison): CompareChart {
  const png = render({
    type: 'bar',
    data: {
      labels: c.rows.map((r) => r.profile),
      datasets: c.reports.map((report, i) => ({ label: `${report.label} (${report.diskKind})`, data: c.rows.map((r) => r.cells[i]?.tps ?? null), backgroundColor: COLORS[i % COLORS.length] })),
    },
    options: {
      plugins: { title: { display: true, text: 'Mean TPS per profile, one bar per report', font: { size: 18 } }, legend: { display: true, position: 'top' } },
      scales: { x: { title: { display: true, text: 'profile' } }, y: { beginAtZero: true, title: { display: true, text: 'acknowledged messages / s' } } },
    },
  });
  return { file: 'compare-tps.png', caption: 'Mean TPS per profile, one bar per report', png };
}

function latencyChart(c: Comparison, profile: string, index: number): CompareChart {
  const png = render({
    type: 'line',
    data: {
      labels: PERCENTILES.map(([label]) => label),
      datasets: c.reports.flatMap((report, i) => {
        const r = report.summary.results.find((x) => profileKey(x) === profile);
        return r ? [{ label: `${report.label} (${report.diskKind})`, data: PERCENTILES.map(([, key]) => r.latencyMs[key]), borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length] }] : [];
      }),
    },
    options: {
      plugins: { title: { display: true, text: `${profile}: send latency distribution per report`, font: { size: 18 } }, legend: { display: true, position: 'top' } },
      scales: { x: { title: { display: true, text: 'percentile' } }, y: { type: 'logarithmic', title: { display: true, text: 'latency (ms, log scale)' } } },
    },
  });
  return { file: `compare-latency-${index + 1}.png`, caption: `${profile}: latency percentiles per report`, png };
}

export function compareCharts(c: Comparison): CompareChart[] {
  return [tpsChart(c), ...c.rows.slice(0, LATENCY_CHARTS_MAX).map((row, i) => latencyChart(c, row.profile, i))];
}
