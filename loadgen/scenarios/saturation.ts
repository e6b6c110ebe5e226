// Saturation: many closed-loop producers on single-sync-flush until the broker sheds load. Counts
// SYSTEM_BUSY (by remark: [REJECTREQUEST] / [OVERLOAD] / [PCBUSY_CLEAN_QUEUE] / [TIMEOUT_CLEAN_QUEUE])
// and OS_PAGECACHE_BUSY, and the latency of what was acked.
import type { EngineCluster } from '../clusterLauncher.js';
import { SUCCESS_STATUSES } from '../ackRecorder.js';
import type { SaturationResult } from '../../reports/scenarioData.js';
import { countStatuses, distributionOf, sleep, startScenarioLoad } from './scenarioLoad.js';

export interface SaturationOptions {
  producers: number;
  warmupMs: number;
  durationMs: number;
  sendTimeoutMs: number;
}

const share = (part: number, all: number) => (all ? Math.round((10_000 * part) / all) / 10_000 : 0);

export async function runSaturation(cluster: EngineCluster, o: SaturationOptions): Promise<SaturationResult> {
  const load = await startScenarioLoad({
    namesrvAddress: cluster.namesrvAddress, topic: 'ScenarioSaturation', queues: 8, producers: o.producers, rate: null, sizeBytes: 128, sendTimeoutMs: o.sendTimeoutMs,
  });
  let from = 0;
  let to = 0;
  try {
    await sleep(o.warmupMs);
    from = Date.now();
    await sleep(o.durationMs);
    to = Date.now();
  } finally {
    await load.stop();
  }
  const window = load.recorder.events.filter((e) => e.sentAtMs >= from && e.sentAtMs < to);
  const statuses = countStatuses(window);
  const busyReasons: Record<string, number> = {};
  for (const e of window) if (e.reason) busyReasons[e.reason] = (busyReasons[e.reason] ?? 0) + 1;
  const acked = window.filter((e) => SUCCESS_STATUSES.has(e.status));
  const refused = window.filter((e) => e.status === 'SYSTEM_BUSY' || e.status === 'OS_PAGECACHE_BUSY');
  return {
    producers: o.producers,
    measuredMs: to - from,
    answers: window.length,
    statuses,
    busyReasons,
    systemBusyShare: share(statuses.SYSTEM_BUSY ?? 0, window.length),
    osPageCacheBusyShare: share(statuses.OS_PAGECACHE_BUSY ?? 0, window.length),
    ackedPerSecond: Math.round(acked.length / ((to - from) / 1000)),
    ackedLatencyMs: distributionOf(acked.map((e) => e.answeredAtMs - e.sentAtMs)),
    refusalLatencyMs: distributionOf(refused.map((e) => e.answeredAtMs - e.sentAtMs)),
  };
}
