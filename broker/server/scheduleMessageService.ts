// ScheduleMessageService (RocketMQ 4.x store/schedule/ScheduleMessageService.java, checked against
// rocketmq-all-4.9.7): delay-level messages and delayed consumer retries.
//
// A send with DELAY = n > 0 is stored in SCHEDULE_TOPIC_XXXX queue n − 1 with its real topic and
// queue in REAL_TOPIC / REAL_QID (toScheduleTopic, CommitLog.putMessage's delay branch); the
// store gives that ConsumeQueue entry its deliver time as tag code (store/delayLevels.ts). One
// timer chain per level walks its queue from the saved offset and puts every due message back
// into its real topic. Offsets go to config/delayOffset.json every flushDelayOffsetInterval and
// at shutdown, so a restart neither loses nor repeats deliveries. Only a master delivers.
import fs from 'node:fs';
import { errnoCode, errorMessage, FlushbenchError } from '../../protocol/errors.js';
import { childLogger, type Logger } from '../../protocol/logger.js';
import { parseLenientJson } from '../../protocol/lenientJson.js';
import { delayLevelOf, SCHEDULE_TOPIC } from '../store/delayLevels.js';
import {
  findProperty, type MessageToStore, parseProperties, serializeProperties, type StoredMessage, SysFlag,
} from '../store/messageCodec.js';
import type { MessageStore } from '../store/messageStore.js';
import { INT32_MAX } from './headerFields.js';
import { topicNameProblem } from './nameValidator.js';
import { writeFileDurably } from '../durableFile.js';

/** FIRST_DELAY_TIME: each level's first look, after start. */
export const FIRST_DELAY_MS = 1000;
/** DELAY_FOR_A_WHILE: the next look when nothing is due, or a put failed. */
export const DELAY_FOR_A_WHILE_MS = 100;
/** DELAY_FOR_A_PERIOD: the next look after an unexpected error. */
export const DELAY_FOR_A_PERIOD_MS = 10_000;
/** Entries one run looks at (RocketMQ: the rest of a mapped file); more wait for the next turn. */
const ENTRIES_PER_RUN_MAX = 1024;
/** ConsumeQueue filler entry before a queue's first message: nothing to deliver. */
const GAP_ENTRY_SIZE = 0x7fffffff;
/** A half transaction message must never reach its real topic this way (RocketMQ logs and drops it). */
const TRANS_HALF_TOPIC = 'RMQ_SYS_TRANS_HALF_TOPIC';

/**
 * CommitLog.putMessage's delay branch: a non-transactional or committed message with DELAY > 0
 * goes to SCHEDULE_TOPIC_XXXX queue level − 1, the level capped at the highest one, with
 * REAL_TOPIC / REAL_QID saved. Any other message comes back unchanged. `requested`: the DELAY
 * level, when the caller has already read it from the properties.
 */
export function toScheduleTopic(message: MessageToStore, maxDelayLevel: number, requested = delayLevelOf(message.properties)): MessageToStore {
  const transactionType = message.sysFlag & SysFlag.TRANSACTION_ROLLBACK;
  if (transactionType !== 0 && transactionType !== SysFlag.TRANSACTION_COMMIT) return message;
  if (requested <= 0) return message;
  const level = Math.min(requested, maxDelayLevel);
  const properties = parseProperties(message.properties);
  if (level !== requested) properties.set('DELAY', String(level));
  properties.set('REAL_TOPIC', message.topic);
  properties.set('REAL_QID', String(message.queueId));
  return { ...message, topic: SCHEDULE_TOPIC, queueId: level - 1, properties: serializeProperties(properties) };
}

/**
 * messageTimeup: the delayed message as it goes back to its real topic, or null when it names
 * none. The properties stay as stored: RocketMQ serialises them before it clears DELAY from
 * the map, so the delivered record still carries DELAY, REAL_TOPIC and REAL_QID.
 */
export function restoredFromSchedule(message: StoredMessage): MessageToStore | null {
  const topic = findProperty(message.properties, 'REAL_TOPIC');
  const queueIdText = findProperty(message.properties, 'REAL_QID') ?? '';
  const queueId = /^\d{1,10}$/.test(queueIdText) ? Number(queueIdText) : -1;
  // The properties are client data: a path-like REAL_TOPIC must not become a ConsumeQueue directory.
  if (!topic || topicNameProblem(topic) || topic === TRANS_HALF_TOPIC || queueId < 0 || queueId > INT32_MAX) return null;
  return {
    topic, queueId, flag: message.flag, body: message.body, properties: message.properties, sysFlag: message.sysFlag,
    bornTimestamp: message.bornTimestamp, bornHost: message.bornHost, storeHost: message.storeHost,
    reconsumeTimes: message.reconsumeTimes, preparedTransactionOffset: 0,
  };
}

export interface ScheduleMessageSettings {
  store: MessageStore;
  /** config/delayOffset.json (StorePathConfigHelper.getDelayOffsetStorePath). */
  delayOffsetPath: string;
  /** flushDelayOffsetInterval: ms between writes of the offsets. */
  flushDelayOffsetIntervalMs: number;
  logger?: Logger;
}

function badOffsetFile(file: string, problem: string): FlushbenchError {
  return new FlushbenchError('BAD_DELAY_OFFSET_FILE',
    `${file} ${problem}; expected RocketMQ's {"offsetTable":{"<delayLevel>":<offset>}}. Fix the file, or delete it to ` +
    'deliver every message still in SCHEDULE_TOPIC_XXXX again. Nothing was changed.');
}

export class ScheduleMessageService {
  /** Delay level → next SCHEDULE_TOPIC_XXXX queue offset to deliver; a level appears once it delivered. */
  private readonly offsetTable = new Map<number, number>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  /** Levels whose last put failed: warn once per failure streak, not every 100 ms. */
  private readonly failingLevels = new Set<number>();
  private persistTimer: NodeJS.Timeout | null = null;
  private persistedJson: string | null = null;
  private started = false;
  private readonly log: Logger;
  private delivered = 0;

  /** Loads the saved offsets (a broken file stops the broker start, as in RocketMQ). */
  constructor(private readonly settings: ScheduleMessageSettings) {
    this.log = settings.logger ?? childLogger('schedule');
    this.load();
  }

  /** Messages put back into their real topic since start. */
  get deliveredCount(): number {
    return this.delivered;
  }

  get maxDelayLevel(): number {
    return this.settings.store.delayLevelsMs.length;
  }

  private load(): void {
    const file = this.settings.delayOffsetPath;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return;
      throw new FlushbenchError('DELAY_OFFSET_UNREADABLE', `cannot read ${file} (${errnoCode(error) ?? errorMessage(error)}); make it readable by the broker`);
    }
    if (text.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = parseLenientJson(text); // fastjson (a Java master, via SlaveSynchronize) writes the level keys bare
    } catch (error) {
      throw badOffsetFile(file, `is not JSON (${errorMessage(error)})`);
    }
    const table = (parsed as { offsetTable?: unknown } | null)?.offsetTable;
    if (typeof table !== 'object' || table === null || Array.isArray(table)) throw badOffsetFile(file, 'has no object "offsetTable"');
    for (const [key, offset] of Object.entries(table)) {
      const level = Number(key);
      if (!/^\d+$/.test(key) || level < 1) throw badOffsetFile(file, `has delay level "${key}"`);
      if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw badOffsetFile(file, `has offset ${JSON.stringify(offset)} for level ${key}`);
      this.offsetTable.set(level, offset);
    }
    this.persistedJson = this.encode();
    this.correctDelayOffset();
  }

  /** correctDelayOffset: an offset outside its queue (store files removed or replaced) is clamped to it. */
  private correctDelayOffset(): void {
    for (const [level, offset] of this.offsetTable) {
      const queue = this.settings.store.queues.find(SCHEDULE_TOPIC, level - 1);
      if (!queue || level > this.maxDelayLevel) continue;
      const corrected = Math.min(Math.max(offset, queue.minOffset), queue.maxOffset);
      if (corrected === offset) continue;
      this.log.error({ level, offset, corrected, minOffset: queue.minOffset, maxOffset: queue.maxOffset }, 'delay offset outside its SCHEDULE_TOPIC_XXXX queue; corrected');
      this.offsetTable.set(level, corrected);
    }
  }

  /** Masters only (DefaultMessageStore.handleScheduleMessageService): one timer chain per level, plus the offset writer. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (let level = 1; level <= this.maxDelayLevel; level++) this.schedule(level, this.offsetTable.get(level) ?? 0, FIRST_DELAY_MS);
    this.persistTimer = setInterval(() => this.persist(), this.settings.flushDelayOffsetIntervalMs);
    this.persistTimer.unref();
  }

  /** Stops the timers (a run is synchronous, so none is half done) and writes the offsets. */
  shutdown(): void {
    if (!this.started) return;
    this.started = false;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    if (this.persistTimer) clearInterval(this.persistTimer);
    this.persist();
  }

  /** DelayOffsetSerializeWrapper JSON (GET_ALL_DELAY_OFFSET, delayOffset.json); keys quoted, fastjson writes them bare. */
  encode(): string {
    return JSON.stringify({ offsetTable: Object.fromEntries(this.offsetTable) });
  }

  /** buildRunningStats: scheduleMessageOffset_<level> = "<delay offset>,<queue max offset>" (GET_BROKER_RUNTIME_INFO). */
  runningStats(): Record<string, string> {
    const stats: Record<string, string> = {};
    for (const [level, offset] of this.offsetTable) {
      stats[`scheduleMessageOffset_${level}`] = `${offset},${this.settings.store.getMaxOffsetInQueue(SCHEDULE_TOPIC, level - 1)}`;
    }
    return stats;
  }

  private schedule(level: number, offset: number, delayMs: number): void {
    const timer = setTimeout(() => this.run(level, offset), delayMs);
    timer.unref();
    this.timers.set(level, timer);
  }

  private run(level: number, offset: number): void {
    this.timers.delete(level);
    if (!this.started) return;
    let next: { offset: number; delayMs: number };
    try {
      next = this.deliverDue(level, offset);
    } catch (error) {
      this.log.error({ level, offset, err: errorMessage(error) }, 'delayed delivery failed; retrying this level in 10 s');
      next = { offset, delayMs: DELAY_FOR_A_PERIOD_MS };
    }
    if (this.started) this.schedule(level, next.offset, next.delayMs);
  }

  /**
   * DeliverDelayedMessageTimerTask.executeOnTimeup: puts every due message from `offset` back
   * into its real topic, in queue order; returns where and how soon to look again.
   */
  private deliverDue(level: number, fromOffset: number): { offset: number; delayMs: number } {
    const store = this.settings.store;
    const queue = store.queues.find(SCHEDULE_TOPIC, level - 1);
    if (!queue) return { offset: fromOffset, delayMs: DELAY_FOR_A_WHILE_MS };
    const offset = Math.min(Math.max(fromOffset, queue.minOffset), queue.maxOffset);
    if (offset !== fromOffset) this.log.error({ level, fromOffset, offset }, 'schedule queue offset invalid; reset to the queue bounds');
    const levelDelayMs = store.delayLevelsMs[level - 1];
    const end = Math.min(queue.maxOffset, offset + ENTRIES_PER_RUN_MAX);
    let next = offset;
    for (; next < end; next++) {
      const entry = queue.getEntry(next);
      if (!entry || entry.sizeBytes === GAP_ENTRY_SIZE) continue;
      const now = Date.now();
      // correctDeliverTimestamp: a deliver time beyond now + the level's delay (the clock went
      // back, or the level was shortened) is due now.
      const deliverAtMs = entry.tagsCode > now + levelDelayMs ? now : entry.tagsCode;
      if (deliverAtMs > now) return { offset: next, delayMs: DELAY_FOR_A_WHILE_MS };
      const stored = store.lookMessageByOffset(entry.physicalOffset);
      if (!stored) continue;
      const message = restoredFromSchedule(stored);
      if (!message) {
        this.log.error({ level, queueOffset: next, physicalOffset: entry.physicalOffset }, 'delayed message without a usable REAL_TOPIC/REAL_QID (or a half transaction); skipped');
        continue;
      }
      // setWaitStoreMsgOK(false): the put does not wait for the flush or a slave.
      const result = store.appendMessage(message, false);
      if (result.status !== 'PUT_OK') {
        if (!this.failingLevels.has(level)) this.log.warn({ level, status: result.status, reason: result.reason }, 'cannot put a due delayed message back; retrying every 100 ms');
        this.failingLevels.add(level);
        return { offset: next, delayMs: DELAY_FOR_A_WHILE_MS };
      }
      if (this.failingLevels.delete(level)) this.log.info({ level }, 'delayed delivery works again');
      this.offsetTable.set(level, next + 1);
      this.delivered++;
    }
    return { offset: next, delayMs: next < queue.maxOffset ? 0 : DELAY_FOR_A_WHILE_MS };
  }

  /** Write-then-rename, and only when the table changed since the last write. */
  private persist(): void {
    const json = this.encode();
    if (json === this.persistedJson) return;
    const file = this.settings.delayOffsetPath;
    try {
      writeFileDurably(file, json);
      this.persistedJson = json;
    } catch (error) {
      this.log.error({ file, err: errorMessage(error) }, 'cannot write the delay offsets; a restart would deliver some delayed messages again');
    }
  }
}
