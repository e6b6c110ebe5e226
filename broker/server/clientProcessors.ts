// Client-facing requests other than send and pull: HEART_BEAT, UNREGISTER_CLIENT,
// GET_CONSUMER_LIST_BY_GROUP, consumer offsets, queue offset lookups, CONSUMER_SEND_MSG_BACK.
import { ResponseCode } from '../../protocol/codes.js';
import { createResponse, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { parseProperties, serializeProperties } from '../store/messageCodec.js';
import type { MessageStore } from '../store/messageStore.js';
import { isStored } from '../store/putStatus.js';
import type { ClientChannel, ClientManager, HeartbeatData, SubscriptionData } from './clientManager.js';
import { INT32_MAX, INT32_MIN, LONG_MAX, optionalInt, requiredInt, requiredText } from './headerFields.js';
import { checkGroup, checkTopic } from './nameValidator.js';
import type { ConsumerOffsetManager } from './consumerOffsetManager.js';
import { DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX, type TopicConfigManager } from './topicConfigManager.js';
import { toScheduleTopic } from './scheduleMessageService.js';
import { responseForStatus } from './sendProcessor.js';
import type { SocketAddressBytes } from '../store/messageCodec.js';

const MAX_RECONSUME_TIMES_DEFAULT = 16;

// Field readers: names pass nameValidator, numbers headerFields (Java int/long ranges). A bad
// field throws a FlushbenchError naming it; the remoting server answers SYSTEM_ERROR with it.
const topicField = (request: RemotingCommand, key = 'topic') => checkTopic(requiredText(request.extFields, key), key);
const groupField = (request: RemotingCommand, key: string) => checkGroup(requiredText(request.extFields, key), key);
const queueIdField = (request: RemotingCommand) => requiredInt(request.extFields, 'queueId', 0, INT32_MAX);
const offsetField = (request: RemotingCommand, key: string) => requiredInt(request.extFields, key, 0, LONG_MAX);

/** %RETRY%<group> / %DLQ%<group> must itself be a valid topic (127 characters at most). */
function groupTopic(prefix: string, group: string, field = 'group'): string {
  return checkTopic(prefix + group, `${field} (as its ${prefix} topic)`);
}

/** Why a HEART_BEAT body cannot be registered, or null: every group and subscribed topic name is checked. */
export function heartbeatProblem(data: unknown): string | null {
  if (typeof data !== 'object' || data === null) return 'the heartbeat body is not a JSON object';
  const { producerDataSet = [], consumerDataSet = [] } = data as HeartbeatData;
  if (!Array.isArray(producerDataSet) || !Array.isArray(consumerDataSet)) return 'producerDataSet and consumerDataSet must be arrays';
  try {
    for (const producer of producerDataSet) checkGroup(String(producer?.groupName ?? ''), 'producerDataSet.groupName');
    for (const consumer of consumerDataSet) {
      const group = checkGroup(String(consumer?.groupName ?? ''), 'consumerDataSet.groupName');
      groupTopic(RETRY_GROUP_TOPIC_PREFIX, group, 'consumerDataSet.groupName');
      const subscriptions: unknown = consumer.subscriptionDataSet ?? [];
      if (!Array.isArray(subscriptions)) return `consumer group ${group}: subscriptionDataSet must be an array`;
      for (const subscription of subscriptions as SubscriptionData[]) checkTopic(String(subscription?.topic ?? ''), 'subscriptionDataSet.topic');
    }
  } catch (error) {
    return (error as Error).message;
  }
  return null;
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
    const problem = heartbeatProblem(data);
    if (problem) return createResponse(request, ResponseCode.SYSTEM_ERROR, `heartbeat refused: ${problem}`);
    for (const consumer of data.consumerDataSet ?? []) {
      // Clustering consumers subscribe to their retry topic; RocketMQ creates it on heartbeat.
      this.deps.topics.ensureRetryTopic(RETRY_GROUP_TOPIC_PREFIX + consumer.groupName);
    }
    this.deps.clients.heartbeat(channel, data, { language: request.language, version: request.version });
    return createResponse(request, ResponseCode.SUCCESS);
  }

  unregisterClient(request: RemotingCommand): RemotingCommand {
    const f = request.extFields;
    const producerGroup = f?.producerGroup === undefined ? undefined : groupField(request, 'producerGroup');
    const consumerGroup = f?.consumerGroup === undefined ? undefined : groupField(request, 'consumerGroup');
    this.deps.clients.unregister(requiredText(f, 'clientID'), producerGroup, consumerGroup);
    return createResponse(request, ResponseCode.SUCCESS);
  }

  consumerList(request: RemotingCommand): RemotingCommand {
    const group = groupField(request, 'consumerGroup');
    const ids = this.deps.clients.consumerIds(group);
    if (ids.length === 0) return createResponse(request, ResponseCode.SYSTEM_ERROR, `no consumer for this group, ${group}`);
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(JSON.stringify({ consumerIdList: ids })));
  }

  queryConsumerOffset(request: RemotingCommand): RemotingCommand {
    const group = groupField(request, 'consumerGroup');
    const topic = topicField(request);
    const queueId = queueIdField(request);
    const offset = this.deps.offsets.query(group, topic, queueId);
    if (offset >= 0) return createResponse(request, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
    // Never committed: start at 0 if the queue still begins at 0 (RocketMQ checks "data in memory").
    if (this.deps.store.getMinOffsetInQueue(topic, queueId) <= 0) {
      return createResponse(request, ResponseCode.SUCCESS, undefined, { offset: '0' });
    }
    return createResponse(request, ResponseCode.QUERY_NOT_FOUND, 'Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first');
  }

  updateConsumerOffset(request: RemotingCommand): RemotingCommand {
    this.deps.offsets.commit(groupField(request, 'consumerGroup'), topicField(request), queueIdField(request), offsetField(request, 'commitOffset'));
    return createResponse(request, ResponseCode.SUCCESS);
  }

  maxOffset(request: RemotingCommand): RemotingCommand {
    const offset = this.deps.store.getMaxOffsetInQueue(topicField(request), queueIdField(request));
    return createResponse(request, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
  }

  minOffset(request: RemotingCommand): RemotingCommand {
    const offset = this.deps.store.getMinOffsetInQueue(topicField(request), queueIdField(request));
    return createResponse(request, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
  }

  searchOffsetByTimestamp(request: RemotingCommand): RemotingCommand {
    const offset = this.deps.store.getOffsetInQueueByTime(topicField(request), queueIdField(request), requiredInt(request.extFields, 'timestamp', 0, LONG_MAX));
    return createResponse(request, ResponseCode.SUCCESS, undefined, { offset: String(offset) });
  }

  viewMessageById(request: RemotingCommand): RemotingCommand {
    const offset = offsetField(request, 'offset');
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
    const f = request.extFields;
    // Checked before anything is read or stored: the group becomes a topic, and a topic a directory.
    const group = groupField(request, 'group');
    const retryTopic = groupTopic(RETRY_GROUP_TOPIC_PREFIX, group);
    const dlqTopic = groupTopic(DLQ_GROUP_TOPIC_PREFIX, group);
    const physicalOffset = offsetField(request, 'offset');
    const maxReconsumeTimes = optionalInt(f, 'maxReconsumeTimes', MAX_RECONSUME_TIMES_DEFAULT, -1, INT32_MAX);
    let delayLevel = optionalInt(f, 'delayLevel', 0, INT32_MIN, INT32_MAX);
    const original = this.deps.store.lookMessageByOffset(physicalOffset);
    if (!original) return createResponse(request, ResponseCode.SYSTEM_ERROR, 'look message by offset failed');
    const dead = original.reconsumeTimes >= maxReconsumeTimes || delayLevel < 0;
    if (!dead && delayLevel === 0) delayLevel = 3 + original.reconsumeTimes;
    const topic = dead ? dlqTopic : retryTopic;
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
