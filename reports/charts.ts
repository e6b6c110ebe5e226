// PNG charts: chart.js drawn on an @napi-rs/canvas (chartjs-node-canvas needs the `canvas`
// package, which does not install here). 1200×600, white background, titles, axis labels
// with units, legends.
import { createCanvas } from '@napi-rs/canvas';
import { Chart, type ChartConfiguration, registerables } from 'chart.js';
import type { ProfileResult } from './runData.js';

Chart.register(...registerables);

export const CHART_WIDTH = 1200;
export const CHART_HEIGHT = 600;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const whiteBackground = {
  id: 'whiteBackground',
  beforeDraw: (chart: Chart) => {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

export function labelOf(result: ProfileResult): string {
  const engine = result.engine && result.engine !== 'flushbench' ? ` (${result.engine})` : '';
  return `${result.variant ? `${result.profile} [${result.variant}]` : result.profile}${engine}`;
}

export function render(config: ChartConfiguration): Buffer {
  const canvas = createCanvas(CHART_WIDTH, CHART_HEIGHT);
  const chart = new Chart(canvas as unknown as HTMLCanvasElement, {
    ...config,
    options: { ...config.options, responsive: false, animation: false, devicePixelRatio: 1 },
    plugins: [...(config.plugins ?? []), whiteBackground],
  });
  const png = canvas.toBuffer('image/png');
  chart.destroy();
  return png;
}

function axes(xTitle: string, yTitle: string, yType: 'linear' | 'logarithmic' = 'linear') {
  return {
    x: { type: 'linear' as const, title: { display: true, text: xTitle } },
    y: { type: yType, title: { display: true, text: yTitle }, beginAtZero: yType === 'linear' },
  };
}

function title(text: string) {
  return { title: { display: true, text, font: { size: 18 } }, legend: { display: true, position: 'top' as const } };
}

/** TPS per second, one line per run. */
export function tpsChart(result: ProfileResult): Buffer {
  return render({
    type: 'line',
    data: {
      datasets: result.runs.map((run, i) => ({
        label: `run ${run.run} (mean ${Math.round(run.tps)} msg/s)`,
        data: run.timeseries.map((p) => ({ x: p.second, y: p.tps })),
        borderColor: COLORS[i % COLORS.length], pointRadius: 0, borderWidth: 2,
      })),
    },
    options: { plugins: title(`Throughput over time — ${labelOf(result)}`), scales: axes('time (s)', 'acknowledged messages per second') },
  });
}

/** p50 / p99 / max latency per second of the first run. */
export function latencyChart(result: ProfileResult): Buffer {
  const points = result.runs[0]?.timeseries ?? [];
  const line = (label: string, pick: (p: (typeof points)[number]) => number, color: string) =>
    ({ label, data: points.map((p) => ({ x: p.second, y: pick(p) })), borderColor: color, pointRadius: 0, borderWidth: 2 });
  return render({
    type: 'line',
    data: { datasets: [line('p50', (p) => p.latencyMsP50, COLORS[0]), line('p99', (p) => p.latencyMsP99, COLORS[3]), line('max', (p) => p.latencyMsMax, COLORS[1])] },
    options: { plugins: title(`Send latency over time — ${labelOf(result)} (run 1)`), scales: axes('time (s)', 'latency (ms)') },
  });
}

/** Latency by percentile on a "nines" axis, one line per profile/variant. */
export function latencyDistributionChart(results: ProfileResult[]): Buffer {
  const percentiles = [0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99];
  return render({
    type: 'line',
    data: {
      datasets: results.map((result, i) => ({
        label: labelOf(result),
        data: percentiles.map((p) => ({ x: 1 / (1 - p / 100), y: result.histogram.totalCount ? result.histogram.getValueAtPercentile(p) / 1000 : 0 })),
        borderColor: COLORS[i % COLORS.length], borderWidth: 2, pointRadius: 3,
      })),
    },
    options: {
      plugins: title('Latency distribution (all measured acks)'),
      scales: {
        x: {
          type: 'logarithmic', title: { display: true, text: 'percentile (1 = p0, 10 = p90, 100 = p99, 1000 = p99.9)' },
          ticks: { callback: (value) => { const v = Number(value); return [1, 2, 10, 100, 1000, 10000].includes(v) ? `p${(100 - 100 / v).toFixed(v >= 1000 ? 1 : 0)}` : ''; } },
        },
        y: { type: 'logarithmic', title: { display: true, text: 'latency (ms, log scale)' } },
      },
    },
  });
}

/** Measured mean TPS per profile against the claimed range. */
export function claimsChart(results: ProfileResult[]): Buffer {
  const labels = results.map(labelOf);
  return render({
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: 'claimed range (seed article)', data: results.map((r) => (r.claim.tpsMin === null ? null : [r.claim.tpsMin, r.claim.tpsMax ?? r.claim.tpsMin])) as unknown as number[], backgroundColor: 'rgba(255,127,14,0.45)', borderColor: '#ff7f0e', borderWidth: 1 },
        { label: 'measured mean TPS', data: results.map((r) => Math.round(r.tps.mean)), backgroundColor: 'rgba(31,119,180,0.8)' },
        { label: 'harness ceiling', data: results.map((r) => r.harnessCeilingTps ?? null) as number[], type: 'line', borderColor: '#7f7f7f', backgroundColor: '#7f7f7f', borderDash: [6, 4], pointRadius: 6, pointStyle: 'line', fill: false } as never,
      ],
    },
    options: {
      plugins: title('Measured throughput vs the claimed range'),
      scales: { x: { title: { display: true, text: 'profile' } }, y: { beginAtZero: true, title: { display: true, text: 'messages per second' } } },
    },
  });
}

/** Messages per fsync and fsyncs per second per profile (broker metrics). */
export function fsyncChart(results: ProfileResult[]): Buffer {
  const mean = (values: Array<number | null>) => {
    const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
    return present.length ? present.reduce((a, b) => a + b, 0) / present.length : 0;
  };
  return render({
    type: 'bar',
    data: {
      labels: results.map(labelOf),
      datasets: [
        { label: 'messages per fsync', data: results.map((r) => mean(r.runs.flatMap((run) => run.timeseries.map((p) => p.messagesPerFsync)))), backgroundColor: COLORS[2], yAxisID: 'y' },
        { label: 'fsyncs per second', data: results.map((r) => mean(r.runs.flatMap((run) => run.timeseries.map((p) => p.fsyncsPerSecond)))), backgroundColor: COLORS[4], yAxisID: 'y1' },
      ],
    },
    options: {
      plugins: title('CommitLog fsyncs on the master (group commit batches)'),
      scales: {
        x: { title: { display: true, text: 'profile' } },
        y: { type: 'logarithmic', min: 1, position: 'left', title: { display: true, text: 'messages per fsync (log)' } },
        y1: { type: 'logarithmic', min: 1, position: 'right', title: { display: true, text: 'fsyncs per second (log)' }, grid: { drawOnChartArea: false } },
      },
    },
  });
}
