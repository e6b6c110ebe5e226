// GroupTransferService: SYNC_MASTER puts waiting for a slave ack. Waiters join in append
// order, so end offsets and deadlines both increase along the queue: an ack settles a prefix,
// one timer watches the head's deadline. Cost per ack is O(settled), never O(waiting).
import type { PutStatus } from '../store/putStatus.js';
import { LatencyHistogram } from '../store/storeMetrics.js';

interface Waiter {
  endOffset: number;
  deadlineMs: number;
  startedMs: number;
  resolve: (status: PutStatus) => void;
}

const PUT_OK: Promise<PutStatus> = Promise.resolve('PUT_OK');

export class GroupTransferService {
  /** Highest offset any slave acked (RocketMQ's push2SlaveMaxOffset); never decreases. */
  push2SlaveMaxOffset = 0;
  /** Time from waitForSlave to its PUT_OK, in ms. */
  readonly replicationLatency = new LatencyHistogram();
  timeouts = 0;
  private waiters: Waiter[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly slaveAckTimeoutMs: number) {}

  get waiting(): number {
    return this.waiters.length - this.head;
  }

  /** PUT_OK once push2SlaveMaxOffset ≥ endOffset, FLUSH_SLAVE_TIMEOUT after slaveAckTimeoutMs. */
  waitForSlave(endOffset: number): Promise<PutStatus> {
    if (this.push2SlaveMaxOffset >= endOffset) {
      this.replicationLatency.record(0);
      return PUT_OK;
    }
    if (this.closed) return Promise.resolve('FLUSH_SLAVE_TIMEOUT');
    const tail = this.waiters.length > this.head ? this.waiters[this.waiters.length - 1] : null;
    // Appends arrive in offset order; should one not, waiting for the larger tail end is
    // conservative (never acks early) and keeps the queue sorted.
    const queuedEnd = tail && tail.endOffset > endOffset ? tail.endOffset : endOffset;
    return new Promise<PutStatus>((resolve) => {
      const now = performance.now();
      this.waiters.push({ endOffset: queuedEnd, deadlineMs: now + this.slaveAckTimeoutMs, startedMs: now, resolve });
      if (!this.timer) this.armTimer();
    });
  }

  /** A slave reported `offset` (RocketMQ's notifyTransferSome). */
  onAck(offset: number): void {
    if (offset <= this.push2SlaveMaxOffset) return;
    this.push2SlaveMaxOffset = offset;
    const waiters = this.waiters;
    if (this.head === waiters.length || waiters[this.head].endOffset > offset) return;
    const now = performance.now();
    while (this.head < waiters.length && waiters[this.head].endOffset <= offset) {
      const waiter = waiters[this.head];
      waiters[this.head++] = undefined as unknown as Waiter;
      this.replicationLatency.record(now - waiter.startedMs);
      waiter.resolve('PUT_OK');
    }
    this.compact();
  }

  /** Answers every waiter FLUSH_SLAVE_TIMEOUT (master shutting down) and refuses new ones. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.expire(Number.POSITIVE_INFINITY);
  }

  private armTimer(): void {
    if (this.head === this.waiters.length) return;
    const delayMs = Math.max(0, this.waiters[this.head].deadlineMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.expire(performance.now());
      this.armTimer();
    }, Math.ceil(delayMs));
  }

  private expire(nowMs: number): void {
    const waiters = this.waiters;
    while (this.head < waiters.length && waiters[this.head].deadlineMs <= nowMs) {
      const waiter = waiters[this.head];
      waiters[this.head++] = undefined as unknown as Waiter;
      this.timeouts++;
      waiter.resolve('FLUSH_SLAVE_TIMEOUT');
    }
    this.compact();
  }

  private compact(): void {
    if (this.head === this.waiters.length) {
      this.waiters = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
  }
}
