// Counters the broker exposes (flushBehindBytes, fsyncs, messages per fsync, flushFailedTimes …).

/** Upper bounds (ms) of the fsync latency histogram buckets, Prometheus style (+Inf implied). */
export const FSYNC_BUCKETS_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000] as const;

export class LatencyHistogram {
  readonly bucketCounts = new Array<number>(FSYNC_BUCKETS_MS.length + 1).fill(0);
  count = 0;
  sumMs = 0;
  maxMs = 0;

  record(valueMs: number): void {
    let i = 0;
    while (i < FSYNC_BUCKETS_MS.length && valueMs > FSYNC_BUCKETS_MS[i]) i++;
    this.bucketCounts[i]++;
    this.count++;
    this.sumMs += valueMs;
    if (valueMs > this.maxMs) this.maxMs = valueMs;
  }
}

export class StoreMetrics {
  messagesAppended = 0;
  messagesCommitted = 0;
  bytesAppended = 0;
  /** Messages covered by fsyncs so far; messagesFlushed / fsyncCount = messages per fsync. */
  messagesFlushed = 0;
  fsyncCount = 0;
  readonly fsyncLatency = new LatencyHistogram();
  /** Failed fdatasync calls (RocketMQ's flushFailedTimes would count failed flushes). */
  flushFailedTimes = 0;
  writeFailures = 0;
  lastWriteError: string | null = null;
  syncFlushTimeouts = 0;
}
