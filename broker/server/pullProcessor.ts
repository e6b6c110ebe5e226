// PULL_MESSAGE (PullMessageProcessor) with long polling (PullRequestHoldService): a pull that
// finds nothing and carries the SUSPEND flag is held until a new message reaches its queue or
// suspendTimeoutMillis (shortPollingTimeMills without longPollingEnable) passes.
import { ResponseCode } from '../../protocol/codes.js';
import { createResponse, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { MASTER_ID } from '../../protocol/route.js';
import { javaStringHashCode } from '../store/messageCodec.js';
import type { GetMessageResult, GetMessageStatus, MessageStore } from '../store/messageStore.js';
import type { BrokerMetrics } from './brokerMetrics.js';
import type { ClientManager } from './clientManager.js';
import type { ConsumerOffsetManager } from './consumerOffsetManager.js';
import { INT32_MAX, LONG_MAX, LONG_MIN, optionalInt, requiredInt, requiredText } from './headerFields.js';
import { checkGroup, checkTopic } from './nameValidator.js';

export const PullSysFlag = { COMMIT_OFFSET: 1, SUSPEND: 2, SUBSCRIPTION: 4, CLASS_FILTER: 8, LITE_PULL: 16 } as const;
/** whichBrokerWhenConsumeSlowly. */
const SLOW_CONSUMER_BROKER_ID = 1;

export interface PullSettings {
  isSlave: boolean;
  slaveReadEnable: boolean;
  longPollingEnable: boolean;
  shortPollingTimeMills: number;
  brokerId: number;
}

interface PullRequestHeader {
  consumerGroup: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  maxMsgNums: number;
  sysFlag: number;
  commitOffset: number;
  suspendTimeoutMillis: number;
  subscription: string | undefined;
}

interface HeldPull {
  request: RemotingCommand;
  header: PullRequestHeader;
  deadlineMs: number;
  respond: (response: RemotingCommand) => void;
}

/**
 * PullMessageRequestHeader, every field checked before the store is asked (Java int/long
 * ranges; a negative queueId is PullMessageProcessor's "queueId is illegal"). commitOffset and
 * suspendTimeoutMillis default to 0 when absent; a client sends commitOffset -1 when it has none.
 */
function decodePullHeader(fields: Record<string, string> = {}): PullRequestHeader {
  return {
    consumerGroup: checkGroup(requiredText(fields, 'consumerGroup'), 'consumerGroup'),
    topic: checkTopic(requiredText(fields, 'topic'), 'topic'),
    queueId: requiredInt(fields, 'queueId', 0, INT32_MAX),
    queueOffset: requiredInt(fields, 'queueOffset', LONG_MIN, LONG_MAX),
    maxMsgNums: requiredInt(fields, 'maxMsgNums', 0, INT32_MAX),
    sysFlag: requiredInt(fields, 'sysFlag', 0, INT32_MAX),
    commitOffset: optionalInt(fields, 'commitOffset', 0, -1, LONG_MAX),
    suspendTimeoutMillis: optionalInt(fields, 'suspendTimeoutMillis', 0, 0, LONG_MAX),
    subscription: fields.subscription,
  };
}

/** Tag expression "*" / "a || b" → accepted tag hash codes (null = everything). */
export function tagFilter(expression: string | undefined): ((tagsCode: number) => boolean) | null {
  const trimmed = expression?.trim();
  if (!trimmed || trimmed === '*') return null;
  const codes = new Set(trimmed.split('||').map((tag) => tag.trim()).filter(Boolean).map(javaStringHashCode));
  return (tagsCode) => codes.has(tagsCode);
}

export class PullProcessor {
  private readonly held = new Map<string, HeldPull[]>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: MessageStore,
    private readonly offsets: ConsumerOffsetManager,
    private readonly clients: ClientManager,
    private readonly settings: PullSettings,
    private readonly metrics: BrokerMetrics,
  ) {
    store.commitLog.commitListeners.push(() => this.wakeHeld());
  }

  start(): void {
    this.timer = setInterval(() => this.expireHeld(), 100);
    this.timer.unref();
  }

  /** Answers now, or returns null after holding the request (it answers through `respond`). */
  process(request: RemotingCommand, respond: (response: RemotingCommand) => void, allowSuspend = true): RemotingCommand | null {
    let header: PullRequestHeader;
    try {
      header = decodePullHeader(request.extFields);
    } catch (error) {
      return createResponse(request, ResponseCode.SYSTEM_ERROR, (error as Error).message);
    }
    const expression = header.sysFlag & PullSysFlag.SUBSCRIPTION
      ? header.subscription
      : this.clients.subscription(header.consumerGroup, header.topic)?.subString;
    const result = this.store.getMessages(header.topic, header.queueId, header.queueOffset, header.maxMsgNums, tagFilter(expression) ?? undefined);
    let code = pullCode(result.status, header.queueOffset);
    let suggest = MASTER_ID;
    if (this.settings.slaveReadEnable) suggest = result.suggestPullingFromSlave ? SLOW_CONSUMER_BROKER_ID : this.settings.brokerId === 0 ? MASTER_ID : this.settings.brokerId;
    if (this.settings.isSlave && !this.settings.slaveReadEnable) {
      code = ResponseCode.PULL_RETRY_IMMEDIATELY;
      suggest = MASTER_ID;
    }
    if (header.sysFlag & PullSysFlag.COMMIT_OFFSET && allowSuspend && !this.settings.isSlave && header.commitOffset >= 0) {
      this.offsets.commit(header.consumerGroup, header.topic, header.queueId, header.commitOffset);
    }
    if (code === ResponseCode.PULL_NOT_FOUND && allowSuspend && header.sysFlag & PullSysFlag.SUSPEND) {
      const holdMs = this.settings.longPollingEnable ? header.suspendTimeoutMillis : this.settings.shortPollingTimeMills;
      this.hold({ request, header, deadlineMs: Date.now() + holdMs, respond });
      return null;
    }
    return this.response(request, code, result, suggest);
  }

  private response(request: RemotingCommand, code: number, result: GetMessageResult, suggest: number): RemotingCommand {
    const body = code === ResponseCode.SUCCESS && result.records.length > 0 ? Buffer.concat(result.records) : undefined;
    if (body) this.metrics.messagesOut += result.records.length;
    return createResponse(request, code, result.status, {
      suggestWhichBrokerId: String(suggest),
      nextBeginOffset: String(result.nextBeginOffset),
      minOffset: String(result.minOffset),
      maxOffset: String(result.maxOffset),
    }, body);
  }

  private hold(pull: HeldPull): void {
    const key = `${pull.header.topic}@${pull.header.queueId}`;
    let list = this.held.get(key);
    if (!list) this.held.set(key, (list = []));
    list.push(pull);
  }

  /** New data was committed: re-run held pulls whose queue grew. */
  private wakeHeld(): void {
    if (this.held.size === 0) return;
    for (const [key, list] of this.held) {
      const arrived = (p: HeldPull) => this.store.getMaxOffsetInQueue(p.header.topic, p.header.queueId) > p.header.queueOffset;
      if (!list.some(arrived)) continue;
      const rest = list.filter((p) => !arrived(p));
      if (rest.length) this.held.set(key, rest);
      else this.held.delete(key);
      for (const pull of list) if (arrived(pull)) this.answer(pull);
    }
  }

  private expireHeld(): void {
    const now = Date.now();
    for (const [key, list] of this.held) {
      const due = list.filter((p) => p.deadlineMs <= now);
      if (due.length === 0) continue;
      const rest = list.filter((p) => p.deadlineMs > now);
      if (rest.length) this.held.set(key, rest);
      else this.held.delete(key);
      for (const pull of due) this.answer(pull);
    }
  }

  /** Runs from a timer or the store's commit listener: a failure answers this pull, it never escapes. */
  private answer(pull: HeldPull): void {
    try {
      const response = this.process(pull.request, pull.respond, false);
      if (response) pull.respond(response);
    } catch (error) {
      pull.respond(createResponse(pull.request, ResponseCode.SYSTEM_ERROR, `pull failed: ${(error as Error).message}`));
    }
  }

  /** Answers every held pull (shutdown). */
  shutdown(): void {
    if (this.timer) clearInterval(this.timer);
    const all = [...this.held.values()].flat();
    this.held.clear();
    for (const pull of all) this.answer(pull);
  }
}

/** GetMessageStatus → pull response code (PullMessageProcessor, 4.9.x). */
export function pullCode(status: GetMessageStatus, requestOffset: number): number {
  switch (status) {
    case 'FOUND': return ResponseCode.SUCCESS;
    case 'MESSAGE_WAS_REMOVING':
    case 'NO_MATCHED_MESSAGE':
      return ResponseCode.PULL_RETRY_IMMEDIATELY;
    case 'NO_MATCHED_LOGIC_QUEUE':
    case 'NO_MESSAGE_IN_QUEUE':
      return requestOffset !== 0 ? ResponseCode.PULL_OFFSET_MOVED : ResponseCode.PULL_NOT_FOUND;
    case 'OFFSET_FOUND_NULL':
    case 'OFFSET_OVERFLOW_ONE':
      return ResponseCode.PULL_NOT_FOUND;
    case 'OFFSET_OVERFLOW_BADLY':
    case 'OFFSET_TOO_SMALL':
      return ResponseCode.PULL_OFFSET_MOVED;
  }
}
