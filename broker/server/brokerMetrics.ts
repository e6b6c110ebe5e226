// Broker counters and their Prometheus text rendering (the metrics endpoint the loadgen scrapes).
import os from 'node:os';
import fs from 'node:fs';
import { FSYNC_BUCKETS_MS, type LatencyHistogram } from '../store/storeMetrics.js';
import type { MessageStore } from '../store/messageStore.js';
import type { PutStatus } from '../store/putStatus.js';

/** Extra gauges other parts of the broker (HA) contribute, name → value. */
export type GaugeSource = () => Record<string, number>;

export class BrokerMetrics {
  messagesIn = 0;
  messagesOut = 0;
  connections = 0;
  readonly sendStatusCounts: Partial<Record<PutStatus, number>> = {};
  readonly gaugeSources: GaugeSource[] = [];
  readonly histograms: Array<{ name: string; help: string; histogram: LatencyHistogram }> = [];

  recordSendStatus(status: PutStatus): void {
    this.sendStatusCounts[status] = (this.sendStatusCounts[status] ?? 0) + 1;
  }
}

/** Share of the store's file system in use (RocketMQ's commitLogDiskRatio). */
export function diskRatio(dir: string): number {
  try {
    const stats = fs.statfsSync(dir);
    return stats.blocks > 0 ? 1 - stats.bavail / stats.blocks : 0;
  } catch {
    return 0;
  }
}

function histogramLines(name: string, help: string, histogram: LatencyHistogram): string[] {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
  let cumulative = 0;
  FSYNC_BUCKETS_MS.forEach((bound, i) => {
    cumulative += histogram.bucketCounts[i];
    lines.push(`${name}_bucket{le="${bound / 1000}"} ${cumulative}`);
  });
  lines.push(`${name}_bucket{le="+Inf"} ${histogram.count}`, `${name}_sum ${histogram.sumMs / 1000}`, `${name}_count ${histogram.count}`);
  return lines;
}

export function renderPrometheus(metrics: BrokerMetrics, store: MessageStore, labels: Record<string, string>): string {
  const stats = store.stats();
  const label = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
  const gauge = (name: string, help: string, value: number) => [`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}{${label}} ${value}`];
  const counter = (name: string, help: string, value: number) => [`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name}{${label}} ${value}`];
  const lines = [
    ...counter('rocketmq_messages_in_total', 'Messages received by send requests', metrics.messagesIn),
    ...counter('rocketmq_messages_out_total', 'Messages returned to pull requests', metrics.messagesOut),
    ...gauge('rocketmq_flush_behind_bytes', 'flushBehindBytes: committed but not yet fsynced CommitLog bytes', stats.flushBehindBytes),
    ...gauge('rocketmq_commit_behind_bytes', 'Bytes in the transient store pool not yet written to the file', stats.commitBehindBytes),
    ...gauge('rocketmq_commitlog_disk_ratio', 'commitLogDiskRatio: used share of the store file system', diskRatio(store.config.storePathCommitLog)),
    ...gauge('rocketmq_commitlog_max_offset', 'CommitLog committed end offset', stats.committedOffset),
    ...gauge('rocketmq_commitlog_flushed_offset', 'CommitLog flushed offset', stats.flushedOffset),
    ...counter('rocketmq_fsync_total', 'fdatasync calls on the CommitLog', stats.fsyncCount),
    ...counter('rocketmq_messages_flushed_total', 'Messages covered by completed fsyncs', stats.messagesFlushed),
    ...gauge('rocketmq_messages_per_fsync', 'Messages covered per fsync since start', stats.messagesPerFsync),
    ...counter('rocketmq_flush_failed_times_total', 'flushFailedTimes: failed fdatasync calls', stats.flushFailedTimes),
    ...counter('rocketmq_write_failures_total', 'Failed CommitLog writes (ENOSPC, EIO)', stats.writeFailures),
    ...counter('rocketmq_sync_flush_timeouts_total', 'SYNC_FLUSH requests answered FLUSH_DISK_TIMEOUT', stats.syncFlushTimeouts),
    ...gauge('rocketmq_connections', 'Open client connections', metrics.connections),
    ...gauge('rocketmq_transient_store_pool_active', '1 when transientStorePool is in effect', stats.transientStorePoolActive ? 1 : 0),
    ...gauge('process_load1', 'Host load average (1 min)', os.loadavg()[0]),
  ];
  lines.push('# HELP rocketmq_send_status_total Send results by store status', '# TYPE rocketmq_send_status_total counter');
  for (const [status, count] of Object.entries(metrics.sendStatusCounts)) lines.push(`rocketmq_send_status_total{${label},status="${status}"} ${count}`);
  lines.push(...histogramLines('rocketmq_fsync_latency_seconds', 'CommitLog fdatasync latency', stats.fsyncLatency));
  for (const { name, help, histogram } of metrics.histograms) lines.push(...histogramLines(name, help, histogram));
  for (const source of metrics.gaugeSources) {
    for (const [name, value] of Object.entries(source())) lines.push(`# TYPE ${name} gauge`, `${name}{${label}} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}
