// Folds the repeats of one profile (or sweep variant) into the ProfileResult the report shows:
// merged histogram, TPS spread, status totals, the verdict and the remarks the report must make.
import { latencySummary, newLatencyHistogram } from './histogram.js';
import type { Claim, LoadSettings, ProfileResult, RunResult } from './runData.js';
import { foldCpu, stealWarning } from './cpuAccount.js';
import { verdictOf } from './verdict.js';

/** What the report needs to know about the profile that was run. */
export interface MeasuredProfile {
  name: string;
  variant: string | null;
  description: string;
  claim: Claim;
  load: LoadSettings;
  /** Which broker ran it; default flushbench. */
  engine?: string;
}

export const DEFAULT_ENGINE = 'flushbench';

/** Apache RocketMQ has no metrics endpoint: say which columns are empty and why. */
export function engineNotes(engine: string): string[] {
  if (engine === DEFAULT_ENGINE) return [];
  const what = engine === 'remote' ? 'a remote cluster (--namesrv)' : `Apache RocketMQ (${engine})`;
  return [`${what}: broker-side metrics (fsyncs, messages per fsync, flush-behind bytes, slave lag, replication latency) come from flushbench's metrics endpoint only and are empty for it; producer-side numbers and CPU per message are measured the same way for every engine${engine === 'remote' ? ' (broker CPU only for processes bench run started)' : ''}.`];
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** Remarks about statuses and settings that the numbers alone would hide. */
export function runNotes(statusCounts: Record<string, number>, effectiveSettings: Record<string, Record<string, string>>): string[] {
  const notes: string[] = [];
  if ((statusCounts.FLUSH_SLAVE_TIMEOUT ?? 0) + (statusCounts.SLAVE_NOT_AVAILABLE ?? 0) > 0) {
    notes.push('Some sends were answered FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE. The seed says a sync-replication timeout still returns success; real RocketMQ returns these statuses (the Java client reports them as a SendResult status, not SEND_OK). They are counted in TPS like RocketMQ\'s benchmark does, and listed in the status columns.');
  }
  for (const [node, settings] of Object.entries(effectiveSettings)) {
    if (settings.transientStorePoolEnable === 'true' && settings.transientStorePoolActive === 'false') {
      notes.push(`${node}: transientStorePoolEnable=true was NOT in effect (RocketMQ uses the pool only with ASYNC_FLUSH on a master).`);
    }
  }
  return notes;
}

export function foldRuns(profile: MeasuredProfile, runs: RunResult[], effectiveSettings: Record<string, Record<string, string>>, harnessCeilingTps: number | null): ProfileResult {
  const histogram = newLatencyHistogram();
  for (const run of runs) histogram.add(run.histogram);
  const perSecond = runs.flatMap((r) => r.timeseries.map((p) => p.tps)).sort((a, b) => a - b);
  const tpsValues = runs.map((r) => r.tps);
  const tpsMean = tpsValues.reduce((a, b) => a + b, 0) / tpsValues.length;
  const perSecondMean = mean(perSecond);
  const stddev = Math.sqrt(perSecond.reduce((a, b) => a + (b - perSecondMean) ** 2, 0) / Math.max(1, perSecond.length));
  const statusCounts: Record<string, number> = {};
  for (const run of runs) for (const [k, v] of Object.entries(run.statusCounts)) statusCounts[k] = (statusCounts[k] ?? 0) + v;
  const { verdict, confidence } = verdictOf(profile.claim, tpsValues);
  const cpu = foldCpu(runs.map((r) => r.cpu));
  const engineSuffix = profile.engine && profile.engine !== DEFAULT_ENGINE ? ` (${profile.engine})` : '';
  const steal = stealWarning(`${profile.variant ? `${profile.name} [${profile.variant}]` : profile.name}${engineSuffix}`, cpu);
  return {
    profile: profile.name,
    variant: profile.variant,
    engine: profile.engine ?? DEFAULT_ENGINE,
    description: profile.description,
    claim: profile.claim,
    load: profile.load,
    runs,
    histogram,
    tps: {
      mean: tpsMean,
      p50PerSecond: perSecond.length ? perSecond[Math.floor(perSecond.length / 2)] : 0,
      stddevPerSecond: stddev,
      min: Math.min(...tpsValues),
      max: Math.max(...tpsValues),
      spreadPercent: tpsMean > 0 ? ((Math.max(...tpsValues) - Math.min(...tpsValues)) / 2 / tpsMean) * 100 : 0,
    },
    latencyMs: latencySummary(histogram),
    sent: runs.reduce((a, r) => a + r.sent, 0),
    ok: runs.reduce((a, r) => a + r.ok, 0),
    statusCounts,
    verdict,
    verdictConfidence: confidence,
    harnessCeilingTps,
    effectiveSettings,
    notes: [...runNotes(statusCounts, effectiveSettings), ...engineNotes(profile.engine ?? DEFAULT_ENGINE), ...(steal ? [steal] : [])],
    cpu,
  };
}
