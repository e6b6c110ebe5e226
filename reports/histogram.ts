// The latency histogram every run records and the report reads: HdrHistogram in µs, 1 µs to
// 120 s at 3 significant digits, and its summary in ms.
import hdr from 'hdr-histogram-js';
import type { LatencySummaryMs } from './runData.js';

export type Histogram = ReturnType<typeof hdr.build>;

/** The slowest latency a histogram tracks: 120 s (in µs), far above any send timeout. */
const LATENCY_US_MAX = 120_000_000;

export function newLatencyHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: LATENCY_US_MAX, numberOfSignificantValueDigits: 3, useWebAssembly: false });
}

/** Percentiles, max and mean in ms of a µs histogram; zeros when it is empty. */
export function latencySummary(h: Histogram): LatencySummaryMs {
  const at = (p: number) => (h.totalCount ? h.getValueAtPercentile(p) / 1000 : 0);
  return { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: h.totalCount ? h.maxValue / 1000 : 0, mean: h.totalCount ? h.mean / 1000 : 0 };
}
