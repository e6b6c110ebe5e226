// Runs one profile (or one variant of a sweep) `repeat` times: launch the cluster (or use a
// remote one), create the topic, warm up, measure second by second while scraping broker
// metrics, stop, and fold everything into a ProfileResult for the report.
import path from 'node:path';
import fs from 'node:fs';
import { RemotingClient } from '../protocol/remotingClient.js';
import { SerializeType } from '../protocol/codes.js';
import type { LoadSettings, ProfileResult, RunResult, TimeseriesPoint } from '../reports/runData.js';
import { AckRecorder, newLatencyHistogram, SUCCESS_STATUSES, type Histogram } from './ackRecorder.js';
import { type Cluster, launchCluster } from './clusterLauncher.js';
import { histogramQuantileMs, type MetricValues, scrapeMetrics } from './metricsScraper.js';
import { ProducerPool } from './producers.js';
import { runHttpLoad } from './httpDriver.js';
import { ConsumerPool } from './consumers.js';
import type { Profile, ProfileVariant } from './profile.js';
import { fetchTopicRoute, writeQueues } from '../protocol/route.js';
import { createTopic } from './topicAdmin.js';
import { verdictOf } from '../reports/verdict.js';

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
}

const PRODUCERS_PER_CONNECTION = 16;

function say(options: RunOptions, line: string): void {
  if (!options.quiet) process.stderr.write(`${line}\n`);
}

export function variantNodes(profile: Profile, variant: ProfileVariant | null) {
  return profile.nodes.map((node) => ({ ...node, properties: { ...node.properties, ...(variant?.set ?? {}) } }));
}

async function masterMetrics(cluster: Cluster | null): Promise<MetricValues[]> {
  if (!cluster) return [];
  return Promise.all(cluster.nodes.filter((n) => n.node.role === 'master').map((n) => scrapeMetrics(n.metricsUrl).catch(() => new Map())));
}

function sum(values: MetricValues[], name: string): number | null {
  let total = 0;
  let seen = false;
  for (const v of values) {
    const x = v.get(name);
    if (x !== undefined) {
      total += x;
      seen = true;
    }
  }
  return seen ? total : null;
}

function delta(before: MetricValues[], after: MetricValues[], name: string): number | null {
  const a = sum(after, name);
  const b = sum(before, name);
  return a === null || b === null ? null : a - b;
}

async function settingsOf(cluster: Cluster | null): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const node of cluster?.nodes ?? []) {
    const url = node.metricsUrl.replace(/\/metrics$/, '/settings');
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      out[node.node.name] = (await response.json()) as Record<string, string>;
    } catch {
      out[node.node.name] = node.properties;
    }
  }
  return out;
}

async function runOnce(profile: Profile, variant: ProfileVariant | null, run: number, options: RunOptions, load: LoadSettings) {
  const label = `${profile.name}${variant ? ` [${variant.name}]` : ''} run ${run}/${options.repeat}`;
  const storeDir = path.join(options.storeDir, `${profile.name}${variant ? `-${variant.name.replace(/[^\w.-]+/g, '_')}` : ''}-run${run}`);
  let cluster: Cluster | null = null;
  const clients: RemotingClient[] = [];
  try {
    let namesrv = options.namesrv;
    if (!namesrv) {
      say(options, `${label}: starting cluster (store ${storeDir})`);
      cluster = await launchCluster(variantNodes(profile, variant), {
        storeDir, logDir: path.join(options.logDir, path.basename(storeDir)), onProgress: (l) => say(options, `  ${l}`), httpProduce: load.driver === 'http',
      });
      namesrv = cluster.namesrvAddress;
    }
    await createTopic(namesrv, load.topic, { queues: load.queues });
    const nameClient = new RemotingClient(namesrv);
    clients.push(nameClient);
    let route = null;
    for (let i = 0; i < 50 && !route; i++) {
      route = await fetchTopicRoute(nameClient, load.topic);
      if (!route) await new Promise((r) => setTimeout(r, 100));
    }
    if (!route) throw new Error(`topic ${load.topic} has no route on ${namesrv}`);
    const queues = writeQueues(route);
    const pools = new Map<string, RemotingClient[]>();
    let round = 0;
    const clientFor = (address: string) => {
      let list = pools.get(address);
      if (!list) {
        const connections = Math.max(1, Math.ceil(load.producers / PRODUCERS_PER_CONNECTION));
        list = Array.from({ length: connections }, () => new RemotingClient(address, { serializeType: SerializeType[options.serializeType], liteResponses: true }));
        clients.push(...list);
        pools.set(address, list);
      }
      return list[round++ % list.length];
    };
    const recorder = new AckRecorder();
    const consumers = load.consumers > 0 ? new ConsumerPool(load.topic, queues, load.consumers) : null;
    const consuming = consumers ? await consumers.start() : null;
    let stopLoad: () => void;
    let running: Promise<void>;
    if (load.driver === 'http') {
      const first = cluster?.nodes.find((n) => n.node.role === 'master');
      if (!first) throw new Error('--driver http needs a cluster launched by bench run (not --namesrv): it loads the broker\'s HTTP produce endpoint');
      const http = runHttpLoad({
        url: first.metricsUrl.replace(/\/metrics$/, `/produce/${load.topic}`), connections: load.producers, sizeBytes: load.sizeBytes,
        seconds: load.warmupS + load.durationS + 5,
      }, recorder);
      stopLoad = http.stop;
      running = http.done;
    } else {
      const pool = new ProducerPool({ ...load, sendTimeoutMs: 3000, producerGroup: 'benchmark_producer', serializeType: SerializeType[options.serializeType] }, queues, clientFor, recorder);
      stopLoad = () => pool.stop();
      running = pool.run();
    }
    say(options, `${label}: warm-up ${load.warmupS} s, then ${load.durationS} s measured, ${load.producers} producers × ${load.sizeBytes} B`);
    await new Promise((r) => setTimeout(r, load.warmupS * 1000));
    let previous = await masterMetrics(cluster);
    const first = previous;
    recorder.startMeasuring();
    if (consumers) consumers.measuring = true;
    const timeseries: TimeseriesPoint[] = [];
    const started = performance.now();
    for (let second = 1; second <= load.durationS; second++) {
      await new Promise((r) => setTimeout(r, Math.max(0, started + second * 1000 - performance.now())));
      const sample = recorder.closeSecond();
      const now = await masterMetrics(cluster);
      const fsyncs = delta(previous, now, 'rocketmq_fsync_total');
      const flushedMessages = delta(previous, now, 'rocketmq_messages_flushed_total');
      timeseries.push({
        second, tps: sample.ok, sendOkPerSecond: sample.sendOk, failures: sample.failures,
        latencyMsP50: sample.latencyMsP50, latencyMsP99: sample.latencyMsP99, latencyMsMax: sample.latencyMsMax,
        flushBehindBytes: sum(now, 'rocketmq_flush_behind_bytes'),
        fsyncsPerSecond: fsyncs,
        messagesPerFsync: fsyncs && flushedMessages !== null ? flushedMessages / fsyncs : null,
        slaveLagBytes: sum(now, 'rocketmq_ha_slave_fall_behind_bytes'),
        replicationLatencyMsP99: histogramQuantileMs('rocketmq_ha_replication_latency_seconds', merge(previous), merge(now), 0.99),
      });
      previous = now;
      if (!options.quiet) {
        process.stderr.write(
          `  [${label}] Send TPS: ${sample.ok} Max RT(ms): ${sample.latencyMsMax.toFixed(1)} Average RT(ms): ${sample.latencyMsMean.toFixed(3)}` +
            ` Send Failed: ${(recorder.statusCounts.TIMEOUT ?? 0) + (recorder.statusCounts.CONNECTION_ERROR ?? 0)}` +
            ` Response Failed: ${recorder.failureCount - (recorder.statusCounts.TIMEOUT ?? 0) - (recorder.statusCounts.CONNECTION_ERROR ?? 0)}` +
            ` p99(ms): ${sample.latencyMsP99.toFixed(2)} left: ${load.durationS - second}s\n`,
        );
      }
    }
    recorder.stopMeasuring();
    if (consumers) consumers.measuring = false;
    stopLoad();
    await Promise.race([running, new Promise((r) => setTimeout(r, 10_000))]);
    consumers?.stop();
    await Promise.race([consuming?.done, new Promise((r) => setTimeout(r, 6_000))]);
    const fsyncTotal = delta(first, previous, 'rocketmq_fsync_total');
    const flushedTotal = delta(first, previous, 'rocketmq_messages_flushed_total');
    const effectiveSettings = await settingsOf(cluster);
    const h = recorder.histogram;
    const ok = recorder.okCount;
    const result: RunResult = {
      run,
      tps: ok / recorder.measuredSeconds,
      sent: ok + recorder.failureCount,
      ok,
      statusCounts: { ...recorder.statusCounts } as Record<string, number>,
      latencyMs: latencySummary(h),
      histogram: h,
      timeseries,
      endToEnd: consumers ? { consumed: consumers.received, latencyMs: latencySummary(consumers.histogram) } : null,
      broker: cluster ? {
        fsyncs: fsyncTotal,
        messagesPerFsync: fsyncTotal ? (flushedTotal ?? 0) / fsyncTotal : null,
        flushFailedTimes: sum(previous, 'rocketmq_flush_failed_times_total'),
      } : null,
    };
    return { result, effectiveSettings };
  } finally {
    for (const client of clients) client.close();
    await cluster?.stop();
    if (cluster && !options.keepStore) fs.rmSync(storeDir, { recursive: true, force: true });
  }
}

function merge(values: MetricValues[]): MetricValues {
  const out: MetricValues = new Map();
  for (const v of values) for (const [k, x] of v) out.set(k, (out.get(k) ?? 0) + x);
  return out;
}

export function latencySummary(h: Histogram) {
  const at = (p: number) => (h.totalCount ? h.getValueAtPercentile(p) / 1000 : 0);
  return { p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: h.totalCount ? h.maxValue / 1000 : 0, mean: h.totalCount ? h.mean / 1000 : 0 };
}

export async function runProfileVariant(profile: Profile, variant: ProfileVariant | null, options: RunOptions): Promise<ProfileResult> {
  const runs: RunResult[] = [];
  let effectiveSettings: Record<string, Record<string, string>> = {};
  for (let run = 1; run <= options.repeat; run++) {
    const outcome = await runOnce(profile, variant, run, options, profile.load);
    runs.push(outcome.result);
    effectiveSettings = outcome.effectiveSettings;
  }
  const histogram = newLatencyHistogram();
  for (const run of runs) histogram.add(run.histogram);
  const perSecond = runs.flatMap((r) => r.timeseries.map((p) => p.tps)).sort((a, b) => a - b);
  const tpsValues = runs.map((r) => r.tps);
  const mean = tpsValues.reduce((a, b) => a + b, 0) / tpsValues.length;
  const perSecondMean = perSecond.reduce((a, b) => a + b, 0) / Math.max(1, perSecond.length);
  const stddev = Math.sqrt(perSecond.reduce((a, b) => a + (b - perSecondMean) ** 2, 0) / Math.max(1, perSecond.length));
  const statusCounts: Record<string, number> = {};
  for (const run of runs) for (const [k, v] of Object.entries(run.statusCounts)) statusCounts[k] = (statusCounts[k] ?? 0) + v;
  const { verdict, confidence } = verdictOf(profile.claim, tpsValues);
  const notes: string[] = [];
  if ((statusCounts.FLUSH_SLAVE_TIMEOUT ?? 0) + (statusCounts.SLAVE_NOT_AVAILABLE ?? 0) > 0) {
    notes.push('Some sends were answered FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE. The seed says a sync-replication timeout still returns success; real RocketMQ returns these statuses (the Java client reports them as a SendResult status, not SEND_OK). They are counted in TPS like RocketMQ\'s benchmark does, and listed in the status columns.');
  }
  for (const [node, settings] of Object.entries(effectiveSettings)) {
    if (settings.transientStorePoolEnable === 'true' && settings.transientStorePoolActive === 'false') {
      notes.push(`${node}: transientStorePoolEnable=true was NOT in effect (RocketMQ uses the pool only with ASYNC_FLUSH on a master).`);
    }
  }
  return {
    profile: profile.name,
    variant: variant?.name ?? null,
    description: profile.description,
    claim: profile.claim,
    load: profile.load,
    runs,
    histogram,
    tps: {
      mean,
      p50PerSecond: perSecond.length ? perSecond[Math.floor(perSecond.length / 2)] : 0,
      stddevPerSecond: stddev,
      min: Math.min(...tpsValues),
      max: Math.max(...tpsValues),
      spreadPercent: mean > 0 ? ((Math.max(...tpsValues) - Math.min(...tpsValues)) / 2 / mean) * 100 : 0,
    },
    latencyMs: latencySummary(histogram),
    sent: runs.reduce((a, r) => a + r.sent, 0),
    ok: runs.reduce((a, r) => a + r.ok, 0),
    statusCounts,
    verdict,
    verdictConfidence: confidence,
    harnessCeilingTps: options.harnessCeilingTps,
    effectiveSettings,
    notes,
  };
}

export { SUCCESS_STATUSES };
