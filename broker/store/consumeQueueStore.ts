// All ConsumeQueues of a store (`consumequeue/<topic>/<queueId>/`), plus their flush loop
// (flushIntervalConsumeQueue 1000 ms, leastPages 2, thorough every 60 s).
import fs from 'node:fs';
import path from 'node:path';
import { childLogger } from '../../protocol/logger.js';
import { errorMessage, FlushbenchError } from '../../protocol/errors.js';
import { ConsumeQueue } from './consumeQueue.js';
import type { FileIo } from './fileIo.js';

const log = childLogger('consumequeue');

/** RocketMQ's TopicValidator: what a topic may be called (also a safe directory name). */
export const VALID_TOPIC = /^[%|a-zA-Z0-9_-]+$/;
export const TOPIC_MAX_LENGTH = 127;

export function isValidTopicName(topic: string): boolean {
  return topic.length > 0 && topic.length <= TOPIC_MAX_LENGTH && VALID_TOPIC.test(topic);
}

/** A topic/queue would map to a path outside `consumequeue/` (defence in depth behind the server's name checks). */
export class StorePathEscapeError extends FlushbenchError {
  constructor(topic: string, queueId: number, resolved: string, root: string) {
    super('STORE_PATH_ESCAPE', `topic ${JSON.stringify(topic)} queueId ${queueId} maps to ${resolved}, outside ${root}; ` +
      'topic names must match ^[%|a-zA-Z0-9_-]+$ (≤ 127 characters) and queue ids be non-negative integers');
  }
}

export class ConsumeQueueStore {
  private readonly topics = new Map<string, Map<number, ConsumeQueue>>();
  private timer: NodeJS.Timeout | null = null;
  private lastThoroughFlushMs = Date.now();
  private flushing: Promise<void> = Promise.resolve();

  private readonly rootResolved: string;

  constructor(private readonly io: FileIo, readonly rootDir: string, private readonly fileSizeBytes: number) {
    this.rootResolved = path.resolve(rootDir);
  }

  /** Throws StorePathEscapeError unless `consumequeue/<topic>/<queueId>` stays two levels inside the root. */
  queueDir(topic: string, queueId: number): string {
    const dir = path.resolve(this.rootResolved, topic, String(queueId));
    const topicDir = path.dirname(dir);
    if (!Number.isInteger(queueId) || queueId < 0 || !dir.startsWith(this.rootResolved + path.sep) ||
        path.dirname(topicDir) !== this.rootResolved || path.basename(topicDir) !== topic) {
      throw new StorePathEscapeError(topic, queueId, dir, this.rootResolved);
    }
    return dir;
  }

  findOrCreate(topic: string, queueId: number): ConsumeQueue {
    let queues = this.topics.get(topic);
    let queue = queues?.get(queueId);
    if (queue) return queue;
    const dir = this.queueDir(topic, queueId); // checked before anything is created
    if (!queues) this.topics.set(topic, (queues = new Map()));
    queue = new ConsumeQueue(this.io, topic, queueId, dir, this.fileSizeBytes);
    queues.set(queueId, queue);
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

  /**
   * Runs `round(leastPages)` every intervalMs (leastPages 0 once per thorough interval). An
   * error stops the loop and goes to onError (the store fails: a ConsumeQueue fdatasync error
   * is as fatal as a CommitLog one, and a later "successful" fsync could not be trusted),
   * except a write or create refused with ENOSPC: nothing was lost, so the loop goes on and
   * the next round writes the same entries again (RocketMQ's mmap never sees ENOSPC; its
   * disk-full guard stops puts at 90 % instead, as ours does).
   */
  /** Rounds whose write was refused with ENOSPC (and retried). */
  spaceRefusals = 0;

  startFlushLoop(intervalMs: number, leastPages: number, thoroughIntervalMs: number, round: (leastPages: number) => Promise<void>, onError: (error: Error) => void): void {
    const tick = () => {
      const now = Date.now();
      let pages = leastPages;
      if (now >= this.lastThoroughFlushMs + thoroughIntervalMs) {
        this.lastThoroughFlushMs = now;
        pages = 0;
      }
      this.flushing = round(pages).then(() => {
        if (this.timer) this.timer = setTimeout(tick, intervalMs);
      }, (error: unknown) => {
        if (isSpaceRefusal(error) && this.timer) {
          // The entries stay in memory (nothing was counted as written): the next round retries.
          this.spaceRefusals++;
          if (this.spaceRefusals === 1 || this.spaceRefusals % 60 === 0) log.warn({ err: errorMessage(error), times: this.spaceRefusals }, 'ConsumeQueue write refused for space (ENOSPC); retrying every round');
          this.timer = setTimeout(tick, intervalMs);
          return;
        }
        this.timer = null;
        log.error({ err: errorMessage(error) }, 'ConsumeQueue write/flush failed');
        onError(error instanceof Error ? error : new Error(String(error)));
      });
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  /** Writes dirty entries, fdatasyncs per the page test; true when no written entry is left unflushed. */
  async writeAndFlush(leastPages: number): Promise<boolean> {
    for (const queue of this.all()) await queue.writeDirty();
    let allFlushed = true;
    for (const queue of this.all()) {
      await queue.flush(leastPages);
      if (queue.hasUnflushedEntries) allFlushed = false;
    }
    return allFlushed;
  }

  /** Simulated crash: stop the loop without writing. */
  halt(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Stops the loop and waits for a round in progress; the caller runs the last round, then close(). */
  async stopFlushLoop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flushing;
  }

  async close(): Promise<void> {
    for (const queue of this.all()) await queue.close();
  }
}

/** ENOSPC from a write or a file creation; an fdatasync ENOSPC stays fatal (its pages may be gone). */
function isSpaceRefusal(error: unknown): boolean {
  const { code, syscall } = error as NodeJS.ErrnoException;
  return code === 'ENOSPC' && (syscall === 'write' || syscall === 'open');
}
