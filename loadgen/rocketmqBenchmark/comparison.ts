// Our load generator against RocketMQ's benchmark Producer on the same cluster type and load
// shape (issue #12): the two should agree within ±15 % TPS. The ratio is ours ÷ reference.

export const DRIVER_TOLERANCE = 0.15;

export interface DriverSide {
  tps: number;
  /** The load generator's CPU per acked message (µs), or null off Linux. */
  loadgenUsPerMsg: number | null;
}

export interface DriverComparison {
  ratio: number | null;
  withinTolerance: boolean | null;
  line: string;
}

const us = (value: number | null) => (value === null ? '—' : `${value.toFixed(1)} µs/msg`);

export function compareDrivers(label: string, ours: DriverSide, reference: DriverSide): DriverComparison {
  const ratio = reference.tps > 0 ? ours.tps / reference.tps : null;
  const withinTolerance = ratio === null ? null : Math.abs(ratio - 1) <= DRIVER_TOLERANCE + 1e-9;
  const verdict = withinTolerance === null ? 'no ratio (the benchmark Producer acked nothing)' : withinTolerance ? `within ±${DRIVER_TOLERANCE * 100} %` : `OUTSIDE ±${DRIVER_TOLERANCE * 100} %`;
  const line = `Driver check ${label}: our load generator ${Math.round(ours.tps)} TPS (loadgen CPU ${us(ours.loadgenUsPerMsg)}) vs RocketMQ's benchmark Producer ${Math.round(reference.tps)} TPS (JVM CPU ${us(reference.loadgenUsPerMsg)}); ratio ours ÷ reference ${ratio === null ? '—' : ratio.toFixed(3)}: ${verdict}. The benchmark Producer reports only Average RT and all-time Max RT, no percentiles.`;
  return { ratio, withinTolerance, line };
}
