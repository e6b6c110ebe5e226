// `--consumers N`: long-polling pull consumers that measure end-to-end latency (producer's
// born timestamp → delivery), starting at each queue's end so only new messages count.
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { createRequest } from '../protocol/remotingCommand.js';
import { RemotingClient } from '../protocol/remotingClient.js';
import { newLatencyHistogram, type Histogram } from '../reports/histogram.js';
import type { WriteQueue } from '../protocol/route.js';

const PULL_FLAG_SUSPEND = 2;
const BORN_TIMESTAMP_OFFSET = 40;
const MAX_MESSAGES_PER_PULL = 32;

export class ConsumerPool {
  readonly histogram: Histogram = newLatencyHistogram();
  received = 0;
  measuring = false;
  private running = false;
  private readonly clients: RemotingClient[] = [];

  constructor(private readonly topic: string, private readonly queues: WriteQueue[], private readonly consumers: number) {}

  private client(address: string): RemotingClient {
    let client = this.clients.find((c) => c.address === address);
    if (!client) this.clients.push((client = new RemotingClient(address)));
    return client;
  }

  private async maxOffset(queue: WriteQueue): Promise<number> {
    const response = await this.client(queue.brokerAddress).invoke(createRequest(RequestCode.GET_MAX_OFFSET, { topic: this.topic, queueId: String(queue.queueId) }), 3000);
    return Number(response.extFields?.offset ?? 0);
  }

  /** Starts every consumer once all start offsets are known; `done` settles after stop(). */
  async start(): Promise<{ done: Promise<void> }> {
    this.running = true;
    const offsets = await Promise.all(this.queues.map((q) => this.maxOffset(q)));
    const loops = Array.from({ length: this.consumers }, (_, c) => {
      const mine = this.queues.map((q, i) => ({ queue: q, offset: offsets[i], index: i })).filter((entry) => entry.index % this.consumers === c);
      return Promise.all(mine.map((entry) => this.pullLoop(entry.queue, entry.offset)));
    });
    return { done: Promise.all(loops).then(() => undefined) };
  }

  private async pullLoop(queue: WriteQueue, startOffset: number): Promise<void> {
    let offset = startOffset;
    while (this.running) {
      try {
        const response = await this.client(queue.brokerAddress).invoke(createRequest(RequestCode.PULL_MESSAGE, {
          consumerGroup: 'benchmark_consumer', topic: this.topic, queueId: String(queue.queueId), queueOffset: String(offset),
          maxMsgNums: String(MAX_MESSAGES_PER_PULL), sysFlag: String(PULL_FLAG_SUSPEND), commitOffset: '0', suspendTimeoutMillis: '1000', subVersion: '0',
        }), 5000);
        const now = Date.now();
        if (response.code === ResponseCode.SUCCESS && response.body) this.recordBatch(response.body, now);
        const next = Number(response.extFields?.nextBeginOffset ?? offset);
        if (Number.isFinite(next)) offset = next;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private recordBatch(body: Buffer, nowMs: number): void {
    for (let p = 0; p + BORN_TIMESTAMP_OFFSET + 8 <= body.length;) {
      const size = body.readInt32BE(p);
      if (size <= 0) break;
      const born = body.readInt32BE(p + BORN_TIMESTAMP_OFFSET) * 0x1_0000_0000 + body.readUInt32BE(p + BORN_TIMESTAMP_OFFSET + 4);
      if (this.measuring) {
        this.histogram.recordValue(Math.max(1, (nowMs - born) * 1000));
        this.received++;
      }
      p += size;
    }
  }

  stop(): void {
    this.running = false;
    for (const client of this.clients) client.close();
  }
}
