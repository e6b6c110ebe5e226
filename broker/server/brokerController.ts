// One broker process (BrokerController): the store, request processors on listenPort and the
// VIP port (listenPort − 2), name server registration, HA, metrics; orderly shutdown.
import os from 'node:os';
import path from 'node:path';
import { childLogger } from '../../protocol/logger.js';
import { RequestCode } from '../../protocol/codes.js';
import { createRequest, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { RemotingServer } from '../../protocol/remotingServer.js';
import { RemotingConnection } from '../../protocol/connection.js';
import { encodeSocketAddress } from '../store/messageCodec.js';
import { MessageStore } from '../store/messageStore.js';
import type { FileIo } from '../store/fileIo.js';
import { HAMaster } from '../ha/haMaster.js';
import { HASlave } from '../ha/haSlave.js';
import { DLedgerBroker } from '../dledger/dledgerBroker.js';
import { AdminProcessors } from './adminProcessors.js';
import { AdminStats, TpsWindows } from './adminStats.js';
import { BrokerMetrics } from './brokerMetrics.js';
import type { BrokerConfig } from './brokerConfig.js';
import { ClientManager } from './clientManager.js';
import { ClientProcessors } from './clientProcessors.js';
import { ConsumerOffsetManager } from './consumerOffsetManager.js';
import { MetricsHttpServer } from './metricsHttpServer.js';
import { NameServerRegistrar } from './nameServerRegistrar.js';
import { PullProcessor } from './pullProcessor.js';
import { ScheduleMessageService } from './scheduleMessageService.js';
import { SendProcessor } from './sendProcessor.js';
import { SendQueue } from './sendQueue.js';
import { SlaveSynchronize } from './slaveSynchronize.js';
import { TopicConfigManager } from './topicConfigManager.js';

const log = childLogger('broker');

export interface BrokerPorts {
  listenPort: number;
  vipPort: number | null;
  haPort: number | null;
  metricsPort: number | null;
}

/** Knobs that are not broker.properties keys (tests). */
export interface BrokerStartOptions {
  /** SlaveSynchronize timing; RocketMQ: first round 3000 ms after start, then every 10000 ms. */
  slaveSyncInitialDelayMs?: number;
  slaveSyncIntervalMs?: number;
  /** The store's file access (tests inject a slow or failing disk). */
  fileIo?: FileIo;
}

export class BrokerController {
  readonly metrics = new BrokerMetrics();
  readonly clients = new ClientManager();
  private readonly servers: RemotingServer[] = [];
  private metricsServer: MetricsHttpServer | null = null;
  private haMaster: HAMaster | null = null;
  private haSlave: HASlave | null = null;
  private registrar: NameServerRegistrar | null = null;
  /** SLAVE, or DLedger follower: copies the master's topics and offsets (RocketMQ SlaveSynchronize). */
  slaveSynchronize: SlaveSynchronize | null = null;
  /** Set by shutdown(): a DLedger role change from then on starts nothing. */
  private closing = false;
  private offsets!: ConsumerOffsetManager;
  private topics!: TopicConfigManager;
  private pull!: PullProcessor;
  /** Delay levels and delayed retries; delivers on masters only (RocketMQ handleScheduleMessageService). */
  private schedule: ScheduleMessageService | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  /** putTps / getTransferedTps windows for GET_BROKER_RUNTIME_INFO (clusterList's InTPS/OutTPS). */
  private readonly tps = new TpsWindows(() => [this.metrics.messagesIn, this.metrics.messagesOut]);
  private readonly bootTimestamp = Date.now();
  private sendQueue: SendQueue | null = null;
  private send: SendProcessor | null = null;
  /** enableDLegerCommitLog=true: the DLedger member under the store (no HA master/slave then). */
  dledger: DLedgerBroker | null = null;

  private constructor(readonly config: BrokerConfig, readonly store: MessageStore, private readonly options: BrokerStartOptions) {}

  static async start(config: BrokerConfig, options: BrokerStartOptions = {}): Promise<{ broker: BrokerController; ports: BrokerPorts }> {
    const store = await MessageStore.open(config.store, options.fileIo);
    const broker = new BrokerController(config, store, options);
    try {
      if (config.dledger) broker.dledger = await DLedgerBroker.start(config.dledger, store, config, config.listenHost);
      const ports = await broker.startServices();
      return { broker, ports };
    } catch (error) {
      await broker.shutdown();
      throw error;
    }
  }

  private async startServices(): Promise<BrokerPorts> {
    const c = this.config;
    const configDir = path.join(c.store.storePathRootDir, 'config');
    this.topics = new TopicConfigManager(path.join(configDir, 'topics.json'), {
      brokerClusterName: c.brokerClusterName, brokerName: c.brokerName, autoCreateTopicEnable: c.autoCreateTopicEnable, defaultTopicQueueNums: c.defaultTopicQueueNums,
    });
    this.offsets = new ConsumerOffsetManager(path.join(configDir, 'consumerOffset.json'));
    this.offsets.start();
    const scheduleSettings = {
      store: this.store, delayOffsetPath: path.join(configDir, 'delayOffset.json'), flushDelayOffsetIntervalMs: c.store.flushDelayOffsetInterval,
    };
    this.schedule = new ScheduleMessageService(scheduleSettings);
    const storeHost = encodeSocketAddress(c.brokerIP1, c.listenPort);
    const isSlave = c.store.brokerRole === 'SLAVE';
    const send = new SendProcessor(this.store, this.topics, {
      brokerClusterName: c.brokerClusterName, brokerName: c.brokerName, storeHost, autoCreateTopicEnable: c.autoCreateTopicEnable,
      brokerPermission: c.brokerPermission, ackWithoutStore: c.ackWithoutStore,
    }, this.metrics);
    this.send = send;
    this.pull = new PullProcessor(this.store, this.offsets, this.clients, {
      isSlave, slaveReadEnable: c.slaveReadEnable, longPollingEnable: c.longPollingEnable, shortPollingTimeMills: c.shortPollingTimeMills, brokerId: c.brokerId,
    }, this.metrics);
    this.pull.start();
    const clientProcessors = new ClientProcessors({ store: this.store, clients: this.clients, offsets: this.offsets, topics: this.topics, storeHost, brokerClusterName: c.brokerClusterName });
    const admin = new AdminProcessors({ store: this.store, topics: this.topics, metrics: this.metrics, offsets: this.offsets, runtimeExtras: () => this.runtimeExtras(),
      delayOffsetJson: () => this.schedule?.encode() ?? '' });

    const server = new RemotingServer();
    // Load shedding (BrokerFastFailure, [REJECTREQUEST]): sendQueue.ts.
    const store = this.store;
    const sendQueue = new SendQueue({
      get writeInProgress() { return store.commitLog.writeInProgress; },
      isOSPageCacheBusy: () => store.isOSPageCacheBusy(),
      isTransientStorePoolDeficient: () => store.isTransientStorePoolDeficient(),
    }, { brokerFastFailureEnable: c.brokerFastFailureEnable, waitTimeMillsInSendQueue: c.waitTimeMillsInSendQueue, sendThreadPoolQueueCapacity: c.sendThreadPoolQueueCapacity });
    this.sendQueue = sendQueue;
    store.commitLog.onWritesIdle = () => {
      if (sendQueue.size > 0) sendQueue.admit();
    };
    this.metrics.gaugeSources.push(() => sendQueue.gauges());
    // An immediate answer goes back through the server; a stored send is answered on its
    // connection by the processor once the store settles it (null here).
    const sendHandler = (v2: boolean, batch: boolean) => (request: RemotingCommand, connection: RemotingConnection) =>
      sendQueue.submit(request, () => send.process(request, connection, v2, batch));
    server.registerProcessor(RequestCode.SEND_MESSAGE, sendHandler(false, false));
    // V2 headers are read straight from the frame's bytes (sendHeaders.ts decodeSendHeaderV2Raw).
    server.registerProcessor(RequestCode.SEND_MESSAGE_V2, sendHandler(true, false), { rawExtFields: true });
    server.registerProcessor(RequestCode.SEND_BATCH_MESSAGE, sendHandler(true, true), { rawExtFields: true });
    server.registerProcessor(RequestCode.PULL_MESSAGE, (request, connection) => this.pull.process(request, (response) => connection.send(response)));
    server.registerProcessor(RequestCode.HEART_BEAT, (request, channel) => clientProcessors.heartbeat(request, channel));
    server.registerProcessor(RequestCode.UNREGISTER_CLIENT, (request) => clientProcessors.unregisterClient(request));
    server.registerProcessor(RequestCode.GET_CONSUMER_LIST_BY_GROUP, (request) => clientProcessors.consumerList(request));
    server.registerProcessor(RequestCode.QUERY_CONSUMER_OFFSET, (request) => clientProcessors.queryConsumerOffset(request));
    server.registerProcessor(RequestCode.UPDATE_CONSUMER_OFFSET, (request) => clientProcessors.updateConsumerOffset(request));
    server.registerProcessor(RequestCode.GET_MAX_OFFSET, (request) => clientProcessors.maxOffset(request));
    server.registerProcessor(RequestCode.GET_MIN_OFFSET, (request) => clientProcessors.minOffset(request));
    server.registerProcessor(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, (request) => clientProcessors.searchOffsetByTimestamp(request));
    server.registerProcessor(RequestCode.VIEW_MESSAGE_BY_ID, (request) => clientProcessors.viewMessageById(request));
    server.registerProcessor(RequestCode.CONSUMER_SEND_MSG_BACK, (request) => clientProcessors.sendMessageBack(request));
    server.registerProcessor(RequestCode.UPDATE_AND_CREATE_TOPIC, (request) => admin.createTopic(request));
    server.registerProcessor(RequestCode.GET_ALL_TOPIC_CONFIG, (request) => admin.allTopicConfig(request));
    server.registerProcessor(RequestCode.GET_ALL_CONSUMER_OFFSET, (request) => admin.allConsumerOffset(request));
    server.registerProcessor(RequestCode.GET_ALL_DELAY_OFFSET, (request) => admin.allDelayOffset(request));
    server.registerProcessor(RequestCode.GET_BROKER_RUNTIME_INFO, (request) => admin.runtimeInfo(request));
    const stats = new AdminStats({ store: this.store, topics: this.topics, offsets: this.offsets, clients: this.clients, brokerName: c.brokerName,
      settings: () => this.effectiveSettings() });
    server.registerProcessor(RequestCode.GET_TOPIC_STATS_INFO, (request) => stats.topicStatsInfo(request));
    server.registerProcessor(RequestCode.GET_CONSUME_STATS, (request) => stats.consumeStats(request));
    server.registerProcessor(RequestCode.GET_BROKER_CONFIG, (request) => stats.brokerConfig(request, this.topics.dataVersion));
    server.registerProcessor(RequestCode.GET_CONSUMER_CONNECTION_LIST, (request) => stats.consumerConnectionList(request));
    server.registerProcessor(RequestCode.QUERY_TOPIC_CONSUME_BY_WHO, (request) => stats.topicConsumeByWho(request));
    this.tps.start();
    server.onConnection((connection) => {
      // Consumers learn of group changes through NOTIFY_CONSUMER_IDS_CHANGED (oneway).
      this.metrics.connections++;
      connection.onClose(() => {
        this.metrics.connections--;
        this.clients.channelClosed(connection);
      });
    });
    this.clients.onConsumerIdsChanged = (group, channels) => {
      for (const channel of channels) {
        if (channel instanceof RemotingConnection) channel.sendOneway(createRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, { consumerGroup: group }));
      }
    };
    this.servers.push(server);
    const listenPort = await server.listen(c.listenPort, c.listenHost);
    let vipPort: number | null = null;
    if (c.listenPort > 2) {
      try {
        vipPort = await server.listen(c.listenPort - 2, c.listenHost);
      } catch (error) {
        log.warn({ port: c.listenPort - 2, err: String(error) }, 'VIP port unavailable; old clients with vipChannelEnabled will not connect');
      }
    }

    let haPort: number | null = null;
    if (!isSlave && !this.dledger) {
      this.haMaster = new HAMaster(this.store, {
        haListenPort: c.haListenPort, host: c.listenHost, haSendHeartbeatInterval: c.haSendHeartbeatInterval, haHousekeepingInterval: c.haHousekeepingInterval,
        haTransferBatchSize: c.haTransferBatchSize, haSlaveFallbehindMax: c.store.haSlaveFallbehindMax, slaveAckTimeoutMs: c.slaveAckDeadlineMs,
        slaveAckDeadlineSource: c.slaveAckDeadlineSource, slaveAckRule: c.slaveAckRule,
      });
      haPort = await this.haMaster.start();
      this.metrics.gaugeSources.push(() => this.haMaster?.gauges() ?? {});
      this.metrics.histograms.push({ name: 'rocketmq_ha_replication_latency_seconds', help: 'Send to slave ack latency', histogram: this.haMaster.replicationLatency });
    }
    this.registrar = new NameServerRegistrar(c, this.topics, () => ({ haServerAddr: `${c.brokerIP2}:${haPort ?? c.haListenPort}` }));
    if (isSlave) {
      this.haSlave = new HASlave(this.store, {
        masterHaAddress: () => c.haMasterAddress || this.registrar?.masterHaAddress || null,
        haSendHeartbeatInterval: c.haSendHeartbeatInterval, haHousekeepingInterval: c.haHousekeepingInterval,
      });
      this.haSlave.start();
    } else if (!this.dledger) {
      this.schedule.start();
    }
    this.topics.onChange = () => this.registrar?.registerAll();
    const registrar = this.registrar;
    const startSlaveSync = () => {
      this.slaveSynchronize = new SlaveSynchronize({
        topics: this.topics, offsets: this.offsets, masterAddress: () => registrar.masterAddress, delayOffsetPath: path.join(configDir, 'delayOffset.json'),
        initialDelayMs: this.options.slaveSyncInitialDelayMs, syncIntervalMs: this.options.slaveSyncIntervalMs,
      });
      this.slaveSynchronize.start();
    };
    if (this.dledger) {
      // BrokerController.handleSlaveSynchronize on a DLedger role change: a follower (re)starts
      // SlaveSynchronize from the master the name server names; the ready leader stops it.
      // The master address is forgotten either way until the next registration answers.
      this.dledger.bind(registrar, {
        changeToSlave: () => {
          if (this.closing) return;
          this.schedule?.shutdown(); // handleScheduleMessageService(SLAVE)
          this.stopSlaveSync();
          registrar.masterAddress = null;
          startSlaveSync();
        },
        changeToMaster: () => {
          this.stopSlaveSync();
          registrar.masterAddress = null;
          if (this.closing) return;
          // handleScheduleMessageService(master): RocketMQ's start() reloads delayOffset.json,
          // which SlaveSynchronize wrote, so delivery goes on where the old master was.
          this.schedule?.shutdown();
          try {
            this.schedule = new ScheduleMessageService(scheduleSettings);
          } catch (error) {
            log.error({ err: String(error) }, 'cannot reload delayOffset.json on becoming master; delayed delivery goes on from this broker\'s own offsets');
          }
          this.schedule?.start();
        },
      });
      const dledger = this.dledger;
      this.metrics.gaugeSources.push(() => dledger.gauges());
    }
    await this.registrar.start();
    if (isSlave) startSlaveSync();

    let metricsPort: number | null = null;
    if (c.metricsPort > 0 || c.metricsPort === -1) {
      this.metricsServer = new MetricsHttpServer({
        store: this.store, metrics: this.metrics, topics: this.topics, storeHost, brokerClusterName: c.brokerClusterName,
        labels: { broker: c.brokerName, brokerId: String(c.brokerId) }, effectiveSettings: () => this.effectiveSettings(),
        produceEnabled: c.httpProduceEnable,
      });
      metricsPort = await this.metricsServer.listen(c.metricsPort === -1 ? 0 : c.metricsPort, c.metricsHost);
    }
    this.expiryTimer = setInterval(() => {
      try {
        this.clients.expireSilentClients();
      } catch (error) {
        log.error({ err: String(error) }, 'client expiry failed; retrying in 10 s');
      }
    }, 10_000);
    this.expiryTimer.unref();
    return { listenPort, vipPort, haPort, metricsPort };
  }

  /** Stops SlaveSynchronize at once (a round in flight applies nothing more); its connection closes in the background. */
  private stopSlaveSync(): void {
    const sync = this.slaveSynchronize;
    this.slaveSynchronize = null;
    sync?.stop().catch((error: unknown) => log.warn({ err: String(error) }, 'stopping SlaveSynchronize failed'));
  }

  /**
   * Last line of defence (process guard): an error nobody handled leaves the broker in an
   * unknown state, so the store stops taking writes (SERVICE_NOT_AVAILABLE) and keeps serving reads.
   */
  failStore(error: Error): void {
    this.store.failStore(error);
  }

  effectiveSettings(): Record<string, string> {
    return { ...this.config.effectiveSettings(), transientStorePoolActive: String(this.store.transientStorePoolActive), hostname: os.hostname() };
  }

  private runtimeExtras(): Record<string, string> {
    const extras: Record<string, string> = {
      brokerRole: this.config.store.brokerRole, flushDiskType: this.config.store.flushDiskType,
      // The keys clusterList reads (RocketMQ's StoreStatsService and AdminBrokerProcessor names).
      putTps: this.tps.text(0), getTransferedTps: this.tps.text(1), bootTimestamp: String(this.bootTimestamp),
      sendThreadPoolQueueSize: String((this.sendQueue?.size ?? 0) + (this.send?.awaitingStore ?? 0)), pullThreadPoolQueueSize: '0',
      sendThreadPoolQueueHeadWaitTimeMills: '0', pullThreadPoolQueueHeadWaitTimeMills: '0', pageCacheLockTimeMills: '0',
      earliestMessageTimeStamp: String(this.earliestMessageTimestamp()),
    };
    for (const [key, value] of Object.entries(this.haMaster?.gauges() ?? {})) extras[key] = String(value);
    Object.assign(extras, this.schedule?.runningStats());
    return extras;
  }

  /** Store time of the oldest message in the CommitLog, 0 when empty (clusterList's #Hour). */
  private earliestMessageTimestamp(): number {
    try {
      return this.store.lookMessageByOffset(this.store.commitLog.minOffset)?.storeTimestamp ?? 0;
    } catch {
      return 0; // a runtime-info field must never fail the request
    }
  }

  /** SIGTERM: stop accepting, let in-flight sends finish, flush, checkpoint, exit. */
  async shutdown(): Promise<void> {
    this.closing = true;
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.tps.stop();
    await this.slaveSynchronize?.stop();
    await this.registrar?.unregisterAll().catch(() => {});
    this.registrar?.stop();
    for (const server of this.servers) server.stopAccepting();
    // Sends still in the queue are answered SYSTEM_BUSY by close(); appended ones get their flush status.
    for (let i = 0; i < 500 && (this.send?.awaitingStore ?? 0) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    this.sendQueue?.close();
    this.pull?.shutdown();
    this.schedule?.shutdown();
    await this.haSlave?.close();
    await this.haMaster?.close();
    await this.dledger?.shutdown();
    await this.store.shutdown();
    this.offsets?.shutdown();
    for (const server of this.servers) await server.close();
    await this.metricsServer?.close();
  }
}
