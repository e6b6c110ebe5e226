// The admin requests behind mqadmin's read commands (AdminBrokerProcessor in RocketMQ 4.9.7):
// GET_TOPIC_STATS_INFO (topicStatus), GET_CONSUME_STATS (consumerProgress), GET_BROKER_CONFIG
// (getBrokerConfig), GET_CONSUMER_CONNECTION_LIST (consumerConnection, consumerProgress without
// -g), QUERY_TOPIC_CONSUME_BY_WHO; and the TPS windows clusterList reads from the runtime info.
import { ResponseCode } from '../../protocol/codes.js';
import { createResponse, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { storeTimestampOf } from '../store/messageCodec.js';
import type { MessageStore } from '../store/messageStore.js';
import type { ClientManager } from './clientManager.js';
import type { ConsumerOffsetManager } from './consumerOffsetManager.js';
import { requiredText } from './headerFields.js';
import { checkGroup, checkTopic } from './nameValidator.js';
import type { DataVersion, TopicConfigManager } from './topicConfigManager.js';

export interface AdminStatsDeps {
  store: MessageStore;
  topics: TopicConfigManager;
  offsets: ConsumerOffsetManager;
  clients: ClientManager;
  brokerName: string;
  /** Every setting in effect, key → value (the body of GET_BROKER_CONFIG). */
  settings: () => Record<string, string>;
}

/**
 * fastjson writes a Map<MessageQueue, V> with the key object itself as the key, fields sorted
 * by name: {{"brokerName":"b","queueId":0,"topic":"T"}:{…}}. Java's RemotingSerializable.decode
 * reads that back into MessageQueue keys; standard JSON has no way to say it.
 */
function queueKeyedTable(entries: Array<{ topic: string; queueId: number; value: Record<string, number> }>, brokerName: string): string {
  const parts = entries.map(({ topic, queueId, value }) => {
    const key = `{"brokerName":${JSON.stringify(brokerName)},"queueId":${queueId},"topic":${JSON.stringify(topic)}}`;
    const sorted = Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
    return `${key}:${JSON.stringify(sorted)}`;
  });
  return `{${parts.join(',')}}`;
}

/** Java's Double.toString for the values we produce (always a decimal point). */
function javaDouble(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

/** Properties text as MixAll.properties2String writes it: key=value lines (values without newlines). */
export function propertiesText(settings: Record<string, string>): string {
  return Object.entries(settings).sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value.replace(/[\r\n]+/g, ' ')}\n`).join('');
}

export class AdminStats {
  constructor(private readonly deps: AdminStatsDeps) {}

  /** Store timestamp of the message at a queue offset, or 0 (MessageStore.getMessageStoreTimeStamp). */
  private storeTimestamp(topic: string, queueId: number, queueOffset: number): number {
    if (queueOffset < 0) return 0;
    const found = this.deps.store.getMessages(topic, queueId, queueOffset, 1);
    const record = found.records[0];
    return record ? storeTimestampOf(record, 0) : 0;
  }

  /** GET_TOPIC_STATS_INFO (202): min/max offset and last store time of every write queue. */
  topicStatsInfo(request: RemotingCommand): RemotingCommand {
    const topic = checkTopic(requiredText(request.extFields, 'topic'), 'topic');
    const config = this.deps.topics.get(topic);
    if (!config) return createResponse(request, ResponseCode.TOPIC_NOT_EXIST, `topic[${topic}] not exist`);
    const entries = [];
    for (let queueId = 0; queueId < config.writeQueueNums; queueId++) {
      const minOffset = Math.max(0, this.deps.store.getMinOffsetInQueue(topic, queueId));
      const maxOffset = Math.max(0, this.deps.store.getMaxOffsetInQueue(topic, queueId));
      const lastUpdateTimestamp = maxOffset > 0 ? this.storeTimestamp(topic, queueId, maxOffset - 1) : 0;
      entries.push({ topic, queueId, value: { lastUpdateTimestamp, maxOffset, minOffset } });
    }
    const body = `{"offsetTable":${queueKeyedTable(entries, this.deps.brokerName)}}`;
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(body));
  }

  /**
   * GET_CONSUME_STATS (208): broker and committed consumer offset of every read queue of the
   * group's topics (the given one, or every topic the group committed an offset for). A topic
   * the online group does not subscribe to is left out, as RocketMQ does.
   */
  consumeStats(request: RemotingCommand): RemotingCommand {
    const group = checkGroup(requiredText(request.extFields, 'consumerGroup'), 'consumerGroup');
    const requested = request.extFields?.topic?.trim();
    const topics = requested ? [checkTopic(requested, 'topic')] : this.deps.offsets.topicsOfGroup(group);
    const subscribed = this.deps.clients.subscribedTopics(group);
    const entries = [];
    for (const topic of topics) {
      const config = this.deps.topics.get(topic);
      if (!config) continue;
      if (subscribed.length > 0 && !subscribed.includes(topic)) continue;
      for (let queueId = 0; queueId < config.readQueueNums; queueId++) {
        const brokerOffset = Math.max(0, this.deps.store.getMaxOffsetInQueue(topic, queueId));
        const consumerOffset = Math.max(0, this.deps.offsets.query(group, topic, queueId));
        const lastTimestamp = consumerOffset > 0 ? this.storeTimestamp(topic, queueId, consumerOffset - 1) : 0;
        entries.push({ topic, queueId, value: { brokerOffset, consumerOffset, lastTimestamp } });
      }
    }
    // consumeTps: flushbench keeps no per-group pull rate; 0.0 rather than an invented number.
    const body = `{"consumeTps":${javaDouble(0)},"offsetTable":${queueKeyedTable(entries, this.deps.brokerName)}}`;
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(body));
  }

  /** GET_BROKER_CONFIG (26): every setting as properties text; header version = the config's DataVersion. */
  brokerConfig(request: RemotingCommand, dataVersion: DataVersion): RemotingCommand {
    return createResponse(request, ResponseCode.SUCCESS, undefined, { version: JSON.stringify(dataVersion) }, Buffer.from(propertiesText(this.deps.settings())));
  }

  /** GET_CONSUMER_CONNECTION_LIST (203): the group's live clients and subscriptions; CONSUMER_NOT_ONLINE without any. */
  consumerConnectionList(request: RemotingCommand): RemotingCommand {
    const group = checkGroup(requiredText(request.extFields, 'consumerGroup'), 'consumerGroup');
    const info = this.deps.clients.groupInfo(group);
    if (!info) return createResponse(request, ResponseCode.CONSUMER_NOT_ONLINE, `the consumer group[${group}] not online`);
    const body = {
      connectionSet: info.connections.map((c) => ({ clientAddr: c.clientAddr, clientId: c.clientId, language: c.language, version: c.version })),
      consumeFromWhere: info.data.consumeFromWhere ?? 'CONSUME_FROM_LAST_OFFSET',
      consumeType: info.data.consumeType ?? 'CONSUME_PASSIVELY',
      messageModel: info.data.messageModel ?? 'CLUSTERING',
      subscriptionTable: Object.fromEntries(info.subscriptions.map((s) => [s.topic, s])),
    };
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(JSON.stringify(body)));
  }

  /** QUERY_TOPIC_CONSUME_BY_WHO (300): groups subscribed to the topic now or holding an offset for it. */
  topicConsumeByWho(request: RemotingCommand): RemotingCommand {
    const topic = checkTopic(requiredText(request.extFields, 'topic'), 'topic');
    const groups = new Set([...this.deps.clients.groupsSubscribedTo(topic), ...this.deps.offsets.groupsOfTopic(topic)]);
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(JSON.stringify({ groupList: [...groups].sort() })));
  }
}

const SAMPLE_INTERVAL_MS = 1000;
const WINDOWS_S = [10, 60, 600] as const;

/**
 * StoreStatsService's TPS windows: a counter sampled every second, rate over the last 10 s,
 * 1 min and 10 min, written "tps10 tps60 tps600" (clusterList reads the first number of
 * putTps and getTransferedTps). A window longer than the uptime uses what there is.
 */
export class TpsWindows {
  private readonly samples: Array<{ atMs: number; values: number[] }> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly read: () => number[], private readonly now: () => number = Date.now) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  sample(): void {
    this.samples.push({ atMs: this.now(), values: this.read() });
    if (this.samples.length > WINDOWS_S[WINDOWS_S.length - 1] + 1) this.samples.shift();
  }

  /** "tps10 tps60 tps600" for counter `index`, from the newest sample and the current value. */
  text(index: number): string {
    const current = { atMs: this.now(), values: this.read() };
    return WINDOWS_S.map((windowS) => {
      const from = this.samples.find((s) => current.atMs - s.atMs <= windowS * 1000 + SAMPLE_INTERVAL_MS / 2) ?? current;
      const elapsedMs = current.atMs - from.atMs;
      return elapsedMs > 0 ? ((current.values[index] - from.values[index]) * 1000 / elapsedMs).toFixed(2) : '0.00';
    }).join(' ');
  }
}
