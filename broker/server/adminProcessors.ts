// Admin requests: UPDATE_AND_CREATE_TOPIC (what `mqadmin updateTopic` sends),
// GET_ALL_TOPIC_CONFIG, GET_BROKER_RUNTIME_INFO (KVTable with flush counters), and what a
// slave's SlaveSynchronize fetches: GET_ALL_CONSUMER_OFFSET, GET_ALL_DELAY_OFFSET.
import { ResponseCode } from '../../protocol/codes.js';
import { createResponse, type RemotingCommand } from '../../protocol/remotingCommand.js';
import type { MessageStore } from '../store/messageStore.js';
import { diskRatio, type BrokerMetrics } from './brokerMetrics.js';
import type { ConsumerOffsetManager } from './consumerOffsetManager.js';
import { topicConfig, DEFAULT_TOPIC, type TopicConfigManager } from './topicConfigManager.js';
import { INT32_MAX, optionalInt } from './headerFields.js';
import { topicNameProblem } from './nameValidator.js';

export interface AdminDeps {
  store: MessageStore;
  topics: TopicConfigManager;
  metrics: BrokerMetrics;
  offsets: ConsumerOffsetManager;
  runtimeExtras: () => Record<string, string>;
  /**
   * Hook for ScheduleMessageService.encode(): DelayOffsetSerializeWrapper JSON,
   * {"offsetTable":{"<delayLevel>":<offset>}}. Without a schedule service the broker answers
   * an empty table, which is what RocketMQ's service encodes before any delayed message.
   */
  delayOffsetJson?: () => string;
}

export const EMPTY_DELAY_OFFSET_JSON = '{"offsetTable":{}}';

export class AdminProcessors {
  constructor(private readonly deps: AdminDeps) {}

  /** Answers after the name servers have the new route, like RocketMQ's registerIncrementBrokerData. */
  async createTopic(request: RemotingCommand): Promise<RemotingCommand> {
    const f = request.extFields ?? {};
    const topic = f.topic ?? '';
    const problem = topicNameProblem(topic);
    if (problem) return createResponse(request, ResponseCode.SYSTEM_ERROR, problem);
    if (topic === DEFAULT_TOPIC) return createResponse(request, ResponseCode.SYSTEM_ERROR, `The topic[${topic}] is conflict with system reserved words.`);
    let readQueueNums: number, writeQueueNums: number, perm: number, topicSysFlag: number;
    try {
      readQueueNums = optionalInt(f, 'readQueueNums', 8, 0, 1024);
      writeQueueNums = optionalInt(f, 'writeQueueNums', 8, 0, 1024);
      perm = optionalInt(f, 'perm', 6, 0, 7);
      topicSysFlag = optionalInt(f, 'topicSysFlag', 0, 0, INT32_MAX);
    } catch (error) {
      return createResponse(request, ResponseCode.SYSTEM_ERROR, (error as Error).message);
    }
    const config = topicConfig(topic, readQueueNums, writeQueueNums, perm);
    config.topicFilterType = f.topicFilterType === 'MULTI_TAG' ? 'MULTI_TAG' : 'SINGLE_TAG';
    config.topicSysFlag = topicSysFlag;
    config.order = f.order === 'true';
    await this.deps.topics.upsert(config);
    return createResponse(request, ResponseCode.SUCCESS);
  }

  allTopicConfig(request: RemotingCommand): RemotingCommand {
    const body = JSON.stringify({ topicConfigTable: this.deps.topics.table(), dataVersion: this.deps.topics.dataVersion });
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(body));
  }

  /** AdminBrokerProcessor.getAllConsumerOffset: ConsumerOffsetManager.encode() as the body. */
  allConsumerOffset(request: RemotingCommand): RemotingCommand {
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(this.deps.offsets.encode()));
  }

  /** AdminBrokerProcessor.getAllDelayOffset: ScheduleMessageService.encode() as the body; empty ⇒ SYSTEM_ERROR. */
  allDelayOffset(request: RemotingCommand): RemotingCommand {
    const content = this.deps.delayOffsetJson ? this.deps.delayOffsetJson() : EMPTY_DELAY_OFFSET_JSON;
    if (!content) return createResponse(request, ResponseCode.SYSTEM_ERROR, 'No delay offset in this broker');
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(content));
  }

  runtimeInfo(request: RemotingCommand): RemotingCommand {
    const stats = this.deps.store.stats();
    const table: Record<string, string> = {
      brokerVersionDesc: 'flushbench (RocketMQ 4.9.x compatible)',
      msgPutTotalTodayNow: String(this.deps.metrics.messagesIn),
      msgGetTotalTodayNow: String(this.deps.metrics.messagesOut),
      commitLogMinOffset: String(this.deps.store.commitLog.minOffset),
      commitLogMaxOffset: String(stats.committedOffset),
      commitLogDiskRatio: String(diskRatio(this.deps.store.config.storePathCommitLog)),
      flushBehindBytes: String(stats.flushBehindBytes),
      commitBehindBytes: String(stats.commitBehindBytes),
      flushedOffset: String(stats.flushedOffset),
      fsyncCount: String(stats.fsyncCount),
      messagesPerFsync: stats.messagesPerFsync.toFixed(2),
      flushFailedTimes: String(stats.flushFailedTimes),
      writeFailures: String(stats.writeFailures),
      transientStorePoolActive: String(stats.transientStorePoolActive),
      ...this.deps.runtimeExtras(),
    };
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(JSON.stringify({ table })));
  }
}
