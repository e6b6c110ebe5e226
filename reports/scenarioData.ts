// What `bench scenario` hands to its report (scenario.json): the failure and overload
// scenarios' results per engine. The shapes live here, beside runData.ts, so reports/ never
// imports loadgen/ (loadgen fills them, reports renders them).

export interface Distribution { n: number; min: number; p50: number; p90: number; p99: number; max: number; mean: number }

/** Counts per bin [lowerMs, lowerMs + widthMs); values beyond the last bin land in it. */
export interface HistogramBin { lowerMs: number; count: number }

export interface AsyncLagRate {
  rate: number;
  ackedPerSecond: number;
  /** CommitLog bytes per second on the master in the window (turns bytes into ms). */
  commitLogBytesPerSecond: number;
  samples: number;
  /** Samples whose runtime-info request failed or took longer than 3 s. */
  failedSamples: number;
  lagBytes: Distribution;
  lagMs: Distribution;
  /** flushbench only: the master's push2SlaveMaxOffset view; null for RocketMQ. */
  metricLagBytes: Distribution | null;
  metricLagMs: Distribution | null;
}

export interface SaturationResult {
  producers: number;
  measuredMs: number;
  answers: number;
  statuses: Record<string, number>;
  busyReasons: Record<string, number>;
  systemBusyShare: number;
  osPageCacheBusyShare: number;
  /** Acked messages per second (SEND_OK + the flush/slave statuses). */
  ackedPerSecond: number;
  /** Latency of acked sends (ms). */
  ackedLatencyMs: Distribution;
  /** Latency of the refusals (ms): how fast the broker fails. */
  refusalLatencyMs: Distribution;
}

export interface SlaveStopResult {
  stoppedMs: number;
  sendsDuringStop: number;
  statusesDuringStop: Record<string, number>;
  /** Answer time − send time of every non-SEND_OK answer to a send made during the stop (ms). */
  errorAnswerMs: Distribution;
  /** The same, 250 ms bins from 0 to 8 s. */
  errorAnswerHistogram: HistogramBin[];
  /** When FLUSH_SLAVE_TIMEOUTs arrived, per 100 ms of the stop (bursts show GroupTransferService's 1 s check). */
  timeoutArrivalsPer100Ms: HistogramBin[];
  /** SIGCONT → first SEND_OK answer; null = none before the end. */
  firstSendOkAfterContMs: number | null;
  /** SEND_OK share of sends made 2 s or more after SIGCONT. */
  sendOkShareAfterCont: number;
}

export interface SlaveRestartResult {
  /** SIGKILL → the restarted slave process was spawned (its old process gone). */
  respawnAfterKillMs: number;
  /** Acks stopped (last SEND_OK before a pause > 200 ms after the kill) → they flow again (or the end). */
  stallMs: number;
  /** SIGKILL → first SEND_OK answer of the resumed flow (end of the stall). */
  recoveredAfterKillMs: number | null;
  /** Non-SEND_OK answers between the kill and the recovery. */
  errorsUntilRecovery: number;
  statusesUntilRecovery: Record<string, number>;
  sendOkShareAfterRecovery: number;
}

export const SCENARIO_NAMES = ['slave-stop', 'slave-restart', 'saturation', 'async-lag'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Durations and loads; `quick` shortens them for tests (same shape, fewer seconds). */
export interface ScenarioSettings {
  stopMs: number;
  faultRate: number;
  faultProducers: number;
  beforeMs: number;
  afterMs: number;
  recoverLimitMs: number;
  saturationProducers: number;
  saturationWarmupMs: number;
  saturationDurationMs: number;
  lagRates: number[];
  lagProducers: number;
  lagWarmupMs: number;
  lagDurationMs: number;
  sendTimeoutMs: number;
  /** broker.properties keys set on every node on top of the profile's (e.g. waitTimeMillsInSendQueue). */
  brokerSet: Record<string, string>;
}

export type ScenarioOutcome =
  | { scenario: 'slave-stop'; result: SlaveStopResult }
  | { scenario: 'slave-restart'; result: SlaveRestartResult }
  | { scenario: 'saturation'; result: SaturationResult }
  | { scenario: 'async-lag'; result: AsyncLagRate[] };

export interface EngineScenarioResult {
  engine: 'flushbench' | 'rocketmq';
  engineLabel: string;
  /** null when the engine could not run it (then `error` says why). */
  outcome: ScenarioOutcome | null;
  error: string | null;
  elapsedMs: number;
}

export interface ScenarioFile {
  scenario: ScenarioName;
  profile: string;
  startedAt: string;
  settings: ScenarioSettings;
  engines: EngineScenarioResult[];
}
