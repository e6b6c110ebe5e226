// rocketmqVersion: which Apache RocketMQ release's defaults and failure timing to follow.
// Each default below was read in that tag's source (apache/rocketmq, rocketmq-all-<version>):
//   store/.../config/MessageStoreConfig.java, common/.../BrokerConfig.java,
//   store/.../ha/HAService.java (GroupTransferService), store/.../CommitLog.java (handleHA / submitReplicaRequest).
//
// | version       | flushCommitLogTimed | useReentrantLock… | sendMessageThreadPoolNums | SYNC_MASTER deadline      | segment-size key         |
// |---------------|---------------------|-------------------|---------------------------|---------------------------|--------------------------|
// | 4.5.0–4.5.1   | false               | false             | 1                         | syncFlushTimeout, put-thread | mapedFileSizeCommitLog |
// | 4.5.2–4.6.x   | false               | false             | 1                         | syncFlushTimeout, put-thread | mappedFileSizeCommitLog |
// | 4.7.0–4.9.0   | false               | false             | 1                         | syncFlushTimeout, serial-turn | mappedFileSizeCommitLog |
// | 4.9.1–4.9.2   | true                | true              | min(cpus, 4)              | syncFlushTimeout, serial-turn | mappedFileSizeCommitLog |
// | 4.9.3–4.9.8   | true                | true              | min(cpus, 4)              | slaveTimeout, deadline-grid | mappedFileSizeCommitLog |
// Unchanged over the range: waitTimeMillsInSendQueue 200, osPageCacheBusyTimeOutMills 1000,
// brokerFastFailureEnable true, sendThreadPoolQueueCapacity 10000, syncFlushTimeout 5000,
// haSendHeartbeatInterval 5000, transientStorePoolSize 5.
import os from 'node:os';
import { FlushbenchError } from '../../protocol/errors.js';
import type { SlaveAckRule } from '../ha/groupTransfer.js';

export const ROCKETMQ_VERSION_DEFAULT = '4.9.7';

export interface VersionDefaults {
  version: string;
  flushCommitLogTimed: boolean;
  useReentrantLockWhenPutMessage: boolean;
  sendMessageThreadPoolNums: number;
  slaveAckDeadlineSource: 'slaveTimeout' | 'syncFlushTimeout';
  slaveAckRule: SlaveAckRule;
  rocketmqVersionCompat: 'modern' | 'legacy';
}

/** Parses "4.9.7" (also "rocketmq-all-4.9.7", "v4.9.7"); only 4.5.0 … 4.9.8 are known. */
export function versionDefaults(text: string): VersionDefaults {
  const match = /^(?:rocketmq-all-|v)?4\.(\d+)\.(\d+)$/.exec(text.trim());
  const minor = match ? Number(match[1]) : -1;
  const patch = match ? Number(match[2]) : -1;
  if (!match || minor < 5 || minor > 9 || (minor === 9 && patch > 8)) {
    throw new FlushbenchError('BAD_CONFIG', `rocketmqVersion=${text} is not known; use a 4.x release from 4.5.0 to 4.9.8 (e.g. 4.5.1, 4.9.0, 4.9.7)`);
  }
  const at = (m: number, p: number): boolean => minor > m || (minor === m && patch >= p);
  return {
    version: `4.${minor}.${patch}`,
    flushCommitLogTimed: at(9, 1),
    useReentrantLockWhenPutMessage: at(9, 1),
    sendMessageThreadPoolNums: at(9, 1) ? Math.min(os.cpus().length, 4) : 1,
    slaveAckDeadlineSource: at(9, 3) ? 'slaveTimeout' : 'syncFlushTimeout',
    slaveAckRule: at(9, 3) ? 'deadline-grid' : at(7, 0) ? 'serial-turn' : 'put-thread',
    rocketmqVersionCompat: at(5, 2) ? 'modern' : 'legacy',
  };
}
