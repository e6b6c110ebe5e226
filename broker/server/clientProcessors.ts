// Client-facing requests other than send and pull: HEART_BEAT, UNREGISTER_CLIENT,
// GET_CONSUMER_LIST_BY_GROUP, consumer offsets, queue offset lookups, CONSUMER_SEND_MSG_BACK.
import { ResponseCode } from '../../protocol/codes.js';
import { createResponse, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { parseProperties, serializeProperties } from '../store/messageCodec.js';
import type { MessageStore } from '../store/messageStore.js';
import { isStored } from '../store/putStatus.js';
import type { ClientChannel, ClientManager, HeartbeatData } from './clientManager.js';
import type { ConsumerOffsetManager } from './consumerOffsetManager.js';
import { DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX, type TopicConfigManager } from './topicConfigManager.js';
import { toScheduleTopic } from './scheduleMessageService.js';
import { responseForStatus } from './sendProcessor.js';
import type { SocketAddressBytes } from '../store/messageCodec.js';

const MAX_RECONSUME_TIMES_DEFAULT = 16;

function field(request: RemotingCommand, key: string): string {
  const value = request.extFields?.[key];
  if (value === undefined) throw new Error(`the request misses the required header field ${key}`);
  return value;
}

function numberField(request: RemotingCommand, key: string): number {
  const value = Number(field(request, key));
  if (!Number.isFinite(value)) throw new Error(`header field ${key} is not a number`);
  return value;
}

export interface ClientProcessorDeps {
  store: MessageStore;
  clients: ClientManager;
  offsets: ConsumerOffsetManager;
  topics: TopicConfigManager;
  storeHost: SocketAddressBytes;
  brokerClusterName: string;
}

export class ClientProcessors {
  constructor(private readonly deps: ClientProcessorDeps) {}

  heartbeat(request: RemotingCommand, channel: ClientChannel): RemotingCommand {
    let data: HeartbeatData;
    try {
      data = JSON.parse(request.body?.toString('utf8') ?? '{}') as HeartbeatData;
    } catch {
      return createResponse(request, ResponseCode.SYSTEM_ERROR, 'the heartbeat body is not JSON');
    }
    for (const consumer of data.consumerDataSet ?? []) {
      // Clustering consumers subscribe to their retry topic; RocketMQ creates it on heartbeat.
      this.deps.topics.ensureRetryTopic(RETRY_GROUP_TOPIC_PREFIX + consumer.groupName);
    }
    this.deps.clients.heartbeat(channel, data);
    return createResponse(request, ResponseCode.SUCCESS);
  }

  unregisterClient(request: RemotingCommand): RemotingCommand {
    this.deps.clients.unregister(field(request, 'clientID'), request.extFields?.producerGroup, request.extFields?.consumerGroup);
    return createResponse(request, ResponseCode.SUCCESS);
  }

  consumerList(request: RemotingCommand): RemotingCommand {
    const group = field(request, 'consumerGroup');
    const ids = this.deps.clients.consumerIds(group);
    if (ids.length === 0) return createResponse(request, ResponseCode.SYSTEM_ERROR, `no consumer for this group, ${group}`);
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(JSON.stringify({ consumerIdList: ids })));
  }

  queryConsumerOffset(request: RemotingCommand): RemotingCommand {
    const group = field(request, 'consumerGroup');
    const topic = field(request, 'topic');
    const queueId = numberField(request, 'queueId');
    const offset = this.deps.offsets.query(group, topic, queueId);
    if (offset >= 0) return createResponse(request, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
    // Never committed: start at 0 if the queue still begins at 0 (RocketMQ checks "data in memory").
    if (this.deps.store.getMinOffsetInQueue(topic, queueId) <= 0) {
      return createResponse(request, ResponseCode.SUCCESS, undefined, { offset: '0' });
    }
    return createResponse(request, ResponseCode.QUERY_NOT_FOUND, 'Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first');
  }

  updateConsumerOffset(request: RemotingCommand): RemotingCommand {
    this.deps.offsets.commit(field(request, 'consumerGroup'), field(request, 'topic'), numberField(request, 'queueId'), numberField(request, 'commitOffset'));
    return createResponse(request, ResponseCode.SUCCESS);
  }

  maxOffset(request: RemotingCommand): RemotingCommand {
    const offset = this.deps.store.getMaxOffsetInQueue(field(request, 'topic'), numberField(request, 'queueId'));
    return createResponse(request, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
  }

  minOffset(request: RemotingCommand): RemotingCommand {
    const offset = this.deps.store.getMinOffsetInQueue(field(request, 'topic'), numberField(request, 'queueId'));
    return createResponse(request, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
  }

  searchOffsetByTimestamp(request: RemotingCommand): RemotingCommand {
    const offset = this.deps.store.getOffsetInQueueByTime(field(request, 'topic'), numberField(request, 'queueId'), numberField(request, 'timestamp'));
    return createResponse(request, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
  }

  viewMessageById(request: RemotingCommand): RemotingCommand {
    const offset = numberField(request, 'offset');
    const head = this.deps.store.commitLog.readCommittedSync(offset, 4);
    const record = head && head.length === 4 ? this.deps.store.commitLog.readCommittedSync(offset, head.readInt32BE(0)) : null;
    if (!record) return createResponse(request, ResponseCode.SYSTEM_ERROR, `can not find message by the offset, ${offset}`);
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, record);
  }

  /**
   * CONSUMER_SEND_MSG_BACK (SendMessageProcessor.asyncConsumerSendMsgBack): a consumer failed a
   * message; store a copy for %RETRY%<group> with DELAY = delayLevel (0 → 3 + reconsumeTimes),
   * so it waits in SCHEDULE_TOPIC_XXXX first; after maxReconsumeTimes, or with delayLevel < 0,
   * it goes to %DLQ%<group> at once. Like RocketMQ the put does not wait (WAIT=false).
   */
  async sendMessageBack(request: RemotingCommand): Promise<RemotingCommand> {
    const group = field(request, 'group');
    const original = this.deps.store.lookMessageByOffset(numberField(request, 'offset'));
    if (!original) return createResponse(request, ResponseCode.SYSTEM_ERROR, 'look message by offset failed');
    const maxReconsumeTimes = Number(request.extFields?.maxReconsumeTimes ?? MAX_RECONSUME_TIMES_DEFAULT);
    let delayLevel = request.extFields?.delayLevel === undefined ? 0 : numberField(request, 'delayLevel');
    const dead = original.reconsumeTimes >= maxReconsumeTimes || delayLevel < 0;
    if (!dead && delayLevel === 0) delayLevel = 3 + original.reconsumeTimes;
    const topic = (dead ? DLQ_GROUP_TOPIC_PREFIX : RETRY_GROUP_TOPIC_PREFIX) + group;
    this.deps.topics.ensureRetryTopic(topic);
    const properties = parseProperties(original.properties);
    if (!properties.has('RETRY_TOPIC')) properties.set('RETRY_TOPIC', original.topic);
    properties.set('WAIT', 'false');
    properties.set('DELAY', dead ? '0' : String(delayLevel));
    properties.set('ORIGIN_MESSAGE_ID', request.extFields?.originMsgId ?? '');
    properties.set('CLUSTER', this.deps.brokerClusterName);
    const retry = toScheduleTopic({
      ...original, topic, queueId: 0, properties: serializeProperties(properties), reconsumeTimes: original.reconsumeTimes + 1,
      storeHost: this.deps.storeHost, preparedTransactionOffset: 0,
    }, this.deps.store.delayLevelsMs.length);
    const result = await this.deps.store.putMessage(retry);
    const { code, remark } = responseForStatus(result.status, result.reason);
    return createResponse(request, isStored(result.status) ? ResponseCode.SUCCESS : code, remark ?? undefined);
  }
}
