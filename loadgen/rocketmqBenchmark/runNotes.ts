// After a profile's results are folded: the benchmark Producer's rows get its own RT numbers
// (no percentiles), and each engine that ran both our driver and the Producer gets the ratio.
import type { ProfileResult } from '../../reports/runData.js';
import { compareDrivers, type DriverComparison } from './comparison.js';

const REFERENCE = 'rocketmq-benchmark';
const OURS = 'remoting';

function mean(values: number[]): number {
  const finite = values.filter(Number.isFinite);
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : Number.NaN;
}

/** Mutates `results`: Producer latency in place of an empty histogram's zeros, and the driver check notes. Returns the checks. */
export function driverComparisonNotes(results: ProfileResult[]): DriverComparison[] {
  for (const result of results.filter((r) => r.load.driver === REFERENCE)) {
    const nan = Number.NaN;
    result.latencyMs = { p50: nan, p90: nan, p99: nan, p999: nan, mean: mean(result.runs.map((r) => r.latencyMs.mean)), max: Math.max(...result.runs.map((r) => r.latencyMs.max)) };
    result.notes.push('Load: RocketMQ\'s benchmark Producer (org.apache.rocketmq.example.benchmark.Producer). TPS and Average/Max RT are its own 10 s lines; it has no percentiles (p50/p99 are empty). The acked count for CPU per message is the topic\'s queue offsets over the window, and the load generator\'s CPU is the Producer JVM\'s.');
  }
  const checks: DriverComparison[] = [];
  for (const reference of results.filter((r) => r.load.driver === REFERENCE)) {
    const ours = results.find((r) => r.load.driver === OURS && r.engine === reference.engine && r.profile === reference.profile && r.variant === reference.variant);
    if (!ours) continue;
    const label = `${reference.profile}${reference.variant ? ` [${reference.variant}]` : ''} on ${reference.engine}`;
    const check = compareDrivers(label, { tps: ours.tps.mean, loadgenUsPerMsg: ours.cpu?.loadgenUsPerMsg ?? null }, { tps: reference.tps.mean, loadgenUsPerMsg: reference.cpu?.loadgenUsPerMsg ?? null });
    ours.notes.push(check.line);
    reference.notes.push(check.line);
    checks.push(check);
  }
  return checks;
}
