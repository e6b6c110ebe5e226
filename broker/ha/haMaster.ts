// The master side of RocketMQ 4.x classic HA (HAService + AcceptSocketService +
// GroupTransferService): accepts slaves on haListenPort, streams the CommitLog to each, and
// is the store's ReplicationGate for SYNC_MASTER acks. Protocol and ack rule: README.md.
import net from 'node:net';
import { errorMessage, FlushbenchError } from '../../protocol/errors.js';
import { childLogger, type Logger } from '../../protocol/logger.js';
import type { MessageStore, ReplicationGate } from '../store/messageStore.js';
import type { PutStatus } from '../store/putStatus.js';
import type { LatencyHistogram } from '../store/storeMetrics.js';
import { HA_DEFAULTS } from '../store/storeSettings.js';
import { GroupTransferService, type SlaveAckRule, TRANSFER_WAIT_MS_DEFAULT } from './groupTransfer.js';
import { HAConnection, type HAConnectionHost, type HAConnectionStatus } from './haConnection.js';

export interface HAMasterSettings {
  /** TCP port for slaves (RocketMQ forces listenPort + 1); 0 picks a free port (tests). */
  haListenPort: number;
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Idle time after which the master sends a header-only heartbeat; default 5000 ms. */
  haSendHeartbeatInterval?: number;
  /** A slave silent this long is dropped; default 20000 ms. */
  haHousekeepingInterval?: number;
  /** Largest frame body; default 32768 bytes. */
  haTransferBatchSize?: number;
  /** A slave further behind than this is "not available" to SYNC_MASTER; default 256 MiB. */
  haSlaveFallbehindMax?: number;
  /** SYNC_MASTER deadline for a slave ack: slaveTimeout (≥ 4.9.3, 3000) or syncFlushTimeout (≤ 4.9.2, 5000). */
  slaveAckTimeoutMs?: number;
  /** Which broker setting slaveAckTimeoutMs came from (reported in logs and metrics). */
  slaveAckDeadlineSource?: 'slaveTimeout' | 'syncFlushTimeout';
  /** When FLUSH_SLAVE_TIMEOUT lands (groupTransfer.ts): deadline-grid (≥ 4.9.3, default), serial-turn (4.7–4.9.2), put-thread (≤ 4.6). */
  slaveAckRule?: SlaveAckRule;
  /** GroupTransferService's waitForRunning period between deadline checks; RocketMQ: 1000 ms. */
  transferWaitMs?: number;
  /** Logger; default childLogger('ha'). */
  logger?: Logger;
}

type ResolvedSettings = Required<Omit<HAMasterSettings, 'logger'>>;

export class HAMaster implements ReplicationGate, HAConnectionHost {
  readonly settings: ResolvedSettings;
  readonly log: Logger;
  private readonly transfer: GroupTransferService;
  private readonly connections = new Set<HAConnection>();
  private server: net.Server | null = null;
  private housekeeping: NodeJS.Timeout | null = null;
  /**
   * RocketMQ wakes the write side only for a SYNC_MASTER put that waits for the slave
   * (CommitLog.submitReplicaRequest → getWaitNotifyObject().wakeupAll(), CommitLog.java:896 in
   * 4.9.7); otherwise WriteSocketService polls every 100 ms. Our waiters register before their
   * batch is in the file, so the wake comes with the commit, and only while one waits.
   */
  private readonly commitListener = (): void => {
    if (this.transfer.waiting === 0) return;
    for (const connection of this.connections) connection.wakeUp();
  };
  private transferredBytes = 0;
  private state: 'new' | 'running' | 'closed' = 'new';

  constructor(private readonly store: MessageStore, settings: HAMasterSettings) {
    this.settings = {
      haListenPort: settings.haListenPort,
      host: settings.host ?? '127.0.0.1',
      haSendHeartbeatInterval: settings.haSendHeartbeatInterval ?? HA_DEFAULTS.haSendHeartbeatInterval,
      haHousekeepingInterval: settings.haHousekeepingInterval ?? HA_DEFAULTS.haHousekeepingInterval,
      haTransferBatchSize: settings.haTransferBatchSize ?? HA_DEFAULTS.haTransferBatchSize,
      haSlaveFallbehindMax: settings.haSlaveFallbehindMax ?? store.config.haSlaveFallbehindMax,
      slaveAckTimeoutMs: settings.slaveAckTimeoutMs ?? store.config.slaveTimeout,
      slaveAckDeadlineSource: settings.slaveAckDeadlineSource ?? 'slaveTimeout',
      slaveAckRule: settings.slaveAckRule ?? 'deadline-grid',
      transferWaitMs: settings.transferWaitMs ?? TRANSFER_WAIT_MS_DEFAULT,
    };
    if (!(this.settings.haTransferBatchSize > 0)) {
      throw new FlushbenchError('HA_BAD_SETTING', `haTransferBatchSize must be > 0, got ${this.settings.haTransferBatchSize}`);
    }
    this.log = settings.logger ?? childLogger('ha');
    this.transfer = new GroupTransferService(this.settings.slaveAckTimeoutMs, this.settings.slaveAckRule, this.settings.transferWaitMs);
  }

  // HAConnectionHost
  get commitLog(): MessageStore['commitLog'] { return this.store.commitLog; }
  get segmentSizeBytes(): number { return this.store.config.mappedFileSizeCommitLog; }
  get haTransferBatchSize(): number { return this.settings.haTransferBatchSize; }
  get haSendHeartbeatInterval(): number { return this.settings.haSendHeartbeatInterval; }
  get haHousekeepingInterval(): number { return this.settings.haHousekeepingInterval; }
  onSlaveAck(offset: number): void { this.transfer.onAck(offset); }
  onTransferred(bytes: number): void { this.transferredBytes += bytes; }
  onClosed(connection: HAConnection): void { this.connections.delete(connection); }

  /** Listens for slaves, registers as the store's replication gate; resolves with the bound port. */
  async start(): Promise<number> {
    if (this.state !== 'new') throw new FlushbenchError('HA_STATE', `HAMaster.start() called when ${this.state}`);
    this.state = 'running';
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    const { host, haListenPort } = this.settings;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(haListenPort, host, () => resolve());
      });
    } catch (error) {
      this.state = 'closed';
      this.server = null;
      throw new FlushbenchError('HA_LISTEN_FAILED',
        `cannot listen for slaves on ${host}:${haListenPort}: ${errorMessage(error)}; set listenPort so that listenPort+1 is free`, { cause: error });
    }
    server.on('error', (error) => this.log.error({ err: errorMessage(error) }, 'HA server error'));
    this.store.commitLog.commitListeners.push(this.commitListener);
    this.store.setReplicationGate(this);
    const tickMs = Math.max(10, Math.min(1000, Math.floor(Math.min(this.settings.haHousekeepingInterval, this.settings.haSendHeartbeatInterval) / 4)));
    this.housekeeping = setInterval(() => {
      const now = Date.now();
      for (const connection of this.connections) connection.tick(now);
    }, tickMs);
    this.housekeeping.unref();
    const port = (server.address() as net.AddressInfo).port;
    this.log.info({ host, port, slaveAckTimeoutMs: this.settings.slaveAckTimeoutMs, deadlineSource: this.settings.slaveAckDeadlineSource }, 'HA master listening');
    return port;
  }

  private accept(socket: net.Socket): void {
    if (this.state !== 'running') {
      socket.destroy();
      return;
    }
    const connection = new HAConnection(socket, this);
    this.connections.add(connection);
    this.log.info({ slave: connection.clientAddress }, 'slave connected');
    connection.start();
  }

  /** Stops accepting, drops every slave, answers waiting puts FLUSH_SLAVE_TIMEOUT. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasRunning = this.state === 'running';
    this.state = 'closed';
    if (this.housekeeping) clearInterval(this.housekeeping);
    const listeners = this.store.commitLog.commitListeners;
    const at = listeners.indexOf(this.commitListener);
    if (at >= 0) listeners.splice(at, 1);
    this.store.setReplicationGate(null);
    this.transfer.close();
    const closing = [...this.connections].map((connection) => {
      connection.close('master shutting down');
      return connection.whenClosed();
    });
    await Promise.all(closing);
    if (wasRunning && this.server) {
      const server = this.server;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  // ReplicationGate
  /** ≥ 1 slave connected and (endOffset − push2SlaveMaxOffset) < haSlaveFallbehindMax. */
  isSlaveOk(endOffset: number): boolean {
    return this.connections.size > 0 && endOffset - this.transfer.push2SlaveMaxOffset < this.settings.haSlaveFallbehindMax;
  }

  /** PUT_OK once a slave acked ≥ endOffset; FLUSH_SLAVE_TIMEOUT at the slaveAckTimeoutMs deadline. */
  waitForSlave(endOffset: number): Promise<PutStatus> {
    return this.transfer.waitForSlave(endOffset);
  }

  // Metrics
  /** RocketMQ's push2SlaveMaxOffset: the highest offset any slave acknowledged. */
  get slaveAckOffset(): number { return this.transfer.push2SlaveMaxOffset; }
  /** Master committed end minus the best slave ack. */
  get slaveFallBehindBytes(): number { return Math.max(0, this.store.commitLog.maxCommittedOffset - this.transfer.push2SlaveMaxOffset); }
  /** CommitLog bytes sent to slaves since start (frame headers excluded). */
  get haTransferredBytes(): number { return this.transferredBytes; }
  get haConnectionCount(): number { return this.connections.size; }
  /** Connected slaves that have reported an offset (a 4.9.x slave's first report comes haSendHeartbeatInterval after connecting; until then SYNC_MASTER puts cannot be acked). */
  get reportedSlaveCount(): number { return [...this.connections].filter((c) => c.slaveRequestOffset >= 0).length; }
  /** Time from waitForSlave to its PUT_OK (ms). */
  get replicationLatency(): LatencyHistogram { return this.transfer.replicationLatency; }
  /** Puts answered FLUSH_SLAVE_TIMEOUT. */
  get slaveAckTimeouts(): number { return this.transfer.timeouts; }
  /** Puts waiting for a slave ack right now. */
  get waitingForSlave(): number { return this.transfer.waiting; }

  gauges(): Record<string, number> {
    return {
      rocketmq_ha_slave_ack_offset: this.slaveAckOffset,
      rocketmq_ha_slave_fall_behind_bytes: this.slaveFallBehindBytes,
      rocketmq_ha_transferred_bytes_total: this.haTransferredBytes,
      rocketmq_ha_connections: this.haConnectionCount,
      rocketmq_ha_slaves_reported: this.reportedSlaveCount,
    };
  }

  connectionsStatus(): HAConnectionStatus[] {
    return [...this.connections].map((connection) => connection.status());
  }
}
