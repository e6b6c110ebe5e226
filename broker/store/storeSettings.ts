// The one place that turns a StoreConfig into the settings in effect: size checks (with the
// key and what is allowed), the transient-pool rule, the in-memory read limit, the fsync
// error policy, and the warnings users see. messageStore.ts and brokerConfig.ts both call it.
import os from 'node:os';
import { FlushbenchError } from '../../protocol/errors.js';
import { CQ_ENTRY_BYTES } from './consumeQueue.js';
import type { StoreConfig } from './storeConfig.js';
import { TRANSIENT_POOL_LOCKED } from './transientStorePool.js';

/** HA defaults of RocketMQ 4.9.x (BrokerConfig / MessageStoreConfig); broker/ha and brokerConfig.ts read them here. */
export const HA_DEFAULTS = {
  haSendHeartbeatInterval: 5000,
  haHousekeepingInterval: 20_000,
  haTransferBatchSize: 32_768,
  haSlaveFallbehindMax: 256 * 1024 * 1024,
  /** haListenPort is forced to listenPort + this (BrokerStartup). */
  haListenPortOffset: 1,
} as const;

/** Smallest segment we accept: RocketMQ has no check, but a smaller file holds almost nothing. */
export const MIN_COMMITLOG_SEGMENT_BYTES = 64 * 1024;
/** RocketMQ allows a record this much larger than maxMessageSize (headers, properties). */
export const RECORD_OVERHEAD_ALLOWANCE_BYTES = 64 * 1024;
/**
 * RocketMQ 4.9.x getMessage scans at most max(16000, maxMsgNums × 20) *bytes* of ConsumeQueue
 * per pull (the loop counter is a byte offset): 800 entries unless maxMsgNums is larger.
 */
export const MAX_FILTER_SCAN_BYTES = 16_000;

export const FSYNC_ERROR_POLICY = 'fail-store (RocketMQ 4.9.7: logs and acks PUT_OK)';

export interface ResolvedStoreSettings {
  /** transientStorePoolEnable applies only with ASYNC_FLUSH on a non-SLAVE (RocketMQ's isTransientStorePoolEnable). */
  transientStorePoolActive: boolean;
  /** Reads of data further than this behind the CommitLog end count as "on disk" (pull limits, suggestPullingFromSlave). */
  inMemoryLimitBytes: number;
  warnings: string[];
  /** Derived settings for reports (`key` → value as text). */
  effective: Record<string, string>;
}

function bad(key: string, value: number, allowed: string): FlushbenchError {
  return new FlushbenchError('BAD_CONFIG', `${key}=${value} is not allowed: ${allowed}`);
}

/** Throws BAD_CONFIG naming the key and what is allowed. */
export function validateStoreSizes(config: StoreConfig): void {
  const cq = config.mappedFileSizeConsumeQueue;
  if (!Number.isSafeInteger(cq) || cq < CQ_ENTRY_BYTES || cq % CQ_ENTRY_BYTES !== 0) {
    throw bad('mappedFileSizeConsumeQueue', cq, `use a positive multiple of ${CQ_ENTRY_BYTES} (bytes per ConsumeQueue file; RocketMQ's default is 6000000)`);
  }
  const segment = config.mappedFileSizeCommitLog;
  if (!Number.isSafeInteger(segment) || segment < MIN_COMMITLOG_SEGMENT_BYTES) {
    throw bad('mappedFileSizeCommitLog', segment, `use at least ${MIN_COMMITLOG_SEGMENT_BYTES} bytes (RocketMQ's default is 1073741824)`);
  }
  if (!Number.isSafeInteger(config.maxMessageSize) || config.maxMessageSize <= 0) {
    throw bad('maxMessageSize', config.maxMessageSize, 'use a positive number of bytes (RocketMQ\'s default is 4194304)');
  }
  const ratio = config.accessMessageInMemoryMaxRatio;
  if (!Number.isInteger(ratio) || ratio < 0 || ratio > 100) {
    throw bad('accessMessageInMemoryMaxRatio', ratio, 'use a percentage of physical memory, 0..100 (RocketMQ\'s default is 40)');
  }
  if (!Number.isSafeInteger(config.transientStorePoolSize) || config.transientStorePoolSize <= 0) {
    throw bad('transientStorePoolSize', config.transientStorePoolSize, 'use a positive number of segment-sized buffers (default 5)');
  }
}

export function resolveStoreSettings(config: StoreConfig, totalMemoryBytes: number = os.totalmem()): ResolvedStoreSettings {
  validateStoreSizes(config);
  const warnings: string[] = [];
  const transientStorePoolActive = config.transientStorePoolEnable && config.flushDiskType === 'ASYNC_FLUSH' && config.brokerRole !== 'SLAVE';
  if (config.transientStorePoolEnable && !transientStorePoolActive) {
    warnings.push(`transientStorePoolEnable=true has no effect with flushDiskType=${config.flushDiskType}, brokerRole=${config.brokerRole} (RocketMQ uses the pool only for ASYNC_FLUSH masters)`);
  }
  const largestRecordBytes = config.maxMessageSize + RECORD_OVERHEAD_ALLOWANCE_BYTES;
  if (config.mappedFileSizeCommitLog < largestRecordBytes + 8) {
    warnings.push(`mappedFileSizeCommitLog=${config.mappedFileSizeCommitLog} cannot hold a record of maxMessageSize=${config.maxMessageSize}; records larger than the segment are refused with MESSAGE_ILLEGAL`);
  }
  if (transientStorePoolActive) {
    // Every buffer is allocated at start (TransientStorePool.init): refuse what cannot fit, as the JVM would (OutOfMemoryError: Direct buffer memory).
    const poolBytes = config.transientStorePoolSize * config.mappedFileSizeCommitLog;
    if (poolBytes > totalMemoryBytes * 0.75) {
      throw new FlushbenchError('BAD_CONFIG', `transientStorePoolSize=${config.transientStorePoolSize} × mappedFileSizeCommitLog=${config.mappedFileSizeCommitLog} needs ${poolBytes} bytes at start, more than 75 % of this host's memory (${totalMemoryBytes}); lower transientStorePoolSize or mappedFileSizeCommitLog`);
    }
  }
  if (!(config.osPageCacheBusyTimeOutMills > 0)) throw bad('osPageCacheBusyTimeOutMills', config.osPageCacheBusyTimeOutMills, 'use a positive number of ms (RocketMQ\'s default is 1000)');
  const inMemoryLimitBytes = Math.floor((totalMemoryBytes * config.accessMessageInMemoryMaxRatio) / 100);
  return {
    transientStorePoolActive,
    inMemoryLimitBytes,
    warnings,
    effective: {
      transientStorePoolActive: String(transientStorePoolActive),
      transientStorePoolLocked: transientStorePoolActive ? `${TRANSIENT_POOL_LOCKED} (no mlock from Node; RocketMQ mlocks every buffer)` : 'n/a',
      inMemoryLimitBytes: String(inMemoryLimitBytes),
      fsyncErrorPolicy: FSYNC_ERROR_POLICY,
      maxFilterScanEntriesPerPull: `max(${MAX_FILTER_SCAN_BYTES / CQ_ENTRY_BYTES}, maxMsgNums) (RocketMQ 4.9.x: max(16000, maxMsgNums×20) bytes of ConsumeQueue)`,
    },
  };
}
