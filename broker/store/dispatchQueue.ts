// Records appended to the CommitLog but not yet committed, in physical-offset order. When a
// commit lands they become ConsumeQueue entries (RocketMQ's ReputMessageService, in-process);
// when a write fails they are rolled back and their queue offsets returned.
import type { ConsumeQueue } from './consumeQueue.js';

export class DispatchQueue {
  private queues: ConsumeQueue[] = [];
  private physicalOffsets: number[] = [];
  private sizes: number[] = [];
  private tagsCodes: number[] = [];
  private queueOffsets: number[] = [];
  private head = 0;

  get length(): number {
    return this.queues.length - this.head;
  }

  push(queue: ConsumeQueue, physicalOffset: number, sizeBytes: number, tagsCode: number, queueOffset: number): void {
    this.queues.push(queue);
    this.physicalOffsets.push(physicalOffset);
    this.sizes.push(sizeBytes);
    this.tagsCodes.push(tagsCode);
    this.queueOffsets.push(queueOffset);
  }

  /** Dispatches every record that ends at or before `committedOffset`; returns how many. */
  dispatchUpTo(committedOffset: number): number {
    const start = this.head;
    while (this.head < this.queues.length && this.physicalOffsets[this.head] + this.sizes[this.head] <= committedOffset) {
      const i = this.head++;
      this.queues[i].putEntry(this.physicalOffsets[i], this.sizes[i], this.tagsCodes[i], this.queueOffsets[i]);
    }
    const dispatched = this.head - start;
    if (this.head > 4096 && this.head * 2 > this.queues.length) this.compact();
    return dispatched;
  }

  /** Forgets records at or beyond `physicalOffset`, giving their queue offsets back. */
  rollbackFrom(physicalOffset: number): number {
    let removed = 0;
    while (this.queues.length > this.head && this.physicalOffsets[this.physicalOffsets.length - 1] >= physicalOffset) {
      const queue = this.queues.pop() as ConsumeQueue;
      const queueOffset = this.queueOffsets.pop() as number;
      this.physicalOffsets.pop();
      this.sizes.pop();
      this.tagsCodes.pop();
      queue.nextAssignOffset = queueOffset;
      removed++;
    }
    return removed;
  }

  private compact(): void {
    this.queues = this.queues.slice(this.head);
    this.physicalOffsets = this.physicalOffsets.slice(this.head);
    this.sizes = this.sizes.slice(this.head);
    this.tagsCodes = this.tagsCodes.slice(this.head);
    this.queueOffsets = this.queueOffsets.slice(this.head);
    this.head = 0;
  }
}
