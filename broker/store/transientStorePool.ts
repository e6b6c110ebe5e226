// transientStorePool: off-heap buffers of one segment each. In pool mode appends land in a
// buffer and are acked from there; CommitRealTimeService later writes them to the file.
// RocketMQ mlocks these buffers; Node cannot, so under memory pressure they may swap.
import { childLogger } from '../../protocol/logger.js';

const log = childLogger('transient-pool');

export class TransientStorePool {
  private readonly available: Buffer[] = [];
  private allocated = 0;
  /** Times a segment found no free buffer and had to write straight to the file. */
  exhaustedCount = 0;

  constructor(
    readonly poolSize: number,
    readonly bufferSizeBytes: number,
  ) {}

  /** A buffer for a new segment, or null when all poolSize buffers are in use. */
  borrow(): Buffer | null {
    const reused = this.available.pop();
    if (reused) return reused;
    if (this.allocated < this.poolSize) {
      this.allocated++;
      return Buffer.allocUnsafeSlow(this.bufferSizeBytes);
    }
    this.exhaustedCount++;
    log.warn({ poolSize: this.poolSize }, 'transientStorePool exhausted; this segment is written directly to the file');
    return null;
  }

  giveBack(buffer: Buffer): void {
    this.available.push(buffer);
  }

  get availableBufferCount(): number {
    return this.available.length + (this.poolSize - this.allocated);
  }
}
