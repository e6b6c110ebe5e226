// transientStorePool: off-heap buffers of one segment each. In pool mode appends land in a
// buffer and are acked from there; CommitRealTimeService later writes them to the file.
//
// Like TransientStorePool.init (rocketmq-all-4.9.7 TransientStorePool.java:49-59) every
// buffer is allocated when the store starts, zero-filled so its pages are faulted in then and
// not during the measured run (Java's allocateDirect zeroes too). RocketMQ also mlocks each
// buffer; Node cannot call mlock(2) without a native addon, so ours may be swapped out under
// memory pressure: the effective settings say transientStorePoolLocked=false.
// When no buffer is free the store is "deficient" (DefaultMessageStore.isTransientStorePoolDeficient,
// DefaultMessageStore.java:1591) and the broker answers sends SYSTEM_BUSY; a segment opened
// meanwhile is written straight to its file, as RocketMQ's MappedFile does without a write buffer.
import { childLogger } from '../../protocol/logger.js';

const log = childLogger('transient-pool');

/** Node has no mlock(2): the pool's pages are not pinned (RocketMQ: LibC.mlock per buffer). */
export const TRANSIENT_POOL_LOCKED = false;

export class TransientStorePool {
  private readonly available: Buffer[] = [];
  /** Times a segment found no free buffer and had to write straight to the file. */
  exhaustedCount = 0;

  constructor(
    readonly poolSize: number,
    readonly bufferSizeBytes: number,
  ) {
    for (let i = 0; i < poolSize; i++) this.available.push(Buffer.alloc(bufferSizeBytes));
  }

  /** A buffer for a new segment, or null when all poolSize buffers are in use. */
  borrow(): Buffer | null {
    const buffer = this.available.pop();
    if (buffer) {
      // RocketMQ warns below 40 % of the pool (TransientStorePool.borrowBuffer).
      if (this.available.length < this.poolSize * 0.4) log.warn({ remaining: this.available.length, poolSize: this.poolSize }, 'transientStorePool running low');
      return buffer;
    }
    this.exhaustedCount++;
    log.warn({ poolSize: this.poolSize }, 'transientStorePool exhausted; this segment is written directly to the file and sends answer SYSTEM_BUSY until a buffer is back');
    return null;
  }

  giveBack(buffer: Buffer): void {
    this.available.push(buffer);
  }

  get availableBufferCount(): number {
    return this.available.length;
  }
}
