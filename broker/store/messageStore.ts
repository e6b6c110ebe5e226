// The store facade (RocketMQ's DefaultMessageStore): lock + abort files, recovery, the flush
// policy chosen by the config, puts, reads by queue offset, and the hooks replication needs.
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, errorMessage, FlushbenchError } from '../../protocol/errors.js';
import { childLogger } from '../../protocol/logger.js';
import { DiskSpaceGuard, statfsOrNull } from './diskSpaceGuard.js';
import { Checkpoint } from './checkpoint.js';
import { type AppendResult, CommitLog } from './commitLog.js';
import { ConsumeQueueStore } from './consumeQueueStore.js';
import { type FileIo, fsyncDirectory, nodeFileIo } from './fileIo.js';
import { CommitRealTimeService, FlushRealTimeService, GroupCommitService } from './flushServices.js';
import { parseMessageDelayLevel, scheduleDelayMs } from './delayLevels.js';
import { findProperty, type MessageToStore, storeTimestampOf, tagsCodeOf } from './messageCodec.js';
import { PUT_OK_SETTLED, type PutStatus } from './putStatus.js';
import { recover, type RecoveryReport } from './recovery.js';
import { ReplicaAppender } from './replicaAppender.js';
import type { StoreConfig } from './storeConfig.js';
import type { ConsumeQueue } from './consumeQueue.js';
import { lockedPaths, takeLock } from './storeLock.js';
import { CQ_ENTRY_BYTES } from './consumeQueue.js';
import { MAX_FILTER_SCAN_BYTES, resolveStoreSettings } from './storeSettings.js';
import { TransientStorePool } from './transientStorePool.js';
import { decodeMessage } from './messageCodec.js';

const log = childLogger('store');

/** SYNC_MASTER's view of replication; provided by broker/ha. */
export interface ReplicationGate {
  /** ≥ 1 slave connected and less than haSlaveFallbehindMax behind `endOffset`. */
  isSlaveOk(endOffset: number): boolean;
  /** PUT_OK once a slave acked ≥ endOffset, FLUSH_SLAVE_TIMEOUT at the deadline. */
  waitForSlave(endOffset: number): Promise<PutStatus>;
}

/** A CommitLog that replaces ours (enableDLegerCommitLog=true: broker/dledger/dledgerCommitLog.ts). */
export interface ExternalCommitLog {
  append(message: MessageToStore, queue: ConsumeQueue): AppendResult;
  readCommittedSync(physicalOffset: number, maxBytes: number): Buffer | null;
  readonly maxCommittedOffset: number;
}

export type GetMessageStatus =
  | 'FOUND' | 'NO_MATCHED_MESSAGE' | 'MESSAGE_WAS_REMOVING' | 'OFFSET_FOUND_NULL' | 'OFFSET_OVERFLOW_BADLY'
  | 'OFFSET_OVERFLOW_ONE' | 'OFFSET_TOO_SMALL' | 'NO_MATCHED_LOGIC_QUEUE' | 'NO_MESSAGE_IN_QUEUE';

export interface GetMessageResult {
  status: GetMessageStatus;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  /** Raw CommitLog records, ready to concatenate into a pull response body. */
  records: Buffer[];
  /** RocketMQ's suggestPullingFromSlave: the data read is far behind the newest. */
  suggestPullingFromSlave: boolean;
}

export interface PutMessageResult {
  status: PutStatus;
  physicalOffset: number;
  queueOffset: number;
  sizeBytes: number;
  storeTimestamp: number;
  reason?: string;
}

/** Pull limits (maxTransferBytes/CountOnMessageInMemory and …InDisk). */
const MEMORY_LIMITS = { bytes: 262_144, count: 32 };
const DISK_LIMITS = { bytes: 65_536, count: 8 };

export class MessageStore {
  readonly commitLog: CommitLog;
  readonly queues: ConsumeQueueStore;
  readonly warnings: string[] = [];
  /** Derived settings in effect (pool, in-memory limit, fsyncErrorPolicy …) for reports. */
  readonly effectiveSettings: Readonly<Record<string, string>>;
  recoveryReport: RecoveryReport | null = null;
  /** Whether transientStorePool is really in effect (ASYNC_FLUSH master only, like RocketMQ). */
  readonly transientStorePoolActive: boolean;
  /** messageDelayLevel parsed: delay of level i + 1 in ms (SCHEDULE_TOPIC_XXXX deliver times). */
  readonly delayLevelsMs: readonly number[];
  private readonly checkpoint: Checkpoint;
  /** RocketMQ's disk-full flag: puts are refused SERVICE_NOT_AVAILABLE above 90 % used. */
  readonly diskSpace: DiskSpaceGuard;
  private readonly flushService: FlushRealTimeService | null = null;
  private readonly groupCommit: GroupCommitService | null = null;
  private readonly commitService: CommitRealTimeService | null = null;
  private replicationGate: ReplicationGate | null = null;
  /** DLedger mode: appends and reads go here; our CommitLog stays empty. */
  private external: ExternalCommitLog | null = null;
  private state: 'running' | 'stopping' | 'stopped' = 'running';
  /** Slave only: appends the master's bytes, builds ConsumeQueue entries later (ReputMessageService). */
  private readonly replica: ReplicaAppender;
  private readonly pool: TransientStorePool | null;
  /** Reads further than this behind the CommitLog end count as on disk (accessMessageInMemoryMaxRatio × RAM). */
  private readonly inMemoryLimitBytes: number;
  private failure: Error | null = null;

  private constructor(readonly config: StoreConfig, private readonly io: FileIo, private readonly lockPath: string) {
    const settings = resolveStoreSettings(config);
    this.delayLevelsMs = parseMessageDelayLevel(config.messageDelayLevel);
    this.transientStorePoolActive = settings.transientStorePoolActive;
    this.inMemoryLimitBytes = settings.inMemoryLimitBytes;
    this.warnings.push(...settings.warnings);
    this.effectiveSettings = settings.effective;
    const pool = this.transientStorePoolActive ? new TransientStorePool(config.transientStorePoolSize, config.mappedFileSizeCommitLog) : null;
    this.pool = pool;
    this.commitLog = new CommitLog(io, config.storePathCommitLog, config.mappedFileSizeCommitLog, config.maxMessageSize, pool);
    this.queues = new ConsumeQueueStore(io, path.join(config.storePathRootDir, 'consumequeue'), config.mappedFileSizeConsumeQueue);
    this.replica = new ReplicaAppender(this.commitLog, this.queues, io, config.mappedFileSizeCommitLog, this.delayLevelsMs);
    this.replica.onDispatched = (committed) => {
      for (const listener of this.commitLog.commitListeners) listener(committed);
    };
    this.checkpoint = Checkpoint.open(io, path.join(config.storePathRootDir, 'checkpoint'));
    this.diskSpace = new DiskSpaceGuard(config.storePathCommitLog, {
      stats: (dir) => (io.statfsSync ? io.statfsSync(dir) : statfsOrNull(dir)),
      onChange: (full, ratio) => (full ? log.error({ usedRatio: ratio, dir: config.storePathCommitLog }, 'physic disk of commitLog maybe full soon: puts refused (SERVICE_NOT_AVAILABLE)')
        : log.info({ usedRatio: ratio }, 'physic disk space of commitLog OK again: puts accepted')),
    });
    const fail = (error: Error) => this.failStore(error);
    this.commitLog.onFatal = fail;
    if (config.flushDiskType === 'SYNC_FLUSH') {
      this.groupCommit = new GroupCommitService(this.commitLog, config.syncFlushTimeout);
      const groupCommit = this.groupCommit;
      this.commitLog.ackPolicy = (end, resolve) => groupCommit.putRequest(end, resolve);
      this.groupCommit.onFlushed = () => this.onCommitLogFlushed();
      this.groupCommit.onFatal = fail;
    } else {
      this.flushService = new FlushRealTimeService(this.commitLog, config);
      this.flushService.onFlushed = () => this.onCommitLogFlushed();
      this.flushService.onFatal = fail;
      if (pool) {
        const flush = this.flushService;
        this.commitService = new CommitRealTimeService(this.commitLog, config, () => flush.wakeup());
        this.commitService.onFatal = fail;
      }
    }
  }

  /** The error that failed the store, or null while it is healthy. */
  get storeFailure(): Error | null {
    return this.failure;
  }

  /**
   * Fails the store (idempotent): writes answer SERVICE_NOT_AVAILABLE from now on, sends
   * waiting for an fsync answer FLUSH_DISK_TIMEOUT, unwritten ones SERVICE_NOT_AVAILABLE;
   * reads go on. Called for any error in the store's background work (an fdatasync error
   * among them) and by the broker for an unhandled rejection. Logged once, loudly.
   */
  failStore(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    log.fatal({ err: error.message, code: (error as { code?: unknown }).code, stack: error.stack },
      'STORE FAILED: no more writes are accepted (SERVICE_NOT_AVAILABLE); reads go on. Restart the broker once the cause is fixed: recovery checks the log.');
    this.commitLog.fail(error);
    this.replica.stop();
    this.groupCommit?.fail();
    this.flushService?.halt();
    this.commitService?.halt();
    this.queues.halt();
  }

  /** Opens (creating if needed) the store at config.storePathRootDir and recovers it. */
  static async open(config: StoreConfig, io: FileIo = nodeFileIo): Promise<MessageStore> {
    const root = config.storePathRootDir;
    try {
      fs.mkdirSync(config.storePathCommitLog, { recursive: true });
      fs.accessSync(root, fs.constants.W_OK);
    } catch (error) {
      throw new FlushbenchError('STORE_PATH_UNUSABLE', `store path ${root} is not a writable directory (${errnoCode(error) ?? errorMessage(error)}); set storePathRootDir to a directory you can write`);
    }
    const lockPath = path.join(root, 'lock');
    takeLock(lockPath);
    const abortPath = path.join(root, 'abort');
    const abnormal = fs.existsSync(abortPath);
    let store: MessageStore;
    try {
      store = new MessageStore(config, io, lockPath);
      fs.mkdirSync(store.queues.rootDir, { recursive: true });
      for (const dir of [root, path.dirname(config.storePathCommitLog)]) fsyncDirectory(io, dir); // the store's own directories
      store.recoveryReport = recover(store.commitLog, store.queues, store.checkpoint, {
        abnormal, checkCrc: config.checkCRCOnRecover, trashDir: path.join(root, 'recovery-trash', String(Date.now())), delayLevelsMs: store.delayLevelsMs,
      });
    } catch (error) {
      fs.rmSync(lockPath, { force: true });
      lockedPaths.delete(lockPath);
      throw error;
    }
    fs.writeFileSync(abortPath, '');
    store.replica.dispatchedOffset = store.commitLog.maxCommittedOffset;
    store.start();
    log.info({ root, recovery: store.recoveryReport, poolActive: store.transientStorePoolActive }, 'store opened');
    return store;
  }

  private start(): void {
    const config = this.config;
    this.commitLog.commitListeners.push(() => {
      this.flushService?.wakeup();
    });
    this.flushService?.start();
    this.groupCommit?.start();
    this.commitService?.start();
    this.diskSpace.start();
    this.queues.startFlushLoop(config.flushIntervalConsumeQueue, config.flushConsumeQueueLeastPages, config.flushConsumeQueueThoroughInterval,
      (leastPages) => this.consumeQueueRound(leastPages), (error) => this.failStore(error));
  }

  /**
   * One FlushConsumeQueueService round: write + fdatasync ConsumeQueues, then the checkpoint
   * (when a value moved). logicsMsgTimestamp advances to the newest record dispatched before
   * the round only when the round left no entry unflushed, so it never covers lost entries.
   */
  private async consumeQueueRound(leastPages: number): Promise<void> {
    const covered = this.lastCommittedStoreTimestamp();
    const allFlushed = await this.queues.writeAndFlush(leastPages);
    if (allFlushed && covered > this.checkpoint.logicsMsgTimestamp) this.checkpoint.logicsMsgTimestamp = covered;
    await this.checkpoint.flushIfChanged();
  }

  private lastCommittedStoreTimestamp(): number {
    return this.commitLog.segments.at(-1)?.lastCommittedStoreTimestamp ?? 0;
  }

  private onCommitLogFlushed(): void {
    const timestamp = this.commitLog.lastFlushedStoreTimestamp;
    if (timestamp > 0) this.checkpoint.physicMsgTimestamp = timestamp;
  }

  /** DLedger mode (enableDLegerCommitLog=true): puts and reads use `log` instead of our CommitLog. */
  useExternalCommitLog(log: ExternalCommitLog): void {
    this.external = log;
  }

  private get records(): Pick<ExternalCommitLog, 'readCommittedSync' | 'maxCommittedOffset'> {
    return this.external ?? this.commitLog;
  }

  setReplicationGate(gate: ReplicationGate | null): void {
    this.replicationGate = gate;
  }

  get isSlave(): boolean {
    return this.config.brokerRole === 'SLAVE';
  }

  /**
   * DefaultMessageStore.isOSPageCacheBusy (DefaultMessageStore.java:539-545, 4.9.7): the put
   * "lock" has been held longer than osPageCacheBusyTimeOutMills. Our lock is the CommitLog
   * write() in progress (commitLog.writeStartedMs); the copy into a pool buffer never counts.
   */
  isOSPageCacheBusy(nowMs?: number): boolean {
    const begin = this.commitLog.writeStartedMs;
    // Asked on every send: read the clock only while a write is in progress.
    return begin !== 0 && (nowMs ?? performance.now()) - begin > this.config.osPageCacheBusyTimeOutMills;
  }

  /** How long the CommitLog write() in progress has been running (ms), 0 if none. */
  writeInProgressMs(nowMs: number = performance.now()): number {
    const begin = this.commitLog.writeStartedMs;
    return begin === 0 ? 0 : nowMs - begin;
  }

  /** DefaultMessageStore.isTransientStorePoolDeficient (java:1591): pool in effect and no buffer free. */
  isTransientStorePoolDeficient(): boolean {
    return this.pool !== null && this.pool.availableBufferCount === 0;
  }

  /** Free pool buffers (RocketMQ's remainTransientStoreBufferNumbs), -1 without a pool. */
  get transientStorePoolAvailable(): number {
    return this.pool?.availableBufferCount ?? -1;
  }

  /**
   * Appends synchronously (offsets known at once); `settled` resolves when the flush and
   * replication policy hold. waitStoreMsgOK=false is the WAIT=false property: ack at once.
   */
  appendMessage(message: MessageToStore, waitStoreMsgOK = findProperty(message.properties, 'WAIT') !== 'false'): AppendResult {
    if (this.state !== 'running' || this.isSlave || this.failure) {
      return this.rejected('SERVICE_NOT_AVAILABLE', this.failure ? `the store failed: ${this.failure.message}` : this.isSlave ? 'a SLAVE does not accept writes' : 'the store is shutting down');
    }
    // checkStoreStatus: RunningFlags.isWriteable() is false while the disk is marked full.
    if (this.diskSpace.full) {
      const root = this.config.storePathRootDir;
      return this.rejected('SERVICE_NOT_AVAILABLE', `the broker's disk is full [${this.diskSpace.describe(path.join(root, 'consumequeue'), path.join(root, 'index'))}]`);
    }
    // checkStoreStatus (DefaultMessageStore.java:424): a put while the page cache is busy is refused.
    if (this.commitLog.writeStartedMs !== 0 && this.isOSPageCacheBusy()) {
      return this.rejected('OS_PAGECACHE_BUSY', `a CommitLog write has been running for ${Math.round(this.writeInProgressMs())} ms (osPageCacheBusyTimeOutMills ${this.config.osPageCacheBusyTimeOutMills})`);
    }
    let queue;
    try {
      queue = this.queues.findOrCreate(message.topic, message.queueId);
    } catch (error) {
      return this.rejected('MESSAGE_ILLEGAL', errorMessage(error));
    }
    const deliverAfterMs = scheduleDelayMs(message.topic, message.properties, this.delayLevelsMs);
    const result = this.external ? this.external.append(message, queue)
      : this.commitLog.append(message, queue, deliverAfterMs >= 0 ? 0 : (message.tagsCode ?? tagsCodeOf(message.properties)), deliverAfterMs);
    if (result.status !== 'PUT_OK') return result;
    if (this.commitService) this.commitService.wakeup();
    if (!waitStoreMsgOK) {
      if (this.groupCommit) this.groupCommit.noteUnwaitedCommit();
      result.settled = PUT_OK_SETTLED;
      return result;
    }
    const gate = this.replicationGate;
    if (this.config.brokerRole === 'SYNC_MASTER' && gate) {
      const endOffset = result.physicalOffset + result.sizeBytes;
      const replica = gate.isSlaveOk(endOffset) ? gate.waitForSlave(endOffset) : Promise.resolve<PutStatus>('SLAVE_NOT_AVAILABLE');
      // RocketMQ combines both futures: a replica failure overrides, else the flush status.
      result.settled = Promise.all([result.settled, replica]).then(([flush, replicaStatus]) => (replicaStatus !== 'PUT_OK' ? replicaStatus : flush));
    } else if (this.config.brokerRole === 'SYNC_MASTER') {
      result.settled = result.settled.then((flush) => (flush === 'PUT_OK' ? 'SLAVE_NOT_AVAILABLE' : flush));
    }
    return result;
  }

  async putMessage(message: MessageToStore): Promise<PutMessageResult> {
    const appended = this.appendMessage(message);
    const status = await appended.settled;
    return {
      status: appended.status === 'PUT_OK' ? status : appended.status,
      physicalOffset: appended.physicalOffset,
      queueOffset: appended.queueOffset,
      sizeBytes: appended.sizeBytes,
      storeTimestamp: appended.storeTimestamp,
      reason: appended.reason,
    };
  }

  private rejected(status: PutStatus, reason: string): AppendResult {
    return { status, physicalOffset: -1, queueOffset: -1, sizeBytes: 0, storeTimestamp: 0, settled: Promise.resolve(status), reason };
  }

  getMaxOffsetInQueue(topic: string, queueId: number): number {
    return this.queues.find(topic, queueId)?.maxOffset ?? 0;
  }

  getMinOffsetInQueue(topic: string, queueId: number): number {
    return this.queues.find(topic, queueId)?.minOffset ?? 0;
  }

  /** Store timestamp of the message at a queue offset, or -1. */
  private storeTimestampAt(topic: string, queueId: number, queueOffset: number): number {
    const entry = this.queues.find(topic, queueId)?.getEntry(queueOffset);
    if (!entry || entry.sizeBytes === 0x7fffffff) return -1;
    const head = this.records.readCommittedSync(entry.physicalOffset, 128);
    return head && head.length >= 76 ? storeTimestampOf(head, 0) : -1;
  }

  /** First queue offset whose store timestamp is ≥ timestamp (SEARCH_OFFSET_BY_TIMESTAMP). */
  getOffsetInQueueByTime(topic: string, queueId: number, timestamp: number): number {
    const queue = this.queues.find(topic, queueId);
    if (!queue) return 0;
    let low = queue.minOffset;
    let high = queue.maxOffset;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const at = this.storeTimestampAt(topic, queueId, mid);
      if (at >= 0 && at < timestamp) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Reads up to maxMsgNums records from a queue (GetMessageStatus semantics of RocketMQ 4.x). */
  getMessages(topic: string, queueId: number, offset: number, maxMsgNums: number, accepts?: (tagsCode: number) => boolean): GetMessageResult {
    const queue = this.queues.find(topic, queueId);
    const minOffset = queue?.minOffset ?? 0;
    const maxOffset = queue?.maxOffset ?? 0;
    const empty = (status: GetMessageStatus, nextBeginOffset: number): GetMessageResult =>
      ({ status, nextBeginOffset, minOffset, maxOffset, records: [], suggestPullingFromSlave: false });
    if (!queue) return empty('NO_MATCHED_LOGIC_QUEUE', 0);
    if (maxOffset === 0) return empty('NO_MESSAGE_IN_QUEUE', 0);
    if (offset < minOffset) return empty('OFFSET_TOO_SMALL', minOffset);
    if (offset === maxOffset) return empty('OFFSET_OVERFLOW_ONE', offset);
    if (offset > maxOffset) return empty('OFFSET_OVERFLOW_BADLY', minOffset === 0 ? minOffset : maxOffset);
    const maxPhysical = this.records.maxCommittedOffset;
    const inMemoryLimitBytes = this.inMemoryLimitBytes;
    const records: Buffer[] = [];
    let bytes = 0;
    let next = offset;
    let lastPhysical = 0;
    // RocketMQ bounds the entries one pull looks at (a filter matching nothing must not scan the
    // whole queue): max(16000, maxMsgNums × 20) bytes of ConsumeQueue; the client goes on from next.
    const scanEnd = Math.min(maxOffset, offset + Math.max(MAX_FILTER_SCAN_BYTES / CQ_ENTRY_BYTES, maxMsgNums));
    for (; next < scanEnd && records.length < maxMsgNums; next++) {
      const entry = queue.getEntry(next);
      if (!entry || entry.sizeBytes === 0x7fffffff) continue;
      const inMemory = maxPhysical - entry.physicalOffset <= inMemoryLimitBytes;
      const limits = inMemory ? MEMORY_LIMITS : DISK_LIMITS;
      if (records.length >= limits.count || (records.length > 0 && bytes + entry.sizeBytes > limits.bytes)) break;
      if (accepts && !accepts(entry.tagsCode)) continue;
      const record = this.records.readCommittedSync(entry.physicalOffset, entry.sizeBytes);
      if (!record || record.length < entry.sizeBytes) break;
      records.push(record);
      bytes += entry.sizeBytes;
      lastPhysical = entry.physicalOffset;
    }
    const status: GetMessageStatus = records.length > 0 ? 'FOUND' : 'NO_MATCHED_MESSAGE';
    const suggestPullingFromSlave = records.length > 0 && maxPhysical - lastPhysical > inMemoryLimitBytes;
    return { status, nextBeginOffset: next, minOffset, maxOffset, records, suggestPullingFromSlave };
  }

  /** One message by its CommitLog offset (CONSUMER_SEND_MSG_BACK, lookups). */
  lookMessageByOffset(physicalOffset: number) {
    const head = this.records.readCommittedSync(physicalOffset, 4);
    if (!head || head.length < 4) return null;
    const record = this.records.readCommittedSync(physicalOffset, head.readInt32BE(0));
    return record ? decodeMessage(record) : null;
  }

  /**
   * SLAVE: appends bytes received from the master at `physicalOffset`, which must equal the
   * local end (never write a gap). ConsumeQueue entries follow in a later turn (replicaAppender.ts).
   */
  async appendReplicated(physicalOffset: number, data: Buffer): Promise<void> {
    await this.replica.append(physicalOffset, data);
    if (this.groupCommit) this.groupCommit.noteUnwaitedCommit();
  }

  /** SLAVE: end of the last complete record turned into ConsumeQueue entries. */
  get replicatedRecordsEnd(): number {
    return this.replica.dispatchedOffset;
  }

  /** SLAVE: builds ConsumeQueue entries for everything written so far, now (the HA slave's divergence check, shutdown). */
  dispatchReplicatedNow(): void {
    if (this.isSlave && !this.failure) this.replica.dispatchNow();
  }

  /** Metrics snapshot for the broker's metrics endpoint and reports. */
  stats() {
    const metrics = this.commitLog.metrics;
    const committed = this.commitLog.maxCommittedOffset;
    return {
      wroteOffset: this.commitLog.maxWroteOffset,
      committedOffset: committed,
      flushedOffset: this.commitLog.flushedOffset,
      flushBehindBytes: committed - this.commitLog.flushedOffset,
      commitBehindBytes: this.commitLog.maxWroteOffset - committed,
      messagesAppended: metrics.messagesAppended,
      messagesCommitted: metrics.messagesCommitted,
      fsyncCount: metrics.fsyncCount,
      messagesPerFsync: metrics.fsyncCount > 0 ? metrics.messagesFlushed / metrics.fsyncCount : 0,
      messagesFlushed: metrics.messagesFlushed,
      fsyncLatency: metrics.fsyncLatency,
      flushFailedTimes: metrics.flushFailedTimes,
      writeFailures: metrics.writeFailures,
      lastWriteError: metrics.lastWriteError,
      syncFlushTimeouts: metrics.syncFlushTimeouts,
      groupCommitWaiting: this.groupCommit?.waitingRequests ?? 0,
      transientStorePoolActive: this.transientStorePoolActive,
      transientStorePoolAvailable: this.transientStorePoolAvailable,
      writeInProgressMs: this.writeInProgressMs(),
      storeFailure: this.failure?.message ?? null,
    };
  }

  /** Stop accepting, let in-flight appends settle, flush everything, write checkpoint, drop abort. */
  async shutdown(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.diskSpace.stop();
    this.commitLog.acceptingAppends = false;
    this.dispatchReplicatedNow();
    this.replica.stop();
    for (let i = 0; i < 1000 && this.commitLog.hasPendingWrites; i++) await new Promise((r) => setTimeout(r, 1));
    await this.commitService?.shutdown();
    await this.flushService?.shutdown();
    await this.groupCommit?.shutdown();
    this.onCommitLogFlushed();
    await this.queues.stopFlushLoop();
    if (!this.failure) {
      try {
        await this.consumeQueueRound(0);
        await this.checkpoint.flush();
      } catch (error) {
        this.failStore(error instanceof Error ? error : new Error(String(error)));
      }
    }
    await this.checkpoint.close();
    await this.queues.close();
    await this.commitLog.close();
    // A failed store keeps `abort`: the next start recovers as after a crash.
    const clean = !this.failure && (this.commitLog.metrics.flushFailedTimes === 0 || this.commitLog.flushedOffset >= this.commitLog.maxCommittedOffset);
    if (clean) fs.rmSync(path.join(this.config.storePathRootDir, 'abort'), { force: true });
    fs.rmSync(this.lockPath, { force: true });
    lockedPaths.delete(this.lockPath);
    this.state = 'stopped';
  }

  /**
   * Simulated kill -9 for tests: stop every loop and timer without writing, flushing or
   * removing the abort file. Pair it with a FileIo whose later calls never complete.
   */
  halt(): void {
    this.state = 'stopped';
    this.diskSpace.stop();
    this.commitLog.acceptingAppends = false;
    this.replica.stop();
    this.flushService?.halt();
    this.groupCommit?.halt();
    this.commitService?.halt();
    this.queues.halt();
    lockedPaths.delete(this.lockPath);
    fs.rmSync(this.lockPath, { force: true });
  }
}
