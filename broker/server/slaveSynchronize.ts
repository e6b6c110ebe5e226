// SlaveSynchronize (RocketMQ 4.x broker/slave/SlaveSynchronize.java): a slave copies its master's
// topic configs, consumer offsets and delay offsets over the master's remoting port, 3 s after
// start and then every 10 s, so consumers that turn to the slave while the master is away find
// their offsets there. The master's broker address is the masterAddr the name server returned
// to the slave's last REGISTER_BROKER; while it is unknown nothing is fetched.
import { errorMessage, FlushbenchError } from '../../protocol/errors.js';
import { childLogger, type Logger } from '../../protocol/logger.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { parseLenientJson } from '../../protocol/lenientJson.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import type { ConsumerOffsetManager } from './consumerOffsetManager.js';
import type { DataVersion, TopicConfig, TopicConfigManager } from './topicConfigManager.js';
import { writeFileDurably } from '../durableFile.js';

/** BrokerController.handleSlaveSynchronize: scheduleAtFixedRate(syncAll, 1000 * 3, 1000 * 10). */
export const SLAVE_SYNC_INITIAL_DELAY_MS = 3000;
export const SLAVE_SYNC_INTERVAL_MS = 10_000;
/** BrokerOuterAPI.getAll*: invokeSync(addr, request, 3000). */
export const SLAVE_SYNC_REQUEST_TIMEOUT_MS = 3000;

export interface SlaveSynchronizeSettings {
  topics: TopicConfigManager;
  offsets: ConsumerOffsetManager;
  /** The master's broker address ("ip:port"), or null while the name server reports none. */
  masterAddress: () => string | null;
  /** This broker's config/delayOffset.json (StorePathConfigHelper.getDelayOffsetStorePath). */
  delayOffsetPath: string;
  initialDelayMs?: number;
  syncIntervalMs?: number;
  requestTimeoutMs?: number;
  logger?: Logger;
}

export interface SlaveSyncStatus {
  masterAddress: string | null;
  /** Rounds in which every table was fetched and applied. */
  syncOkCount: number;
  lastSyncOkAtMs: number | null;
  /** Rounds in a row with at least one failed fetch (0 = the master answered last time). */
  consecutiveFailures: number;
  lastError: string | null;
  /** How often the master's topic table replaced this broker's (its data version differed). */
  topicTableReplacements: number;
}

export interface TopicConfigWrapper {
  topicConfigTable: Record<string, TopicConfig>;
  dataVersion: DataVersion;
}

function badBody(what: string, problem: string): FlushbenchError {
  return new FlushbenchError('BAD_MASTER_BODY', `the master's ${what} body ${problem}; the slave keeps its last synced tables`);
}

function parseObject(body: Buffer | undefined, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseLenientJson(body?.toString('utf8') ?? '');
  } catch (error) {
    throw badBody(what, `is not JSON (${errorMessage(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badBody(what, 'is not a JSON object');
  return parsed as Record<string, unknown>;
}

function objectField(parent: Record<string, unknown>, key: string, what: string): Record<string, unknown> {
  const value = parent[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badBody(what, `has no object "${key}"`);
  return value as Record<string, unknown>;
}

function integer(value: unknown, fallback: number | null, where: string, what: string): number {
  if (value === undefined && fallback !== null) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw badBody(what, `has a bad ${where}: ${JSON.stringify(value)}`);
  return value;
}

/** TopicConfigSerializeWrapper (GET_ALL_TOPIC_CONFIG): {topicConfigTable: {name: TopicConfig}, dataVersion: {timestamp, counter}}. */
export function parseTopicConfigWrapper(body: Buffer | undefined): TopicConfigWrapper {
  const what = 'GET_ALL_TOPIC_CONFIG';
  const root = parseObject(body, what);
  const version = objectField(root, 'dataVersion', what);
  const dataVersion = { timestamp: integer(version.timestamp, null, 'dataVersion.timestamp', what), counter: integer(version.counter, null, 'dataVersion.counter', what) };
  const topicConfigTable: Record<string, TopicConfig> = {};
  for (const [name, raw] of Object.entries(objectField(root, 'topicConfigTable', what))) {
    if (typeof raw !== 'object' || raw === null) throw badBody(what, `has a non-object config for topic ${name}`);
    const c = raw as Record<string, unknown>;
    const queues = (key: string) => {
      const n = integer(c[key], null, `${name}.${key}`, what);
      if (n < 0) throw badBody(what, `has a negative ${name}.${key}`);
      return n;
    };
    topicConfigTable[name] = {
      topicName: name,
      readQueueNums: queues('readQueueNums'),
      writeQueueNums: queues('writeQueueNums'),
      perm: queues('perm'),
      topicFilterType: c.topicFilterType === 'MULTI_TAG' ? 'MULTI_TAG' : 'SINGLE_TAG',
      topicSysFlag: integer(c.topicSysFlag, 0, `${name}.topicSysFlag`, what),
      order: c.order === true,
    };
  }
  return { topicConfigTable, dataVersion };
}

/** ConsumerOffsetSerializeWrapper (GET_ALL_CONSUMER_OFFSET): {offsetTable: {"topic@group": {queueId: offset}}}; bare fastjson keys accepted. */
export function parseConsumerOffsetWrapper(body: Buffer | undefined): Map<string, Map<number, number>> {
  const what = 'GET_ALL_CONSUMER_OFFSET';
  const table = new Map<string, Map<number, number>>();
  for (const [key, raw] of Object.entries(objectField(parseObject(body, what), 'offsetTable', what))) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw badBody(what, `has a non-object entry for ${key}`);
    const queues = new Map<number, number>();
    for (const [queueId, offset] of Object.entries(raw as Record<string, unknown>)) {
      const id = Number(queueId);
      if (!/^\d+$/.test(queueId) || !Number.isSafeInteger(id)) throw badBody(what, `has queueId "${queueId}" under ${key}`);
      queues.set(id, integer(offset, null, `${key}[${queueId}]`, what));
    }
    table.set(key, queues);
  }
  return table;
}

export class SlaveSynchronize {
  private readonly log: Logger;
  private client: RemotingClient | null = null;
  private startTimer: NodeJS.Timeout | null = null;
  private intervalTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastDelayOffsetJson: string | null = null;
  private readonly state: SlaveSyncStatus = {
    masterAddress: null, syncOkCount: 0, lastSyncOkAtMs: null, consecutiveFailures: 0, lastError: null, topicTableReplacements: 0,
  };

  constructor(private readonly settings: SlaveSynchronizeSettings) {
    this.log = settings.logger ?? childLogger('slave-sync');
  }

  /** First round after initialDelayMs, then one every syncIntervalMs (fixed rate; a round still running is not doubled). */
  start(): void {
    // syncAll() records failures itself; the catch is for a bug in that bookkeeping, which must not end the process.
    const tick = () => {
      this.syncAll().catch((error: unknown) => this.log.error({ err: errorMessage(error) }, 'slave sync round failed unexpectedly'));
    };
    this.startTimer = setTimeout(() => {
      this.startTimer = null;
      if (this.stopped) return;
      tick();
      this.intervalTimer = setInterval(tick, this.settings.syncIntervalMs ?? SLAVE_SYNC_INTERVAL_MS);
      this.intervalTimer.unref();
    }, this.settings.initialDelayMs ?? SLAVE_SYNC_INITIAL_DELAY_MS);
    this.startTimer.unref();
  }

  status(): SlaveSyncStatus {
    return { ...this.state };
  }

  /**
   * One round: topic config, consumer offsets, delay offsets, each fetched and applied on its
   * own (a failed one leaves its table as it was). Never rejects; failures go to status() and
   * the log — a warning when a run of failures starts, info when the master answers again.
   */
  syncAll(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = null));
    return this.running;
  }

  private async round(): Promise<void> {
    const address = this.settings.masterAddress();
    this.state.masterAddress = address;
    if (!address || this.stopped) return;
    const failures: string[] = [];
    const steps: Array<[string, (client: RemotingClient, address: string) => Promise<void>]> = [
      ['topic config', (c, a) => this.syncTopicConfig(c, a)],
      ['consumer offsets', (c) => this.syncConsumerOffset(c)],
      ['delay offsets', (c) => this.syncDelayOffset(c)],
    ];
    for (const [what, step] of steps) {
      if (this.stopped) return;
      try {
        await step(this.clientFor(address), address);
      } catch (error) {
        failures.push(`${what}: ${errorMessage(error)}`);
      }
    }
    if (!this.stopped) this.record(address, failures);
  }

  private record(address: string, failures: string[]): void {
    if (failures.length > 0) {
      this.state.lastError = failures.join('; ');
      if (this.state.consecutiveFailures++ === 0) {
        this.log.warn({ master: address, failures }, 'cannot sync from the master; the slave keeps its last synced topics and offsets (logged once until the master answers)');
      } else {
        this.log.debug({ master: address, failures, rounds: this.state.consecutiveFailures }, 'master still not synced');
      }
      return;
    }
    if (this.state.consecutiveFailures > 0) this.log.info({ master: address, failedRounds: this.state.consecutiveFailures }, 'master answers again; topics and offsets synced');
    this.state.consecutiveFailures = 0;
    this.state.lastError = null;
    this.state.syncOkCount++;
    this.state.lastSyncOkAtMs = Date.now();
  }

  private clientFor(address: string): RemotingClient {
    if (this.client?.address !== address) {
      this.client?.close();
      this.client = new RemotingClient(address, { connectTimeoutMs: this.settings.requestTimeoutMs ?? SLAVE_SYNC_REQUEST_TIMEOUT_MS });
    }
    return this.client;
  }

  private async fetch(client: RemotingClient, code: number, name: string): Promise<Buffer | undefined> {
    const response = await client.invoke(createRequest(code), this.settings.requestTimeoutMs ?? SLAVE_SYNC_REQUEST_TIMEOUT_MS);
    if (response.code !== ResponseCode.SUCCESS) {
      throw new FlushbenchError('MASTER_REFUSED', `${name} answered code ${response.code}${response.remark ? ` (${response.remark})` : ''}`);
    }
    return response.body;
  }

  private async syncTopicConfig(client: RemotingClient, address: string): Promise<void> {
    const wrapper = parseTopicConfigWrapper(await this.fetch(client, RequestCode.GET_ALL_TOPIC_CONFIG, 'GET_ALL_TOPIC_CONFIG'));
    if (this.stopped) return;
    if (this.settings.topics.replaceWithMaster(wrapper.topicConfigTable, wrapper.dataVersion)) {
      this.state.topicTableReplacements++;
      this.log.info({ master: address, topics: Object.keys(wrapper.topicConfigTable).length, dataVersion: wrapper.dataVersion }, 'Update slave topic config from master');
    }
  }

  private async syncConsumerOffset(client: RemotingClient): Promise<void> {
    const table = parseConsumerOffsetWrapper(await this.fetch(client, RequestCode.GET_ALL_CONSUMER_OFFSET, 'GET_ALL_CONSUMER_OFFSET'));
    if (this.stopped) return;
    this.settings.offsets.putAllFromMaster(table);
  }

  /** RocketMQ writes the master's DelayOffsetSerializeWrapper JSON as-is to config/delayOffset.json; read at the next start. */
  private async syncDelayOffset(client: RemotingClient): Promise<void> {
    const body = await this.fetch(client, RequestCode.GET_ALL_DELAY_OFFSET, 'GET_ALL_DELAY_OFFSET');
    const json = body?.toString('utf8') ?? '';
    objectField(parseObject(body, 'GET_ALL_DELAY_OFFSET'), 'offsetTable', 'GET_ALL_DELAY_OFFSET');
    if (this.stopped || json === this.lastDelayOffsetJson) return;
    const file = this.settings.delayOffsetPath;
    writeFileDurably(file, json);
    this.lastDelayOffsetJson = json;
  }

  /** Stops the timers, drops the connection (a round in flight fails fast) and waits for that round. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    if (this.intervalTimer) clearInterval(this.intervalTimer);
    this.client?.close();
    await this.running;
    this.client?.close();
    this.client = null;
  }
}
