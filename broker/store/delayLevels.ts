// Delay levels as the store sees them (RocketMQ 4.x ScheduleMessageService.parseDelayLevel and
// computeDeliverTimestamp, CommitLog.checkMessageAndReturnSize's "timing message" branch).
// A SCHEDULE_TOPIC_XXXX entry's ConsumeQueue tag code is its deliver time (store time + the
// level's delay), so the delivery timer can tell from the ConsumeQueue alone whether an entry
// is due, without reading the CommitLog.
import { FlushbenchError } from '../../protocol/errors.js';
import { findProperty, tagsCodeOf } from './messageCodec.js';
import { delayLevelFromValue } from './sendProperties.js';

/** TopicValidator.RMQ_SYS_SCHEDULE_TOPIC: delayed messages wait here, queueId = level − 1. */
export const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
/** MessageStoreConfig.messageDelayLevel default (levels 1…18). */
export const DEFAULT_MESSAGE_DELAY_LEVEL = '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h';
/** The units parseDelayLevel knows; nothing finer than a second. */
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * "1s 5s 10s …" → delays in ms, index = level − 1. RocketMQ refuses to start on a bad value
 * (parseDelayLevel fails the store's load); so do we, naming the key and the bad level.
 */
export function parseMessageDelayLevel(text: string): number[] {
  const levels = text.trim().split(/\s+/).filter((token) => token !== '');
  const bad = (detail: string) => new FlushbenchError('BAD_CONFIG',
    `messageDelayLevel=${text} is not valid: ${detail}. Use space-separated delays with a unit s, m, h or d, e.g. "${DEFAULT_MESSAGE_DELAY_LEVEL}"`);
  if (levels.length === 0) throw bad('it lists no level');
  return levels.map((token, i) => {
    const match = /^(\d+)([smhd])$/.exec(token);
    if (!match) throw bad(`level ${i + 1} "${token}" is not a whole number followed by s, m, h or d`);
    const delayMs = Number(match[1]) * UNIT_MS[match[2]];
    if (!Number.isSafeInteger(delayMs)) throw bad(`level ${i + 1} "${token}" is too long`);
    return delayMs;
  });
}

/** Message.getDelayTimeLevel: the DELAY property as an integer, 0 when absent or not a number. */
export function delayLevelOf(properties: string): number {
  return delayLevelFromValue(findProperty(properties, 'DELAY'));
}

/**
 * The delay to add to the store timestamp for a ConsumeQueue entry of `topic`, or −1 when the
 * entry keeps its tag hash (any other topic, or DELAY ≤ 0). Levels above the table use the last.
 */
export function scheduleDelayMs(topic: string, properties: string, delayLevelsMs: readonly number[]): number {
  if (topic !== SCHEDULE_TOPIC) return -1;
  const level = Math.min(delayLevelOf(properties), delayLevelsMs.length);
  if (level <= 0) return -1;
  return delayLevelsMs[level - 1];
}

/** The ConsumeQueue tag code of a stored record: its deliver time in SCHEDULE_TOPIC_XXXX, else the TAGS hash. */
export function consumeQueueTagsCode(topic: string, properties: string, storeTimestamp: number, delayLevelsMs: readonly number[]): number {
  const delayMs = scheduleDelayMs(topic, properties, delayLevelsMs);
  return delayMs >= 0 ? storeTimestamp + delayMs : tagsCodeOf(properties);
}
