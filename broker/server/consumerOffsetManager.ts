// Committed consumer offsets (ConsumerOffsetManager): "topic@group" → queueId → offset,
// persisted to config/consumerOffset.json every 5 s and at shutdown (write-then-rename).
import fs from 'node:fs';
import { childLogger } from '../../protocol/logger.js';
import { writeFileDurably } from '../durableFile.js';

const log = childLogger('consumer-offsets');
const PERSIST_INTERVAL_MS = 5000;

export class ConsumerOffsetManager {
  private readonly offsets = new Map<string, Map<number, number>>();
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly filePath: string) {
    this.load();
  }

  private load(): void {
    if (!fs.existsSync(this.filePath)) return;
    try {
      const parsed = JSON.parse(fs.readFileSync(this.filePath, 'utf8')) as { offsetTable?: Record<string, Record<string, number>> };
      for (const [key, table] of Object.entries(parsed.offsetTable ?? {})) {
        this.offsets.set(key, new Map(Object.entries(table).map(([queueId, offset]) => [Number(queueId), offset])));
      }
    } catch (error) {
      log.error({ file: this.filePath, err: String(error) }, 'cannot read consumerOffset.json; consumers start from their ConsumeFromWhere (file kept)');
    }
  }

  start(): void {
    this.timer = setInterval(() => this.persistIfDirty(), PERSIST_INTERVAL_MS);
    this.timer.unref();
  }

  commit(group: string, topic: string, queueId: number, offset: number): void {
    const key = `${topic}@${group}`;
    let table = this.offsets.get(key);
    if (!table) this.offsets.set(key, (table = new Map()));
    table.set(queueId, offset);
    this.dirty = true;
  }

  /** The committed offset, or -1 when the group never committed one for this queue. */
  query(group: string, topic: string, queueId: number): number {
    return this.offsets.get(`${topic}@${group}`)?.get(queueId) ?? -1;
  }

  /** Topics the group committed an offset for (ConsumerOffsetManager.whichTopicByConsumer). */
  topicsOfGroup(group: string): string[] {
    return [...this.offsets.keys()].filter((key) => key.endsWith(`@${group}`) && key.length > group.length + 1).map((key) => key.slice(0, -group.length - 1));
  }

  /** Groups that committed an offset for the topic (whichGroupByTopic). */
  groupsOfTopic(topic: string): string[] {
    return [...this.offsets.keys()].filter((key) => key.startsWith(`${topic}@`)).map((key) => key.slice(topic.length + 1));
  }

  /**
   * The table as RocketMQ's ConsumerOffsetManager.encode() writes it (GET_ALL_CONSUMER_OFFSET,
   * consumerOffset.json): {"offsetTable":{"topic@group":{"queueId":offset}}}. Keys are quoted
   * (standard JSON); fastjson writes the queueId keys bare and reads both.
   */
  encode(pretty = false): string {
    const offsetTable: Record<string, Record<string, number>> = {};
    for (const [key, table] of this.offsets) offsetTable[key] = Object.fromEntries(table);
    return pretty ? JSON.stringify({ offsetTable }, null, 2) : JSON.stringify({ offsetTable });
  }

  /**
   * SlaveSynchronize.syncConsumerOffset: offsetTable.putAll(master's). Every "topic@group" the
   * master has replaces this broker's entry whole; entries only this broker has (offsets
   * committed to a slave while its master was away) stay. Persisted at once.
   */
  putAllFromMaster(table: ReadonlyMap<string, ReadonlyMap<number, number>>): void {
    for (const [key, queues] of table) this.offsets.set(key, new Map(queues));
    this.dirty = true;
    this.persistIfDirty();
  }

  persistIfDirty(): void {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      writeFileDurably(this.filePath, this.encode(true));
    } catch (error) {
      this.dirty = true;
      log.error({ file: this.filePath, err: String(error) }, 'cannot persist consumer offsets; will retry');
    }
  }

  shutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.persistIfDirty();
  }
}
