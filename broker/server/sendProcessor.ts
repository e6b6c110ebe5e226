// SEND_MESSAGE / SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE (SendMessageProcessor): topic checks and
// auto-creation, queue choice, properties (CLUSTER added, WAIT consumed), delay levels (DELAY > 0
// goes to SCHEDULE_TOPIC_XXXX), the store put, and the PutMessageStatus → response code mapping
// with an offset msgId.
import { FlushbenchError } from '../../protocol/errors.js';
import { ResponseCode } from '../../protocol/codes.js';
import { createResponse, type RemotingCommand } from '../../protocol/remotingCommand.js';
import {
  encodeSocketAddress, type MessageToStore, offsetMessageId, type SocketAddressBytes,
} from '../store/messageCodec.js';
import { sendProperties } from '../store/sendProperties.js';
import type { AppendResult } from '../store/commitLog.js';
import type { MessageStore } from '../store/messageStore.js';
import { isStored, type PutStatus } from '../store/putStatus.js';
import { delayLevelOf, SCHEDULE_TOPIC } from '../store/delayLevels.js';
import type { ClientChannel } from './clientManager.js';
import type { BrokerMetrics } from './brokerMetrics.js';
import { toScheduleTopic } from './scheduleMessageService.js';
import { SendAnswer } from './sendAnswer.js';
import { type AnsweringChannel, PendingSends } from './pendingSends.js';
import { decodeBatchBody, decodeSendHeader, decodeSendHeaderV2Raw, type SendRequestHeader } from './sendHeaders.js';
import { Perm } from '../../protocol/route.js';
import type { TopicConfigManager } from './topicConfigManager.js';

export interface SendSettings {
  brokerClusterName: string;
  brokerName: string;
  storeHost: SocketAddressBytes;
  autoCreateTopicEnable: boolean;
  brokerPermission: number;
  /** Calibration: ack every send without storing it (the harness's own ceiling). */
  ackWithoutStore: boolean;
}

/** What the client sees for each store status (SendMessageProcessor.handlePutMessageResult). */
export function responseForStatus(status: PutStatus, reason?: string): { code: number; remark: string | null } {
  switch (status) {
    case 'PUT_OK': return { code: ResponseCode.SUCCESS, remark: null };
    case 'FLUSH_DISK_TIMEOUT': return { code: ResponseCode.FLUSH_DISK_TIMEOUT, remark: null };
    case 'FLUSH_SLAVE_TIMEOUT': return { code: ResponseCode.FLUSH_SLAVE_TIMEOUT, remark: null };
    case 'SLAVE_NOT_AVAILABLE': return { code: ResponseCode.SLAVE_NOT_AVAILABLE, remark: null };
    case 'CREATE_MAPEDFILE_FAILED': return { code: ResponseCode.SYSTEM_ERROR, remark: `create mapped file failed, server is busy or broken. ${reason ?? ''}`.trim() };
    case 'MESSAGE_ILLEGAL':
    case 'PROPERTIES_SIZE_EXCEEDED':
      return { code: ResponseCode.MESSAGE_ILLEGAL, remark: `the message is illegal, maybe msg body or properties length not matched. ${reason ?? ''}`.trim() };
    case 'SERVICE_NOT_AVAILABLE':
      return { code: ResponseCode.SERVICE_NOT_AVAILABLE, remark: `service not available now: ${reason ?? 'the broker is a slave, shutting down, or its disk is full'}` };
    case 'OS_PAGECACHE_BUSY': return { code: ResponseCode.SYSTEM_ERROR, remark: '[PC_SYNCHRONIZED]broker busy, start flow control for a while' };
    case 'IO_ERROR': return { code: ResponseCode.SYSTEM_ERROR, remark: `[IO_ERROR] the CommitLog write failed: ${reason ?? 'see the broker log'}` };
    default: return { code: ResponseCode.SYSTEM_ERROR, remark: 'UNKNOWN_ERROR' };
  }
}

export class SendProcessor {
  private readonly bornHostCache = new WeakMap<ClientChannel, SocketAddressBytes>();
  private lastChannel: ClientChannel | null = null;
  private lastBornHost: SocketAddressBytes | null = null;
  private calibrationOffset = 0;
  private readonly pending = new PendingSends((send, status) => this.answer(send.request, status, send.appended, send.queueId));

  constructor(
    private readonly store: MessageStore,
    private readonly topics: TopicConfigManager,
    private readonly settings: SendSettings,
    private readonly metrics: BrokerMetrics,
  ) {}

  private bornHost(channel: ClientChannel): SocketAddressBytes {
    // The last channel first: a producer's sends come in runs on one connection (a WeakMap get per send shows).
    if (channel === this.lastChannel && this.lastBornHost) return this.lastBornHost;
    let host = this.bornHostCache.get(channel);
    if (!host) this.bornHostCache.set(channel, (host = encodeSocketAddress(channel.remoteAddress, channel.remotePort)));
    this.lastChannel = channel;
    this.lastBornHost = host;
    return host;
  }

  /**
   * Answers at once when the send is refused; else returns null and answers on `channel` once
   * the store settles it (PendingSends: one promise reaction per write batch, not per send).
   */
  process(request: RemotingCommand, channel: AnsweringChannel, v2: boolean, batch: boolean): RemotingCommand | null {
    let header: SendRequestHeader;
    try {
      header = request.rawExtFields && v2 ? decodeSendHeaderV2Raw(request.rawExtFields) : decodeSendHeader(request.extFields, v2);
    } catch (error) {
      return createResponse(request, ResponseCode.SYSTEM_ERROR, (error as Error).message);
    }
    if (!(this.settings.brokerPermission & Perm.WRITE)) {
      return createResponse(request, ResponseCode.NO_PERMISSION, `the broker[${this.settings.brokerName}] sending message is forbidden`);
    }
    // TopicValidator.isNotAllowedSendTopic: only the broker itself writes the schedule topic.
    if (header.topic === SCHEDULE_TOPIC) {
      return createResponse(request, ResponseCode.NO_PERMISSION, `Sending message to topic[${header.topic}] is forbidden.`);
    }
    // decodeSendHeader checked the topic and group names (TopicValidator) and every number.
    let topic = this.topics.get(header.topic);
    if (!topic && this.settings.autoCreateTopicEnable) {
      topic = this.topics.createFromTemplate(header.topic, header.defaultTopic, header.defaultTopicQueueNums) ?? undefined;
    }
    if (!topic) {
      return createResponse(request, ResponseCode.TOPIC_NOT_EXIST, `topic[${header.topic}] not exist, apply first please!`);
    }
    let queueId = header.queueId;
    const queueIdLimit = Math.max(topic.readQueueNums, topic.writeQueueNums);
    if (queueId >= queueIdLimit) {
      return createResponse(request, ResponseCode.SYSTEM_ERROR, `request queueId[${queueId}] is illegal, topic:${header.topic} topicConfig.writeQueueNums:${topic.writeQueueNums} consumerIp:${channel.remoteAddress}`);
    }
    if (queueId < 0) queueId = Math.floor(Math.random() * topic.writeQueueNums);

    const items = batch ? this.batchItems(request) : [{ flag: header.flag, body: request.body ?? Buffer.alloc(0), properties: header.properties }];
    if (items instanceof Error) return createResponse(request, ResponseCode.MESSAGE_ILLEGAL, items.message);
    if (items.length === 0) return createResponse(request, ResponseCode.MESSAGE_ILLEGAL, 'the message is illegal: the batch body holds no message');
    // CommitLog.putMessages refuses a delayed batch (the Java client never builds one).
    if (batch && delayLevelOf(header.properties) > 0) {
      return createResponse(request, ResponseCode.MESSAGE_ILLEGAL, 'the message is illegal: a batch cannot carry a delay level (DELAY); send delayed messages one by one');
    }
    this.metrics.messagesIn += items.length;
    if (this.settings.ackWithoutStore) return this.calibrationAck(request, queueId, items.length);

    const bornHost = this.bornHost(channel);
    const cluster = this.settings.brokerClusterName;
    const maxDelayLevel = this.store.delayLevelsMs.length;
    const appended: AppendResult[] = [];
    let failedAppend: AppendResult | undefined;
    for (const item of items) {
      const properties = sendProperties(item.properties, cluster);
      let message: MessageToStore = {
        topic: header.topic, queueId, flag: item.flag, body: item.body, properties: properties.stored,
        sysFlag: header.sysFlag, bornTimestamp: header.bornTimestamp, bornHost, storeHost: this.settings.storeHost,
        reconsumeTimes: header.reconsumeTimes, preparedTransactionOffset: 0, tagsCode: properties.tagsCode,
      };
      // Batch items are stored as they are, DELAY or not (CommitLog.putMessages has no delay branch).
      if (!batch) message = toScheduleTopic(message, maxDelayLevel, properties.delayLevel);
      const result = this.store.appendMessage(message, properties.wait);
      if (result.status !== 'PUT_OK' && !failedAppend) failedAppend = result;
      appended.push(result);
    }
    if (failedAppend) return this.answer(request, failedAppend.status, appended, queueId, failedAppend.reason);
    const settled = appended.length === 1 ? appended[0].settled : Promise.all(appended.map((a) => a.settled)).then(worstStatus);
    this.pending.add(settled, { request, channel, appended, queueId });
    return null;
  }

  /** Sends appended and waiting for their flush / replication policy (shutdown waits for them). */
  get awaitingStore(): number {
    return this.pending.size;
  }

  private answer(request: RemotingCommand, status: PutStatus, appended: readonly AppendResult[], queueId: number, reason?: string): RemotingCommand {
    this.metrics.recordSendStatus(status);
    const { code, remark } = responseForStatus(status, reason);
    if (!isStored(status)) return createResponse(request, code, remark ?? undefined);
    const storeHost = this.settings.storeHost;
    const first = appended[0];
    if (appended.length === 1 && remark === null) return new SendAnswer(request, code, storeHost, first.physicalOffset, queueId, first.queueOffset);
    const msgId = appended.map((a) => offsetMessageId(storeHost, a.physicalOffset)).join(',');
    return createResponse(request, code, remark ?? undefined, {
      msgId, queueId: String(queueId), queueOffset: String(first.queueOffset), MSG_REGION: 'DefaultRegion', TRACE_ON: 'true',
    });
  }

  private batchItems(request: RemotingCommand) {
    try {
      return decodeBatchBody(request.body ?? Buffer.alloc(0));
    } catch (error) {
      if (error instanceof FlushbenchError) return new Error(`the message is illegal: ${error.message}`);
      throw error;
    }
  }

  private calibrationAck(request: RemotingCommand, queueId: number, count: number): RemotingCommand {
    const offset = this.calibrationOffset;
    this.calibrationOffset += count;
    this.metrics.recordSendStatus('PUT_OK');
    return new SendAnswer(request, ResponseCode.SUCCESS, this.settings.storeHost, offset, queueId, offset);
  }
}

/** For a batch: the first non-OK status in RocketMQ's precedence, else PUT_OK. */
function worstStatus(statuses: PutStatus[]): PutStatus {
  return statuses.find((s) => s === 'SLAVE_NOT_AVAILABLE' || s === 'FLUSH_SLAVE_TIMEOUT')
    ?? statuses.find((s) => s !== 'PUT_OK')
    ?? 'PUT_OK';
}
