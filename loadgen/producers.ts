// The load: N producers sending SEND_MESSAGE_V2 over the remoting protocol, like RocketMQ's
// benchmark Producer (-w threads, -s size). Closed loop by default (each producer awaits its
// ack, then sends again); with a rate, open loop: sends are scheduled at fixed intervals and
// latency is measured from the scheduled time (coordinated-omission correction).
import { randomBytes } from 'node:crypto';
import { encodeBatchBody, sendBatchMessageRequest, sendMessageV2Request } from '../protocol/requests/sendMessage.js';
import type { RemotingClient } from '../protocol/remotingClient.js';
import { type AckRecorder, ackStatusForCode } from './ackRecorder.js';
import type { WriteQueue } from '../protocol/route.js';
import { SendTemplate } from './sendTemplate.js';
import type { SerializeTypeValue } from '../protocol/codes.js';

export interface ProducerLoad {
  producers: number;
  sizeBytes: number;
  /** Messages per SEND_BATCH_MESSAGE request; 1 = single sends (SEND_MESSAGE_V2). */
  batch: number;
  topic: string;
  /** Total messages per second across producers; null = closed loop. */
  rate: number | null;
  sendTimeoutMs: number;
  producerGroup: string;
  serializeType: SerializeTypeValue;
}

/** A 128 B body like RocketMQ ≥ 4.9.3's benchmark: random alphanumeric of the message size. */
export function benchmarkBody(sizeBytes: number): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const random = randomBytes(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) random[i] = alphabet.charCodeAt(random[i] % alphabet.length);
  return random;
}

export class ProducerPool {
  private running = false;
  private nextQueue = 0;
  private readonly body: Buffer;
  private readonly batchBody: Buffer | null;
  private readonly templates: SendTemplate[];
  private uniqueCounter = 0;
  inFlight = 0;

  constructor(
    private readonly load: ProducerLoad,
    private readonly queues: WriteQueue[],
    private readonly clientFor: (brokerAddress: string) => RemotingClient,
    private readonly recorder: AckRecorder,
  ) {
    if (queues.length === 0) throw new Error(`topic ${load.topic} has no writable queue`);
    this.body = benchmarkBody(load.sizeBytes);
    this.batchBody = load.batch > 1 ? encodeBatchBody(Array.from({ length: load.batch }, () => ({ body: this.body, properties: 'WAIT\u0001true' }))) : null;
    this.templates = queues.map((q) => new SendTemplate({ producerGroup: load.producerGroup, topic: load.topic, queueId: q.queueId }, this.body, load.serializeType));
  }

  /** Runs until stop(); resolves when every producer has finished its last send. */
  async run(): Promise<void> {
    this.running = true;
    if (this.load.rate === null) {
      await Promise.all(Array.from({ length: this.load.producers }, () => this.closedLoop()));
    } else {
      await this.openLoop(this.load.rate);
    }
  }

  stop(): void {
    this.running = false;
  }

  /** One producer: its own copy of each queue's request frame, patched and resent. */
  private async closedLoop(): Promise<void> {
    const frames: Array<Buffer | undefined> = [];
    while (this.running) {
      const index = this.nextQueue++ % this.queues.length;
      if (this.batchBody) {
        await this.sendOnce(performance.now(), index);
        continue;
      }
      const frame = frames[index] ?? (frames[index] = this.templates[index].copy());
      const reusable = await this.sendFrame(index, frame, performance.now());
      if (!reusable) frames[index] = undefined; // a timed-out frame may still sit in the socket
    }
  }

  /** Sends a template frame; returns false when the frame must not be reused. */
  private async sendFrame(index: number, frame: Buffer, intendedStartMs: number): Promise<boolean> {
    const queue = this.queues[index];
    const opaque = this.templates[index].fill(frame, this.uniqueCounter++);
    this.inFlight++;
    try {
      const response = await this.clientFor(queue.brokerAddress).invokeEncoded(frame, opaque, this.load.sendTimeoutMs);
      const status = ackStatusForCode(response.code, response.remark);
      this.recorder.record(status, (performance.now() - intendedStartMs) * 1000, response.remark);
      if (status === 'SYSTEM_BUSY' || status === 'SYSTEM_ERROR' || status === 'OS_PAGECACHE_BUSY') await new Promise((r) => setTimeout(r, 100));
      return true;
    } catch (error) {
      const code = (error as { code?: string }).code;
      this.recorder.record(code === 'TIMEOUT' ? 'TIMEOUT' : 'CONNECTION_ERROR', (performance.now() - intendedStartMs) * 1000);
      await new Promise((r) => setTimeout(r, 50));
      return false;
    } finally {
      this.inFlight--;
    }
  }

  /** Open loop: a send is due every 1/rate s; if the producers fall behind, sends queue up. */
  private async openLoop(ratePerSecond: number): Promise<void> {
    const intervalMs = (1000 * this.load.batch) / ratePerSecond;
    const start = performance.now();
    let scheduled = 0;
    const pending = new Set<Promise<void>>();
    while (this.running) {
      const now = performance.now();
      while (start + scheduled * intervalMs <= now && this.inFlight < this.load.producers * 64) {
        const intended = start + scheduled * intervalMs;
        scheduled++;
        const index = this.nextQueue++ % this.queues.length;
        const send = (this.batchBody ? this.sendOnce(intended, index) : this.sendFrame(index, this.templates[index].copy(), intended).then(() => {}))
          .finally(() => pending.delete(send));
        pending.add(send);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(10, intervalMs))));
    }
    await Promise.all(pending);
  }

  /** Batch sends (SEND_BATCH_MESSAGE) take the general encoder. */
  private async sendOnce(intendedStartMs: number, index: number): Promise<void> {
    const queue = this.queues[index];
    const batch = this.batchBody !== null;
    const fields = { producerGroup: this.load.producerGroup, topic: this.load.topic, queueId: queue.queueId, properties: '' };
    const request = batch
      ? sendBatchMessageRequest(fields, this.batchBody as Buffer, this.load.serializeType)
      : sendMessageV2Request({ ...fields, properties: `UNIQ_KEY\u0001${this.nextQueue}\u0002WAIT\u0001true` }, this.body, this.load.serializeType);
    this.inFlight++;
    try {
      const response = await this.clientFor(queue.brokerAddress).invoke(request, this.load.sendTimeoutMs);
      const status = ackStatusForCode(response.code, response.remark);
      const latencyUs = (performance.now() - intendedStartMs) * 1000;
      for (let i = 0; i < this.load.batch; i++) this.recorder.record(status, latencyUs, response.remark);
      if (status === 'SYSTEM_BUSY' || status === 'SYSTEM_ERROR' || status === 'OS_PAGECACHE_BUSY') await new Promise((r) => setTimeout(r, 100));
    } catch (error) {
      const code = (error as { code?: string }).code;
      for (let i = 0; i < this.load.batch; i++) this.recorder.record(code === 'TIMEOUT' ? 'TIMEOUT' : 'CONNECTION_ERROR', (performance.now() - intendedStartMs) * 1000);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      this.inFlight--;
    }
  }
}
