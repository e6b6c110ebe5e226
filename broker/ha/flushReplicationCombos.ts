// The four flush × replication combinations the seed article's claims are about (DESIGN.md):
// the master's flushDiskType and brokerRole, and the slave's flushDiskType.
import type { FlushDiskType } from '../store/storeConfig.js';

export interface FlushReplicationCombo {
  name: 'async-async' | 'sync-async' | 'async-sync' | 'sync-sync';
  masterFlush: FlushDiskType;
  masterRole: 'ASYNC_MASTER' | 'SYNC_MASTER';
  slaveFlush: FlushDiskType;
}

export const FLUSH_REPLICATION_COMBOS: readonly FlushReplicationCombo[] = [
  { name: 'async-async', masterFlush: 'ASYNC_FLUSH', masterRole: 'ASYNC_MASTER', slaveFlush: 'ASYNC_FLUSH' },
  { name: 'sync-async', masterFlush: 'SYNC_FLUSH', masterRole: 'ASYNC_MASTER', slaveFlush: 'ASYNC_FLUSH' },
  { name: 'async-sync', masterFlush: 'ASYNC_FLUSH', masterRole: 'SYNC_MASTER', slaveFlush: 'ASYNC_FLUSH' },
  { name: 'sync-sync', masterFlush: 'SYNC_FLUSH', masterRole: 'SYNC_MASTER', slaveFlush: 'SYNC_FLUSH' },
];
