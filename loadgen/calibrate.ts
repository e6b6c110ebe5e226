// The harness's own ceiling: the same load against a broker that acks every send without
// storing it (ackWithoutStore=true). A profile whose TPS comes close to this number measured
// the harness and this host's CPU, not the disk.
import type { LoadSettings } from '../reports/runData.js';
import type { Profile } from './profile.js';
import { runProfileVariant, type RunOptions } from './runProfile.js';

const CALIBRATION_DURATION_S = 8;

export function calibrationProfile(load: LoadSettings): Profile {
  return {
    name: 'calibrate',
    description: 'ack-without-store broker: the load generator and remoting path alone',
    claim: { text: 'harness ceiling (no claim)', tpsMin: null, tpsMax: null, latencyMsMax: null, source: 'flushbench' },
    nodes: [{ name: 'broker-calibrate', role: 'master', brokerName: 'broker-calibrate', properties: { ackWithoutStore: 'true', flushDiskType: 'ASYNC_FLUSH' } }],
    load: { ...load, warmupS: Math.min(load.warmupS, 2), durationS: Math.min(load.durationS, CALIBRATION_DURATION_S) },
    variants: [],
    source: 'built-in',
  };
}

/**
 * Acks/s against the ack-without-store broker: the best of `options.repeat` runs. A ceiling is
 * a capacity, and noise on a shared host (other tenants, CPU steal) only ever pushes a run
 * below it; on the 2-core dev VM single runs spread from 172k to 205k.
 */
export async function calibrate(load: LoadSettings, options: RunOptions): Promise<number> {
  const result = await runProfileVariant(calibrationProfile(load), null, { ...options, repeat: Math.max(1, options.repeat), harnessCeilingTps: null });
  return Math.max(...result.runs.map((run) => run.tps));
}
