// Runs one profile (or one variant of a sweep) `repeat` times on one or more engines: launch the
// cluster (or use a remote one), create the topic, warm up, measure second by second while
// scraping broker metrics, stop, and fold the runs of each engine into a ProfileResult.
import path from 'node:path';
import type { CpuAccount } from '../reports/cpuAccount.js';
import { CpuWindow, type CpuWindowResult, cpuUsPerMessage } from './cpuAccounting.js';
import fs from 'node:fs';
import { RemotingClient } from '../protocol/remotingClient.js';
import { SerializeType } from '../protocol/codes.js';
import { fetchTopicRoute, type WriteQueue, writeQueues } from '../protocol/route.js';
import { foldRuns } from '../reports/foldRuns.js';
import { latencySummary } from '../reports/histogram.js';
import type { LoadSettings, ProfileResult, RunResult, TimeseriesPoint } from '../reports/runData.js';
import { AckRecorder, type SecondSample } from './ackRecorder.js';
import { type EngineCluster, type Engine, launchEngineCluster } from './clusterLauncher.js';
import { ConsumerPool } from './consumers.js';
import { runHttpLoad } from './httpDriver.js';
import { histogramQuantileMs, type MetricValues } from './metricsScraper.js';
import { delta, masterMetrics, merge, settingsOf, sum } from './brokerFacts.js';
import { ProducerPool } from './producers.js';
import type { Profile, ProfileVariant } from './profile.js';
import { errorMessage } from '../protocol/errors.js';
import { createTopic } from './topicAdmin.js';
import { BENCHMARK_DRIVER, type BenchmarkLoad, benchmarkRunResult, type Driver, startBenchmarkLoad, storedMessages } from './rocketmqBenchmark/driver.js';
import { driverComparisonNotes } from './rocketmqBenchmark/runNotes.js';

export interface RunOptions {
  storeDir: string;
  logDir: string;
  repeat: number;
  /** Drive an existing cluster instead of launching one. */
  namesrv: string | null;
  keepStore: boolean;
  quiet: boolean;
  json: boolean;
  harnessCeilingTps: number | null;
  serializeType: 'JSON' | 'ROCKETMQ';
  /** Which broker a launched cluster runs (ignored with --namesrv); default flushbench. */
  engine?: Engine;
  /** Load drivers run back to back on each engine (default: the profile's load.driver). */
  drivers?: readonly Driver[];
  /** --rocketmq-home: the binary distribution whose benchmark Producer --driver rocketmq-benchmark runs. */
  rocketmqHome?: string | null;
}

/** What summary.json calls a cluster bench run did not launch: it cannot know which broker that is. */
export const REMOTE_ENGINE_LABEL = 'remote';

/** How long a new topic may take to appear on the name server, and how often to ask. */
const ROUTE_TIMEOUT_MS = 5000;
const ROUTE_RETRY_MS = 100;
/** Per-send timeout of the remoting producers (RocketMQ's default sendMsgTimeout is 3 s). */
const SEND_TIMEOUT_MS = 3000;
/** Role names of the two processes that are not brokers in CPU accounting. */
const LOADGEN_ROLE = 'loadgen';
const NAMESRV_ROLE = 'namesrv';
/** The HTTP driver runs warm-up + measurement + this margin, and is stopped before it ends. */
const HTTP_LOAD_MARGIN_S = 5;
/** After stop: how long in-flight sends and consumer loops get to finish. */
const LOAD_DRAIN_TIMEOUT_MS = 10_000;
const CONSUMER_DRAIN_TIMEOUT_MS = 6000;

function say(options: RunOptions, line: string): void {
  if (!options.quiet) process.stderr.write(`${line}\n`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function variantNodes(profile: Profile, variant: ProfileVariant | null) {
  return profile.nodes.map((node) => ({ ...node, properties: { ...node.properties, ...(variant?.set ?? {}) } }));
}

/** One run's state, shared by its steps; `clients` and `cluster` are closed by stopCluster. */
interface RunContext {
  label: string;
  storeDir: string;
  options: RunOptions;
  load: LoadSettings;
  cluster: EngineCluster | null;
  clients: RemotingClient[];
  /** Notes for the report that only this run can know. */
  notes: string[];
}

/** The load while it runs. */
interface RunningLoad {
  recorder: AckRecorder;
  consumers: ConsumerPool | null;
  consuming: { done: Promise<void> } | null;
  stop: () => void;
  done: Promise<void>;
  /** --driver rocketmq-benchmark: the Java Producer, and the run's queues for the offset count. */
  benchmark?: BenchmarkLoad & { queues: WriteQueue[] };
}

/** What the measured window produced. */
interface Measurement {
  timeseries: TimeseriesPoint[];
  cpu: CpuWindowResult | null;
  metricsAtStart: MetricValues[];
  metricsAtEnd: MetricValues[];
  /** --driver rocketmq-benchmark: the measured window (performance.now()) and messages stored in it. */
  window?: { startMs: number; endMs: number; stored: number };
}

/** Launches the profile's cluster on the run's engine unless --namesrv names one; returns the name server address. */
async function startCluster(ctx: RunContext, profile: Profile, variant: ProfileVariant | null): Promise<string> {
  if (ctx.options.namesrv) return ctx.options.namesrv;
  const engine = ctx.options.engine ?? 'flushbench';
  say(ctx.options, `${ctx.label}: starting ${engine} cluster (store ${ctx.storeDir})`);
  ctx.cluster = await launchEngineCluster(engine, variantNodes(profile, variant), {
    storeDir: ctx.storeDir, logDir: path.join(ctx.options.logDir, path.basename(ctx.storeDir)), onProgress: (l) => say(ctx.options, `  ${l}`),
    httpProduce: ctx.load.driver === 'http',
  });
  return ctx.cluster.namesrvAddress;
}

/** Waits (bounded) until the name server routes the new topic; returns its writable queues. */
async function resolveRoute(ctx: RunContext, namesrv: string): Promise<WriteQueue[]> {
  const nameClient = new RemotingClient(namesrv);
  ctx.clients.push(nameClient);
  let route = null;
  for (let attempt = 0; attempt < ROUTE_TIMEOUT_MS / ROUTE_RETRY_MS && !route; attempt++) {
    route = await fetchTopicRoute(nameClient, ctx.load.topic);
    if (!route) await sleep(ROUTE_RETRY_MS);
  }
  if (!route) throw new Error(`topic ${ctx.load.topic} has no route on ${namesrv} after ${ROUTE_TIMEOUT_MS} ms`);
  // An existing topic may have more queues (RocketMQ's BenchmarkTest has 1024): load only the
  // first `queues` of each master, the same shape on every engine.
  const queues = writeQueues(route).filter((q) => q.queueId < ctx.load.queues);
  if (queues.length === 0) throw new Error(`topic ${ctx.load.topic} on ${namesrv} has no writable queue`);
  return queues;
}

/**
 * Creates the topic on every master. A broker may refuse (RocketMQ 4.9.x refuses its system
 * topics such as BenchmarkTest; a remote cluster may forbid topic creation): then a topic that
 * already has a route is used as it is, with a warning, and only a topic without one fails the run.
 */
async function ensureTopic(ctx: RunContext, namesrv: string): Promise<void> {
  try {
    await createTopic(namesrv, ctx.load.topic, { queues: ctx.load.queues });
  } catch (error) {
    const nameClient = new RemotingClient(namesrv);
    try {
      const route = await fetchTopicRoute(nameClient, ctx.load.topic);
      if (!route) throw error;
      process.stderr.write(`${ctx.label}: warning: ${errorMessage(error)}; using the existing topic ${ctx.load.topic} (its first ${ctx.load.queues} queues per master)\n`);
    } finally {
      nameClient.close();
    }
  }
}

/** Round-robin over load.connections connections per broker (default 1), opened on first use. */
function connectionPool(ctx: RunContext): (address: string) => RemotingClient {
  const pools = new Map<string, RemotingClient[]>();
  let round = 0;
  return (address) => {
    let list = pools.get(address);
    if (!list) {
      const connections = Math.max(1, Math.min(ctx.load.producers, ctx.load.connections ?? 1));
      list = Array.from({ length: connections }, () => new RemotingClient(address, { serializeType: SerializeType[ctx.options.serializeType], liteResponses: true }));
      ctx.clients.push(...list);
      pools.set(address, list);
    }
    return list[round++ % list.length];
  };
}

/** Starts consumers (if any) and the producers or the HTTP driver; nothing is measured yet. */
async function startLoad(ctx: RunContext, queues: WriteQueue[], namesrv: string): Promise<RunningLoad> {
  const { load, options } = ctx;
  const recorder = new AckRecorder();
  const consumers = load.consumers > 0 ? new ConsumerPool(load.topic, queues, load.consumers) : null;
  const consuming = consumers ? await consumers.start() : null;
  if (load.driver === BENCHMARK_DRIVER) {
    const benchmark = startBenchmarkLoad({ namesrv, load, serializeType: options.serializeType, logDir: path.join(options.logDir, path.basename(ctx.storeDir)), rocketmqHome: options.rocketmqHome, say: (l) => say(options, l) });
    return { recorder, consumers, consuming, stop: () => void benchmark.producer.stop(), done: benchmark.producer.exited.then(() => undefined), benchmark: { ...benchmark, queues } };
  }
  if (load.driver === 'http') {
    const first = ctx.cluster?.nodes.find((n) => n.node.role === 'master');
    if (!first?.metricsUrl) throw new Error('--driver http needs a flushbench cluster launched by bench run (not --namesrv, not --engine rocketmq): it loads the broker\'s HTTP produce endpoint');
    const http = runHttpLoad({
      url: first.metricsUrl.replace(/\/metrics$/, `/produce/${load.topic}`), connections: load.producers, sizeBytes: load.sizeBytes,
      seconds: load.warmupS + load.durationS + HTTP_LOAD_MARGIN_S,
    }, recorder);
    return { recorder, consumers, consuming, stop: http.stop, done: http.done };
  }
  const pool = new ProducerPool({ ...load, sendTimeoutMs: SEND_TIMEOUT_MS, producerGroup: 'benchmark_producer', serializeType: SerializeType[options.serializeType] }, queues, connectionPool(ctx), recorder);
  return { recorder, consumers, consuming, stop: () => pool.stop(), done: pool.run() };
}

async function warmUp(ctx: RunContext): Promise<void> {
  const { load } = ctx;
  say(ctx.options, `${ctx.label}: warm-up ${load.warmupS} s, then ${load.durationS} s measured, ${load.producers} producers × ${load.sizeBytes} B`);
  await sleep(load.warmupS * 1000);
}

function progressLine(ctx: RunContext, recorder: AckRecorder, sample: SecondSample, second: number): string {
  const transportFailures = (recorder.statusCounts.TIMEOUT ?? 0) + (recorder.statusCounts.CONNECTION_ERROR ?? 0);
  return `  [${ctx.label}] Send TPS: ${sample.ok} Max RT(ms): ${sample.latencyMsMax.toFixed(1)} Average RT(ms): ${sample.latencyMsMean.toFixed(3)}`
    + ` Send Failed: ${transportFailures}`
    + ` Response Failed: ${recorder.failureCount - transportFailures}`
    + ` p99(ms): ${sample.latencyMsP99.toFixed(2)} left: ${ctx.load.durationS - second}s\n`;
}

/** The measured window: one time-series point per second, broker metrics scraped each second. */
async function measure(ctx: RunContext, running: RunningLoad): Promise<Measurement> {
  const { recorder, consumers } = running;
  const metricsAtStart = await masterMetrics(ctx.cluster);
  let previous = metricsAtStart;
  const cpuWindow = openCpuWindow(ctx, running.benchmark?.producer.pid);
  const storedAtStart = running.benchmark ? await storedMessages(running.benchmark.queues, ctx.load.topic) : 0;
  recorder.startMeasuring();
  if (consumers) consumers.measuring = true;
  const timeseries: TimeseriesPoint[] = [];
  // Without a slave the master's fall-behind gauge is just its committed end: no lag to report.
  const hasSlave = ctx.cluster?.nodes.some((n) => n.node.role === 'slave') ?? false;
  const started = performance.now();
  for (let second = 1; second <= ctx.load.durationS; second++) {
    await sleep(Math.max(0, started + second * 1000 - performance.now()));
    const sample = recorder.closeSecond();
    const now = await masterMetrics(ctx.cluster);
    const fsyncs = delta(previous, now, 'rocketmq_fsync_total');
    const flushedMessages = delta(previous, now, 'rocketmq_messages_flushed_total');
    timeseries.push({
      second, tps: sample.ok, sendOkPerSecond: sample.sendOk, failures: sample.failures,
      latencyMsP50: sample.latencyMsP50, latencyMsP99: sample.latencyMsP99, latencyMsMax: sample.latencyMsMax,
      flushBehindBytes: sum(now, 'rocketmq_flush_behind_bytes'),
      fsyncsPerSecond: fsyncs,
      messagesPerFsync: fsyncs && flushedMessages !== null ? flushedMessages / fsyncs : null,
      slaveLagBytes: hasSlave ? sum(now, 'rocketmq_ha_slave_fall_behind_bytes') : null,
      replicationLatencyMsP99: histogramQuantileMs('rocketmq_ha_replication_latency_seconds', merge(previous), merge(now), 0.99),
    });
    previous = now;
    if (!ctx.options.quiet && !running.benchmark) process.stderr.write(progressLine(ctx, recorder, sample, second));
  }
  recorder.stopMeasuring();
  const cpu = cpuWindow?.close() ?? null;
  const window = running.benchmark ? { startMs: started, endMs: performance.now(), stored: await storedMessages(running.benchmark.queues, ctx.load.topic) - storedAtStart } : undefined;
  if (consumers) consumers.measuring = false;
  return { timeseries, cpu, metricsAtStart, metricsAtEnd: previous, window };
}

/** CPU accounting over the measured window: every launched process and this one (the load generator). */
function openCpuWindow(ctx: RunContext, javaLoadgenPid?: number): CpuWindow | null {
  if (process.platform !== 'linux') return null;
  // With the Java benchmark Producer the load generator is that JVM (this process only waits).
  const processes = [{ role: LOADGEN_ROLE, pid: javaLoadgenPid ?? process.pid }];
  if (ctx.cluster?.namesrvPid) processes.push({ role: NAMESRV_ROLE, pid: ctx.cluster.namesrvPid });
  // Every broker process, whatever the engine: a node process or a JVM (all its threads are in /proc/<pid>/stat).
  for (const node of ctx.cluster?.nodes ?? []) if (node.pid) processes.push({ role: node.node.name, pid: node.pid });
  return new CpuWindow(processes);
}

/** The window's CPU per acknowledged message, per process; brokers are every role but these two. */
function cpuAccount(window: CpuWindowResult, acked: number): CpuAccount {
  const perMessage = (role: string) => {
    const p = window.processes.find((x) => x.role === role);
    return p ? cpuUsPerMessage(p.cpuSeconds, acked) : null;
  };
  const brokers = window.processes.filter((p) => p.role !== LOADGEN_ROLE && p.role !== NAMESRV_ROLE);
  return {
    brokerUsPerMsg: Object.fromEntries(brokers.map((p) => [p.role, cpuUsPerMessage(p.cpuSeconds, acked)])),
    brokersTotalUsPerMsg: brokers.length ? cpuUsPerMessage(brokers.reduce((a, p) => a + p.cpuSeconds, 0), acked) : null,
    namesrvUsPerMsg: perMessage(NAMESRV_ROLE),
    loadgenUsPerMsg: perMessage(LOADGEN_ROLE),
    hostStealPercent: window.hostStealPercent,
    hostBusyPercent: window.hostBusyPercent,
  };
}

/** Stops producers and consumers, giving in-flight work a bounded time to finish. */
async function stopLoad(running: RunningLoad): Promise<void> {
  running.stop();
  await Promise.race([running.done, sleep(LOAD_DRAIN_TIMEOUT_MS)]);
  running.consumers?.stop();
  await Promise.race([running.consuming?.done, sleep(CONSUMER_DRAIN_TIMEOUT_MS)]);
}

/** This run's RunResult from the recorder and the broker metrics of the measured window. */
function collect(ctx: RunContext, run: number, running: RunningLoad, measured: Measurement): RunResult {
  if (running.benchmark && measured.window) {
    const { result, note } = benchmarkRunResult(run, running.benchmark.producer, measured.window, measured.timeseries, running.recorder.histogram);
    if (note) ctx.notes.push(note);
    return { ...result, cpu: measured.cpu ? cpuAccount(measured.cpu, result.ok) : null, broker: brokerTotals(ctx, measured) };
  }
  const { recorder, consumers } = running;
  const ok = recorder.okCount;
  return {
    run,
    tps: ok / recorder.measuredSeconds,
    sent: ok + recorder.failureCount,
    ok,
    statusCounts: { ...recorder.statusCounts } as Record<string, number>,
    latencyMs: latencySummary(recorder.histogram),
    histogram: recorder.histogram,
    timeseries: measured.timeseries,
    endToEnd: consumers ? { consumed: consumers.received, latencyMs: latencySummary(consumers.histogram) } : null,
    cpu: measured.cpu ? cpuAccount(measured.cpu, ok) : null,
    broker: brokerTotals(ctx, measured),
  };
}

function brokerTotals(ctx: RunContext, measured: Measurement): RunResult['broker'] {
  if (!ctx.cluster?.nodes.some((n) => n.metricsUrl)) return null;
  const fsyncTotal = delta(measured.metricsAtStart, measured.metricsAtEnd, 'rocketmq_fsync_total');
  const flushedTotal = delta(measured.metricsAtStart, measured.metricsAtEnd, 'rocketmq_messages_flushed_total');
  return {
    fsyncs: fsyncTotal,
    messagesPerFsync: fsyncTotal ? (flushedTotal ?? 0) / fsyncTotal : null,
    flushFailedTimes: sum(measured.metricsAtEnd, 'rocketmq_flush_failed_times_total'),
  };
}

/** Closes every client, stops a launched cluster and removes its store unless --keep-store. */
async function stopCluster(ctx: RunContext): Promise<void> {
  for (const client of ctx.clients) client.close();
  await ctx.cluster?.stop();
  if (ctx.cluster && !ctx.options.keepStore) fs.rmSync(ctx.storeDir, { recursive: true, force: true });
}

async function runOnce(profile: Profile, variant: ProfileVariant | null, run: number, options: RunOptions, load: LoadSettings) {
  const engineTag = options.namesrv || !options.engine || options.engine === 'flushbench' ? '' : `-${options.engine}`;
  const driverTag = load.driver === BENCHMARK_DRIVER ? `-${load.driver}` : '';
  const ctx: RunContext = {
    label: `${profile.name}${variant ? ` [${variant.name}]` : ''}${engineTag ? ` (${options.engine})` : ''}${driverTag ? ` [${load.driver}]` : ''} run ${run}/${options.repeat}`,
    storeDir: path.join(options.storeDir, `${profile.name}${variant ? `-${variant.name.replace(/[^\w.-]+/g, '_')}` : ''}${engineTag}${driverTag}-run${run}`),
    options, load, cluster: null, clients: [], notes: [],
  };
  try {
    const namesrv = await startCluster(ctx, profile, variant);
    await ensureTopic(ctx, namesrv);
    const queues = await resolveRoute(ctx, namesrv);
    const running = await startLoad(ctx, queues, namesrv);
    await warmUp(ctx);
    const measured = await measure(ctx, running);
    await stopLoad(running);
    const effectiveSettings = await settingsOf(ctx.cluster);
    return { result: collect(ctx, run, running, measured), effectiveSettings, engineLabel: ctx.cluster?.engineLabel ?? REMOTE_ENGINE_LABEL, notes: ctx.notes };
  } finally {
    await stopCluster(ctx);
  }
}

/** A B, A B …: one run on every engine before the next repeat, so host drift falls on both. */
export function runSchedule(engines: readonly Engine[], repeat: number): Array<{ run: number; engine: Engine }> {
  const schedule: Array<{ run: number; engine: Engine }> = [];
  for (let run = 1; run <= repeat; run++) for (const engine of engines) schedule.push({ run, engine });
  return schedule;
}

/**
 * Runs the profile `repeat` times on each engine and each driver (options.drivers, default the
 * profile's), interleaved (run 1 on every engine × driver, then run 2 …), and folds each
 * engine × driver's runs into its own ProfileResult, engines outer, drivers inner.
 */
export async function runProfileEngines(profile: Profile, variant: ProfileVariant | null, engines: readonly Engine[], options: RunOptions): Promise<ProfileResult[]> {
  const drivers: readonly Driver[] = options.drivers?.length ? options.drivers : [profile.load.driver];
  const slots = engines.flatMap((engine) => drivers.map((driver) => ({ engine, driver, runs: [] as RunResult[], effectiveSettings: {} as Record<string, Record<string, string>>, label: '', notes: [] as string[] })));
  for (const { run, engine } of runSchedule(engines, options.repeat)) {
    for (const slot of slots.filter((s) => s.engine === engine)) {
      const outcome = await runOnce(profile, variant, run, { ...options, engine }, { ...profile.load, driver: slot.driver });
      slot.runs.push(outcome.result);
      slot.effectiveSettings = outcome.effectiveSettings;
      slot.label = outcome.engineLabel;
      slot.notes.push(...outcome.notes);
    }
  }
  const results = slots.map((slot) => {
    const measured = { name: profile.name, variant: variant?.name ?? null, description: profile.description, claim: profile.claim, load: { ...profile.load, driver: slot.driver }, engine: slot.label };
    const result = foldRuns(measured, slot.runs, slot.effectiveSettings, options.harnessCeilingTps);
    result.notes.push(...slot.notes);
    return result;
  });
  driverComparisonNotes(results);
  return results;
}

export async function runProfileVariant(profile: Profile, variant: ProfileVariant | null, options: RunOptions): Promise<ProfileResult> {
  const [result] = await runProfileEngines(profile, variant, [options.engine ?? 'flushbench'], options);
  return result;
}
