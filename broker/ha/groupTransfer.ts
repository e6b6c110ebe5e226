// GroupTransferService: SYNC_MASTER puts waiting for a slave ack. Waiters join in append
// order, so end offsets increase along the queue: an ack settles a prefix. Cost per ack is
// O(settled), never O(waiting).
//
// When a timeout lands follows RocketMQ's loop, which depends on the version (README.md):
//   deadline-grid (≥ 4.9.3, HAService.java:286-301 in rocketmq-all-4.9.7): every request has a
//     deadline = put time + slaveTimeout, but the service looks at it only when its
//     waitForRunning(1000) returns — after 1 s or when an ack raised push2SlaveMaxOffset. With
//     a silent slave timeouts land 3–4 s after the send, in once-a-second bursts.
//   serial-turn (4.7.0–4.9.2, HAService.java:277-299 in 4.9.0): requests are served one after
//     another and each waits syncFlushTimeout from the moment its turn comes, so with a silent
//     slave one request of each swapped batch times out every 5 s and the rest wait on.
//   put-thread (≤ 4.6.x, CommitLog.handleHA): the sending thread itself waits syncFlushTimeout
//     (GroupCommitRequest.waitForFlush), so each put times out exactly at its own deadline.
import type { PutStatus } from '../store/putStatus.js';
import { LatencyHistogram } from '../store/storeMetrics.js';

export type SlaveAckRule = 'deadline-grid' | 'serial-turn' | 'put-thread';

interface Waiter {
  endOffset: number;
  deadlineMs: number;
  startedMs: number;
  resolve: (status: PutStatus) => void;
}

const PUT_OK: Promise<PutStatus> = Promise.resolve('PUT_OK');
/** RocketMQ's notifyTransferObject.waitForRunning(1000) in doWaitTransfer. */
export const TRANSFER_WAIT_MS_DEFAULT = 1000;

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

  constructor(
    private readonly slaveAckTimeoutMs: number,
    private readonly rule: SlaveAckRule = 'deadline-grid',
    private readonly transferWaitMs: number = TRANSFER_WAIT_MS_DEFAULT,
  ) {}

  get waiting(): number {
    return this.waiters.length - this.head;
  }

  /** PUT_OK once push2SlaveMaxOffset ≥ endOffset, FLUSH_SLAVE_TIMEOUT when the rule says so. */
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
      if (this.timer) return;
      if (this.rule === 'put-thread') {
        this.armExactTimer();
      } else {
        // The service takes the new request within its waitForRunning(10) and starts a 1 s wait.
        if (this.rule === 'serial-turn') this.startTurn(now);
        this.armWait();
      }
    });
  }

  /** A slave reported `offset` (RocketMQ's notifyTransferSome: only when it raised push2SlaveMaxOffset). */
  onAck(offset: number): void {
    if (offset <= this.push2SlaveMaxOffset) return;
    this.push2SlaveMaxOffset = offset;
    const waiters = this.waiters;
    if (this.head === waiters.length) return;
    const headBefore = this.head;
    const now = performance.now();
    while (this.head < waiters.length && waiters[this.head].endOffset <= offset) {
      const waiter = waiters[this.head];
      waiters[this.head++] = undefined as unknown as Waiter;
      this.replicationLatency.record(now - waiter.startedMs);
      waiter.resolve('PUT_OK');
    }
    if (this.rule === 'put-thread') {
      this.compact();
      return;
    }
    // The next request's turn starts when the one before it was answered.
    if (this.rule === 'serial-turn' && this.head !== headBefore) this.startTurn(now);
    // The ack also ends the current waitForRunning(1000): deadlines are looked at now.
    this.onWake(now);
  }

  /** Answers every waiter FLUSH_SLAVE_TIMEOUT (master shutting down) and refuses new ones. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.expireWhile(() => true, Number.POSITIVE_INFINITY);
    this.compact();
  }

  /** (Re)starts the 1 s wait of RocketMQ's loop from now. */
  private armWait(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.head === this.waiters.length || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onWake(performance.now());
    }, this.transferWaitMs);
  }

  /** One return of waitForRunning: time out what the rule allows, then wait again. */
  private onWake(nowMs: number): void {
    if (this.rule === 'deadline-grid') {
      // Every request whose deadline passed is answered now; the first one still in time is waited for.
      this.expireWhile((waiter) => waiter.deadlineMs <= nowMs, Number.POSITIVE_INFINITY);
    } else if (this.expireWhile((waiter) => waiter.deadlineMs <= nowMs, 1) > 0) {
      this.startTurn(nowMs); // serial-turn: one timeout, then the next request's own syncFlushTimeout starts
    }
    this.compact();
    this.armWait();
  }

  /** serial-turn: the head's wait starts now (RocketMQ 4.9.0's waitUntilWhen = now + syncFlushTimeout). */
  private startTurn(nowMs: number): void {
    if (this.head < this.waiters.length) this.waiters[this.head].deadlineMs = nowMs + this.slaveAckTimeoutMs;
  }

  /** put-thread: each sender times out at its own deadline, exactly. */
  private armExactTimer(): void {
    if (this.head === this.waiters.length || this.closed) return;
    const delayMs = Math.max(0, this.waiters[this.head].deadlineMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = performance.now();
      this.expireWhile((waiter) => waiter.deadlineMs <= now, Number.POSITIVE_INFINITY);
      this.compact();
      this.armExactTimer();
    }, Math.ceil(delayMs));
  }

  /** Answers FLUSH_SLAVE_TIMEOUT to at most `limit` head waiters for which `expired` holds; returns how many. */
  private expireWhile(expired: (waiter: Waiter) => boolean, limit: number): number {
    const waiters = this.waiters;
    let count = 0;
    while (count < limit && this.head < waiters.length && expired(waiters[this.head])) {
      const waiter = waiters[this.head];
      waiters[this.head++] = undefined as unknown as Waiter;
      this.timeouts++;
      count++;
      waiter.resolve('FLUSH_SLAVE_TIMEOUT');
    }
    return count;
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
