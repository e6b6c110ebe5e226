// The store's settings, spelled as RocketMQ's MessageStoreConfig (users paste broker.properties).
// Defaults are Apache RocketMQ 4.9.x's; see ../shared/ref/rocketmq-facts.md §5 and §7.
// storeSettings.ts checks them and derives what is in effect.

import { DEFAULT_MESSAGE_DELAY_LEVEL } from './delayLevels.js';
import { HA_DEFAULTS } from './storeSettings.js';

export type FlushDiskType = 'ASYNC_FLUSH' | 'SYNC_FLUSH';
export type BrokerRole = 'ASYNC_MASTER' | 'SYNC_MASTER' | 'SLAVE';

export interface StoreConfig {
  storePathRootDir: string;
  /** Defaults to `${storePathRootDir}/commitlog`. */
  storePathCommitLog: string;
  /** Segment size; RocketMQ ≥ 4.5.2 key `mappedFileSizeCommitLog` (old: `mapedFileSizeCommitLog`). */
  mappedFileSizeCommitLog: number;
  /** Bytes per ConsumeQueue file; must be a multiple of 20. */
  mappedFileSizeConsumeQueue: number;
  maxMessageSize: number;
  flushDiskType: FlushDiskType;
  brokerRole: BrokerRole;
  flushIntervalCommitLog: number;
  flushCommitLogLeastPages: number;
  flushCommitLogThoroughInterval: number;
  /** true: sleep the full interval; false: wake early on every put (RocketMQ's countDownLatch wait). */
  flushCommitLogTimed: boolean;
  commitIntervalCommitLog: number;
  commitCommitLogLeastPages: number;
  commitCommitLogThoroughInterval: number;
  transientStorePoolEnable: boolean;
  transientStorePoolSize: number;
  syncFlushTimeout: number;
  flushIntervalConsumeQueue: number;
  flushConsumeQueueLeastPages: number;
  flushConsumeQueueThoroughInterval: number;
  checkCRCOnRecover: boolean;
  /** Slave-ack deadline for SYNC_MASTER from RocketMQ 4.9.3; before that syncFlushTimeout was used. */
  slaveTimeout: number;
  haSlaveFallbehindMax: number;
  /** Delay of each level, "1s 5s 10s …" (units s, m, h, d); parsed by delayLevels.ts. */
  messageDelayLevel: string;
  /** How often ScheduleMessageService writes config/delayOffset.json (ms). */
  flushDelayOffsetInterval: number;
  /** Percent of physical memory (os.totalmem()) behind the CommitLog end that pulls treat as in memory. */
  accessMessageInMemoryMaxRatio: number;
  /**
   * A CommitLog write() running longer than this makes the store "OS page cache busy"
   * (DefaultMessageStore.isOSPageCacheBusy): sends answer OS_PAGECACHE_BUSY / SYSTEM_BUSY.
   */
  osPageCacheBusyTimeOutMills: number;
}

export const PAGE_SIZE_BYTES = 4096;

export function defaultStoreConfig(storePathRootDir: string): StoreConfig {
  return {
    storePathRootDir,
    storePathCommitLog: `${storePathRootDir}/commitlog`,
    mappedFileSizeCommitLog: 1024 * 1024 * 1024,
    mappedFileSizeConsumeQueue: 300_000 * 20,
    maxMessageSize: 4 * 1024 * 1024,
    flushDiskType: 'ASYNC_FLUSH',
    brokerRole: 'ASYNC_MASTER',
    flushIntervalCommitLog: 500,
    flushCommitLogLeastPages: 4,
    flushCommitLogThoroughInterval: 10_000,
    flushCommitLogTimed: true,
    commitIntervalCommitLog: 200,
    commitCommitLogLeastPages: 4,
    commitCommitLogThoroughInterval: 200,
    transientStorePoolEnable: false,
    transientStorePoolSize: 5,
    syncFlushTimeout: 5000,
    flushIntervalConsumeQueue: 1000,
    flushConsumeQueueLeastPages: 2,
    flushConsumeQueueThoroughInterval: 60_000,
    checkCRCOnRecover: true,
    slaveTimeout: 3000,
    haSlaveFallbehindMax: HA_DEFAULTS.haSlaveFallbehindMax,
    messageDelayLevel: DEFAULT_MESSAGE_DELAY_LEVEL,
    flushDelayOffsetInterval: 10_000,
    accessMessageInMemoryMaxRatio: 40,
    osPageCacheBusyTimeOutMills: 1000,
  };
}
