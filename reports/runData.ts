// What one `bench run` hands to the report writer. The load generator fills it; the writer
// turns it into summary.json, CSVs, .hgrm, PNG charts, report.md and report.html.
import type { CpuAccount } from './cpuAccount.js';
import type { Histogram } from './histogram.js';

export const SUMMARY_SCHEMA_VERSION = 1;

export type Verdict = 'below' | 'within' | 'above';

export interface Claim {
  text: string;
  /** Claimed TPS range; both null for informational profiles (no verdict). */
  tpsMin: number | null;
  tpsMax: number | null;
  /** Claimed latency ceiling (e.g. "< 1 ms"), if any. */
  latencyMsMax: number | null;
  source: string;
}

export interface LatencySummaryMs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** One second of one run. Broker-side fields are null when the metrics endpoint was not reachable. */
export interface TimeseriesPoint {
  second: number;
  tps: number;
  sendOkPerSecond: number;
  failures: number;
  latencyMsP50: number;
  latencyMsP99: number;
  latencyMsMax: number;
  flushBehindBytes: number | null;
  fsyncsPerSecond: number | null;
  messagesPerFsync: number | null;
  slaveLagBytes: number | null;
  replicationLatencyMsP99: number | null;
}

export interface RunResult {
  /** 1-based repeat index. */
  run: number;
  tps: number;
  sent: number;
  ok: number;
  statusCounts: Record<string, number>;
  latencyMs: LatencySummaryMs;
  histogram: Histogram;
  timeseries: TimeseriesPoint[];
  /** With --consumers: born timestamp → delivery latency of messages consumed while measuring. */
  endToEnd?: { consumed: number; latencyMs: LatencySummaryMs } | null;
  /** Broker totals over the measured window (from the metrics endpoint). */
  broker: { fsyncs: number | null; messagesPerFsync: number | null; flushFailedTimes: number | null } | null;
  /** CPU per acknowledged message over the measured window (Linux /proc); null elsewhere. */
  cpu?: CpuAccount | null;
}

export interface LoadSettings {
  driver: 'remoting' | 'http' | 'rocketmq-benchmark';
  producers: number;
  sizeBytes: number;
  batch: number;
  topic: string;
  queues: number;
  durationS: number;
  warmupS: number;
  rate: number | null;
  consumers: number;
  /** Connections per broker the producers share (1 = one DefaultMQProducer shared by every thread, as RocketMQ's benchmark Producer does). Absent in older summaries = 4. */
  connections?: number;
}

/** One profile (or one variant of a sweep) measured `runs.length` times. */
export interface ProfileResult {
  profile: string;
  variant: string | null;
  /** Which broker ran it: `flushbench`, `rocketmq-<version>`, or `remote` (--namesrv). Absent in older summaries = flushbench. */
  engine: string;
  description: string;
  claim: Claim;
  load: LoadSettings;
  runs: RunResult[];
  /** Merged histogram of all runs. */
  histogram: Histogram;
  tps: { mean: number; p50PerSecond: number; stddevPerSecond: number; min: number; max: number; spreadPercent: number };
  latencyMs: LatencySummaryMs;
  sent: number;
  ok: number;
  statusCounts: Record<string, number>;
  verdict: Verdict | null;
  verdictConfidence: string;
  harnessCeilingTps: number | null;
  /** node name → effective settings reported by that broker. */
  effectiveSettings: Record<string, Record<string, string>>;
  /** Remarks the report must show (ignored settings, seed vs RocketMQ differences …). */
  notes: string[];
  /** CPU per acknowledged message, mean over the runs; steal is the worst run's. */
  cpu: CpuAccount | null;
}

export interface HostFactsData {
  hostname: string;
  cpuModel: string;
  cpuCount: number;
  memoryBytes: number;
  kernel: string;
  storeDir: string;
  fileSystem: string | null;
  mountPoint: string | null;
  mountOptions: string | null;
  device: string | null;
  diskModel: string | null;
  rotational: boolean | null;
  scheduler: string | null;
  writeCache: string | null;
  diskIsMeasured: boolean;
  diskWarning: string | null;
  vm: Record<string, number | null>;
  fsyncProbe: { fdatasyncPerSecond: number; latencyMsP50: number; latencyMsP99: number } | null;
  /** Set by `bench run --disk hdd`: the store was on a throttled loop device, not the host's disk. */
  diskEmulation?: DiskEmulation | null;
  /** Whose disk the facts describe when it is not the launched clusters' store (e.g. --namesrv without --remote-store-dir). */
  diskScope?: string | null;
}

export interface DiskEmulation {
  kind: 'hdd';
  writeIops: number;
  /** Bytes per second. */
  writeBps: number;
  cgroup: 'v1' | 'v2';
  method: string;
  loopDevice: string;
  image: string;
  /** The same 1-writer probe on the loop device before the harness joined the throttle. */
  fsyncProbeOutsideThrottle: HostFactsData['fsyncProbe'];
}

export interface RunData {
  tool: { name: string; version: string };
  startedAt: string;
  finishedAt: string;
  command: string;
  host: HostFactsData;
  results: ProfileResult[];
}
