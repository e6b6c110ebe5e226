// The scenario load: the bench's own ProducerPool (same frames, same lite decoding, same
// SYSTEM_BUSY back-off) on one topic, with a recorder that also keeps every answer with its send
// and answer time, so a scenario can ask "what happened to the sends made during the fault".
import { SerializeType } from '../../protocol/codes.js';
import { FlushbenchError } from '../../protocol/errors.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { fetchTopicRoute, writeQueues } from '../../protocol/route.js';
import { AckRecorder, type AckStatus, busyReason } from '../ackRecorder.js';
import { ProducerPool } from '../producers.js';
import type { Distribution, HistogramBin } from '../../reports/scenarioData.js';
import { createTopic } from '../topicAdmin.js';

/** One answered (or failed) send; times in ms on Date.now()'s clock. */
export interface SendEvent {
  sentAtMs: number;
  answeredAtMs: number;
  status: AckStatus;
  /** SYSTEM_BUSY's remark prefix ([OVERLOAD] …), else undefined. */
  reason?: string;
}

/** Keeps at most this many events (a closed loop answered at once can produce millions). */
const MAX_EVENTS = 3_000_000;

export class EventRecorder extends AckRecorder {
  readonly events: SendEvent[] = [];
  dropped = 0;

  override record(status: AckStatus, latencyUs: number, remark?: string): void {
    super.record(status, latencyUs, remark);
    const answeredAtMs = Date.now();
    if (this.events.length >= MAX_EVENTS) {
      this.dropped++;
      return;
    }
    this.events.push({ sentAtMs: answeredAtMs - latencyUs / 1000, answeredAtMs, status, ...(status === 'SYSTEM_BUSY' ? { reason: busyReason(remark) } : {}) });
  }
}

export interface ScenarioLoadOptions {
  namesrvAddress: string;
  topic: string;
  queues: number;
  producers: number;
  /** msgs/s across producers (open loop, latency from the scheduled time); null = closed loop. */
  rate: number | null;
  sizeBytes: number;
  sendTimeoutMs: number;
}

export interface ScenarioLoad {
  recorder: EventRecorder;
  stop(): Promise<void>;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates the topic, waits for its route (max 15 s) and starts the producers; the recorder measures from the start. */
export async function startScenarioLoad(o: ScenarioLoadOptions): Promise<ScenarioLoad> {
  await createTopic(o.namesrvAddress, o.topic, { queues: o.queues });
  const nameClient = new RemotingClient(o.namesrvAddress);
  let queues = [] as ReturnType<typeof writeQueues>;
  try {
    for (let attempt = 0; attempt < 150 && queues.length === 0; attempt++) {
      const route = await fetchTopicRoute(nameClient, o.topic).catch(() => null);
      if (route) queues = writeQueues(route).filter((q) => q.queueId < o.queues);
      if (queues.length === 0) await sleep(100);
    }
  } finally {
    nameClient.close();
  }
  if (queues.length === 0) throw new FlushbenchError('NO_ROUTE', `topic ${o.topic} got no writable route from ${o.namesrvAddress} within 15 s`);
  const clients = new Map<string, RemotingClient[]>();
  let round = 0;
  const clientFor = (address: string): RemotingClient => {
    let list = clients.get(address);
    if (!list) {
      // 16 producers per connection, as bench run does.
      list = Array.from({ length: Math.max(1, Math.ceil(o.producers / 16)) }, () => new RemotingClient(address, { liteResponses: true }));
      clients.set(address, list);
    }
    return list[round++ % list.length];
  };
  const recorder = new EventRecorder();
  recorder.startMeasuring();
  const pool = new ProducerPool({
    producers: o.producers, sizeBytes: o.sizeBytes, batch: 1, topic: o.topic, rate: o.rate, sendTimeoutMs: o.sendTimeoutMs,
    producerGroup: 'scenario_producer', serializeType: SerializeType.ROCKETMQ,
  }, queues, clientFor, recorder);
  const done = pool.run();
  let stopping: Promise<void> | null = null;
  const stop = async () => {
    pool.stop();
    await done;
    recorder.stopMeasuring();
    for (const list of clients.values()) for (const client of list) client.close();
  };
  return { recorder, stop: () => (stopping ??= stop()) };
}

/** Summary of a list of numbers (rounded to 0.1); n = 0 gives zeros. */
export function distributionOf(values: readonly number[]): Distribution {
  if (values.length === 0) return { n: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    n: sorted.length, min: round(sorted[0]), p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(sorted[sorted.length - 1]),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  };
}

export function histogramOf(values: readonly number[], widthMs: number, bins: number): HistogramBin[] {
  const out = Array.from({ length: bins }, (_, i) => ({ lowerMs: i * widthMs, count: 0 }));
  for (const v of values) out[Math.max(0, Math.min(bins - 1, Math.floor(v / widthMs)))].count++;
  return out;
}

/** Status → count; withReasons splits SYSTEM_BUSY by remark prefix (`SYSTEM_BUSY[OVERLOAD]`). */
export function countStatuses(events: readonly SendEvent[], withReasons = false): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) {
    const key = withReasons && e.reason ? `${e.status}${e.reason}` : e.status;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
