// All ConsumeQueues of a store (`consumequeue/<topic>/<queueId>/`), plus their flush loop
// (flushIntervalConsumeQueue 1000 ms, leastPages 2, thorough every 60 s).
import fs from 'node:fs';
import path from 'node:path';
import { childLogger } from '../../protocol/logger.js';
import { errorMessage } from '../../protocol/errors.js';
import { ConsumeQueue } from './consumeQueue.js';
import type { FileIo } from './fileIo.js';

const log = childLogger('consumequeue');

export class ConsumeQueueStore {
  private readonly topics = new Map<string, Map<number, ConsumeQueue>>();
  private timer: NodeJS.Timeout | null = null;
  private lastThoroughFlushMs = Date.now();
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly io: FileIo, readonly rootDir: string, private readonly fileSizeBytes: number) {}

  findOrCreate(topic: string, queueId: number): ConsumeQueue {
    let queues = this.topics.get(topic);
    if (!queues) this.topics.set(topic, (queues = new Map()));
    let queue = queues.get(queueId);
    if (!queue) {
      queue = new ConsumeQueue(this.io, topic, queueId, path.join(this.rootDir, topic, String(queueId)), this.fileSizeBytes);
      queues.set(queueId, queue);
    }
    return queue;
  }

  find(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.topics.get(topic)?.get(queueId);
  }

  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  *all(): IterableIterator<ConsumeQueue> {
    for (const queues of this.topics.values()) yield* queues.values();
  }

  /** Loads every queue directory found on disk. */
  loadAll(): void {
    if (!fs.existsSync(this.rootDir)) return;
    for (const topic of fs.readdirSync(this.rootDir)) {
      const topicDir = path.join(this.rootDir, topic);
      if (!fs.statSync(topicDir).isDirectory()) continue;
      for (const queueName of fs.readdirSync(topicDir)) {
        if (!/^\d+$/.test(queueName)) continue;
        this.findOrCreate(topic, Number(queueName)).load();
      }
    }
  }

  /** Highest CommitLog end any queue points at: where re-dispatch resumes (RocketMQ's rule). */
  maxPhysicalEnd(): number {
    let max = 0;
    for (const queue of this.all()) max = Math.max(max, queue.maxPhysicalEnd);
    return max;
  }

  /** Starts the periodic write+flush; `onFlushed` receives the dispatch watermark it covered. */
  startFlushLoop(intervalMs: number, leastPages: number, thoroughIntervalMs: number, onWritten: (watermark: number) => void, watermark: () => number): void {
    const tick = () => {
      const now = Date.now();
      let pages = leastPages;
      if (now >= this.lastThoroughFlushMs + thoroughIntervalMs) {
        this.lastThoroughFlushMs = now;
        pages = 0;
      }
      this.flushing = this.writeAndFlush(pages, onWritten, watermark).finally(() => {
        if (this.timer) this.timer = setTimeout(tick, intervalMs);
      });
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  async writeAndFlush(leastPages: number, onWritten: (watermark: number) => void, watermark: () => number): Promise<void> {
    const covered = watermark();
    try {
      for (const queue of this.all()) await queue.writeDirty();
      onWritten(covered);
      for (const queue of this.all()) await queue.flush(leastPages);
    } catch (error) {
      log.error({ err: errorMessage(error) }, 'ConsumeQueue write/flush failed; will retry');
    }
  }

  /** Simulated crash: stop the loop without writing. */
  halt(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async shutdown(onWritten: (watermark: number) => void, watermark: () => number): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flushing;
    await this.writeAndFlush(0, onWritten, watermark);
    for (const queue of this.all()) await queue.close();
  }
}
