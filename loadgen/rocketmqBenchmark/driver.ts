// `bench run --driver rocketmq-benchmark`: RocketMQ's own benchmark Producer is the load instead of
// our producers. Threads = --producers, body = --size, topic = the run's topic, -n = the run's
// name server. TPS and RT come from its periodic lines; the acked count for CPU per message comes
// from the topic's queue offsets over the same window (the Producer prints only every 10 s, and
// offsets are exact on every engine); the JVM is the loadgen process in CPU accounting.
import { RequestCode } from '../../protocol/codes.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import type { WriteQueue } from '../../protocol/route.js';
import type { Histogram } from '../../reports/histogram.js';
import type { LatencySummaryMs, LoadSettings, RunResult, TimeseriesPoint } from '../../reports/runData.js';
import { fetchRocketmq } from '../rocketmq/fetch.js';
import { startJavaProducer, type JavaProducer } from './javaProducer.js';
import { benchmarkProducerJar, type BenchmarkProducerJar } from './producerJar.js';
import { summarizeWindow, type ProducerWindowSummary, tpsAt } from './producerOutput.js';

export const BENCHMARK_DRIVER = 'rocketmq-benchmark';
export const DRIVERS = ['remoting', 'http', BENCHMARK_DRIVER] as const;
export type Driver = (typeof DRIVERS)[number];

const OFFSET_TIMEOUT_MS = 3000;

export interface BenchmarkLoadOptions {
  namesrv: string;
  load: LoadSettings;
  serializeType: 'JSON' | 'ROCKETMQ';
  logDir: string;
  /** An unpacked binary distribution: its own version's Producer and client. */
  rocketmqHome?: string | null;
  say: (line: string) => void;
}

export interface BenchmarkLoad {
  producer: JavaProducer;
  jar: BenchmarkProducerJar;
}

/** --driver a,b: the drivers to run back to back, in order; each must be known. */
export function driversOf(value: string | undefined): Driver[] {
  const drivers = (value ?? 'remoting').split(',').map((d) => d.trim()).filter(Boolean);
  if (drivers.length === 0) return ['remoting'];
  for (const driver of drivers) if (!(DRIVERS as readonly string[]).includes(driver)) throw new Error(`--driver ${driver}: use ${DRIVERS.join(', ')}, or a comma-separated list of them`);
  if (new Set(drivers).size !== drivers.length) throw new Error(`--driver ${value}: a driver is named twice`);
  return drivers as Driver[];
}

export function startBenchmarkLoad(options: BenchmarkLoadOptions): BenchmarkLoad {
  const { load } = options;
  if (load.batch > 1) throw new Error('--driver rocketmq-benchmark sends one message per request; drop --batch');
  if (load.rate !== null) throw new Error('--driver rocketmq-benchmark is a closed loop; drop --rate');
  const jar = benchmarkProducerJar(fetchRocketmq({ rocketmqHome: options.rocketmqHome ?? undefined, onProgress: options.say }));
  options.say(`  RocketMQ benchmark Producer ${jar.producerVersion} on rocketmq-client ${jar.clientVersion}: -w ${load.producers} -s ${load.sizeBytes} -t ${load.topic}`);
  const producer = startJavaProducer({
    jar, namesrv: options.namesrv, topic: load.topic, threads: load.producers, sizeBytes: load.sizeBytes,
    serializeType: options.serializeType, logDir: options.logDir,
    onLine: (line) => options.say(`  [benchmark Producer] Send TPS: ${line.tps} Max RT(ms): ${line.maxRtMs} Average RT(ms): ${line.averageRtMs.toFixed(3)} Send Failed: ${line.sendFailed} Response Failed: ${line.responseFailed}`),
  });
  return { producer, jar };
}

/** Messages stored in the run's queues: the sum of their max offsets (GET_MAX_OFFSET), one client per broker. */
export async function storedMessages(queues: readonly WriteQueue[], topic: string): Promise<number> {
  const clients = new Map<string, RemotingClient>();
  try {
    const offsets = await Promise.all(queues.map(async (queue) => {
      let client = clients.get(queue.brokerAddress);
      if (!client) clients.set(queue.brokerAddress, (client = new RemotingClient(queue.brokerAddress)));
      const response = await client.invoke(createRequest(RequestCode.GET_MAX_OFFSET, { topic, queueId: String(queue.queueId) }), OFFSET_TIMEOUT_MS);
      return Number(response.extFields?.offset ?? 0);
    }));
    return offsets.reduce((a, b) => a + b, 0);
  } finally {
    for (const client of clients.values()) client.close();
  }
}

export interface BenchmarkWindow {
  summary: ProducerWindowSummary;
  /** Messages the broker stored during the window (queue offsets). */
  storedInWindow: number;
  tps: number;
  latencyMs: LatencySummaryMs;
  note: string | null;
}

/** The run's numbers from the Producer's lines and the queue offsets of the measured window. */
export function benchmarkWindow(producer: JavaProducer, startMs: number, endMs: number, storedInWindow: number): BenchmarkWindow {
  const summary = summarizeWindow(producer.lines, startMs, endMs);
  const seconds = (endMs - startMs) / 1000;
  const offsetTps = seconds > 0 ? storedInWindow / seconds : 0;
  // No percentiles exist: the Producer prints only a mean and an all-time max.
  const latencyMs: LatencySummaryMs = { p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, p999: Number.NaN, max: summary.maxRtMs ?? Number.NaN, mean: summary.averageRtMs ?? Number.NaN };
  const note = summary.tps === null
    ? `The benchmark Producer printed no 10 s line inside the ${seconds.toFixed(0)} s measured window (it prints every 10 s): TPS is from the queue offsets (${Math.round(offsetTps)} msgs/s); use --duration ≥ 10 and --warmup ≥ 10 for its own numbers.`
    : null;
  return { summary, storedInWindow, tps: summary.tps ?? offsetTps, latencyMs, note };
}

/** A run's result without cpu and broker (the caller's accounting): TPS and RT from the lines, ok from the offsets. */
export function benchmarkRunResult(run: number, producer: JavaProducer, window: { startMs: number; endMs: number; stored: number }, timeseries: TimeseriesPoint[], emptyHistogram: Histogram): { result: Omit<RunResult, 'cpu' | 'broker'>; note: string | null } {
  const measured = benchmarkWindow(producer, window.startMs, window.endMs, window.stored);
  const { sendFailed, responseFailed } = measured.summary;
  const nan = Number.NaN;
  return {
    note: measured.note,
    result: {
      run, tps: measured.tps, sent: window.stored + sendFailed + responseFailed, ok: window.stored,
      statusCounts: { SEND_OK: window.stored, ...(sendFailed ? { SEND_FAILED: sendFailed } : {}), ...(responseFailed ? { RESPONSE_FAILED: responseFailed } : {}) },
      latencyMs: measured.latencyMs,
      histogram: emptyHistogram,
      // Each second gets the TPS of the Producer line whose 10 s window covers it.
      timeseries: timeseries.map((point) => ({ ...point, tps: tpsAt(producer.lines, window.startMs + point.second * 1000) ?? measured.tps, latencyMsP50: nan, latencyMsP99: nan, latencyMsMax: nan })),
      endToEnd: null,
    },
  };
}
