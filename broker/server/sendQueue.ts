// The send thread pool's queue and BrokerFastFailure, for an event-loop broker.
//
// RocketMQ 4.9.7 sheds send load in three places (all answer SYSTEM_BUSY = 2):
//   [REJECTREQUEST]      at frame arrival, when SendMessageProcessor.rejectRequest() holds:
//                        isOSPageCacheBusy || isTransientStorePoolDeficient
//                        (NettyRemotingAbstract.java:247-253, SendMessageProcessor.java:111-114)
//   [OVERLOAD]           the send pool's queue (sendThreadPoolQueueCapacity 10000) is full
//                        (NettyRemotingAbstract.java:258-268)
//   [PCBUSY_CLEAN_QUEUE] / [TIMEOUT_CLEAN_QUEUE]  every 10 ms BrokerFastFailure drains the queue
//                        while the page cache is busy, then answers every request that waited
//                        ≥ waitTimeMillsInSendQueue (BrokerFastFailure.java:54-124)
// and a put that reaches the store while the page cache is busy gets OS_PAGECACHE_BUSY
// (SYSTEM_ERROR = 1, "[PC_SYNCHRONIZED]…", DefaultMessageStore.java:424, SendMessageProcessor.java:512-515).
//
// Our equivalent of "a send thread is busy" is a CommitLog write() in flight: RocketMQ's send
// threads spend their time copying into the page cache under the put lock; our appends are
// encoded at once and written once per event-loop turn. Normally that write is synchronous
// and nothing can wait; when it goes through the thread pool (a large fdatasync is running,
// or a recent write stalled the loop: commitLog.ts), sends that arrive meanwhile wait here,
// unappended (no offset assigned), and are let in, in order, when the write pass ends. Their
// wait is measured from the moment the frame was read, as RocketMQ measures from the moment
// Netty decoded it. Time a frame spends in the kernel's socket buffer is invisible to both.
import { ResponseCode } from '../../protocol/codes.js';
import { createResponse, type RemotingCommand } from '../../protocol/remotingCommand.js';

export interface FastFailureSettings {
  brokerFastFailureEnable: boolean;
  waitTimeMillsInSendQueue: number;
  sendThreadPoolQueueCapacity: number;
}

/** What the queue needs to know about the store. */
export interface SendStoreView {
  readonly writeInProgress: boolean;
  isOSPageCacheBusy(): boolean;
  isTransientStorePoolDeficient(): boolean;
}

interface Queued {
  request: RemotingCommand;
  arrivalMs: number;
  /** Processes the send: its answer, or null when the processor answers later itself. */
  run: () => RemotingCommand | null;
  resolve: (response: RemotingCommand | null) => void;
}

/** BrokerFastFailure's period (scheduleAtFixedRate …, 10 ms). */
const CLEAN_INTERVAL_MS = 10;

export type ShedReason = 'REJECTREQUEST' | 'OVERLOAD' | 'PCBUSY_CLEAN_QUEUE' | 'TIMEOUT_CLEAN_QUEUE';

export class SendQueue {
  private queue: Queued[] = [];
  private head = 0;
  private cleaner: NodeJS.Timeout | null = null;
  readonly shed: Record<ShedReason, number> = { REJECTREQUEST: 0, OVERLOAD: 0, PCBUSY_CLEAN_QUEUE: 0, TIMEOUT_CLEAN_QUEUE: 0 };
  /** Longest time a send waited here before it was let in (ms), for the metrics endpoint. */
  queueWaitMsMax = 0;

  constructor(private readonly store: SendStoreView, private readonly settings: FastFailureSettings) {}

  get size(): number {
    return this.queue.length - this.head;
  }

  /** Runs `run` now, after the write in flight, or answers SYSTEM_BUSY. */
  submit(request: RemotingCommand, run: () => RemotingCommand | null): Promise<RemotingCommand | null> | RemotingCommand | null {
    const store = this.store;
    if (store.isOSPageCacheBusy() || store.isTransientStorePoolDeficient()) {
      this.shed.REJECTREQUEST++;
      return createResponse(request, ResponseCode.SYSTEM_BUSY, '[REJECTREQUEST]system busy, start flow control for a while');
    }
    if (!store.writeInProgress && this.size === 0) return run();
    if (this.size >= this.settings.sendThreadPoolQueueCapacity) {
      this.shed.OVERLOAD++;
      return createResponse(request, ResponseCode.SYSTEM_BUSY, '[OVERLOAD]system busy, start flow control for a while');
    }
    return new Promise<RemotingCommand | null>((resolve) => {
      this.queue.push({ request, arrivalMs: performance.now(), run, resolve });
      this.armCleaner();
    });
  }

  /** The store finished its write pass: let every queued send in, in arrival order. */
  admit(): void {
    const now = performance.now();
    while (this.head < this.queue.length && !this.store.writeInProgress) {
      const item = this.take();
      this.queueWaitMsMax = Math.max(this.queueWaitMsMax, now - item.arrivalMs);
      item.resolve(item.run());
    }
    this.compact();
  }

  /** Answers every queued send SYSTEM_BUSY (shutdown). */
  close(): void {
    if (this.cleaner) clearInterval(this.cleaner);
    this.cleaner = null;
    while (this.head < this.queue.length) this.reject(this.take(), 'TIMEOUT_CLEAN_QUEUE', performance.now());
    this.compact();
  }

  private armCleaner(): void {
    if (this.cleaner || !this.settings.brokerFastFailureEnable) return;
    this.cleaner = setInterval(() => this.clean(), CLEAN_INTERVAL_MS);
    this.cleaner.unref();
  }

  /** BrokerFastFailure.cleanExpiredRequest for the send queue. */
  clean(): void {
    const now = performance.now();
    while (this.head < this.queue.length && this.store.isOSPageCacheBusy()) this.reject(this.take(), 'PCBUSY_CLEAN_QUEUE', now);
    while (this.head < this.queue.length && now - this.queue[this.head].arrivalMs >= this.settings.waitTimeMillsInSendQueue) {
      this.reject(this.take(), 'TIMEOUT_CLEAN_QUEUE', now);
    }
    this.compact();
    if (this.size === 0 && this.cleaner) {
      clearInterval(this.cleaner);
      this.cleaner = null;
    }
  }

  private reject(item: Queued, reason: ShedReason, now: number): void {
    this.shed[reason]++;
    const remark = `[${reason}]broker busy, start flow control for a while, period in queue: ${Math.round(now - item.arrivalMs)}ms, size of queue: ${this.size}`;
    item.resolve(createResponse(item.request, ResponseCode.SYSTEM_BUSY, remark));
  }

  private take(): Queued {
    const item = this.queue[this.head];
    this.queue[this.head++] = undefined as unknown as Queued;
    return item;
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  gauges(): Record<string, number> {
    return {
      rocketmq_send_queue_size: this.size,
      rocketmq_send_queue_wait_ms_max: Math.round(this.queueWaitMsMax),
      rocketmq_send_system_busy_rejectrequest_total: this.shed.REJECTREQUEST,
      rocketmq_send_system_busy_overload_total: this.shed.OVERLOAD,
      rocketmq_send_system_busy_pcbusy_clean_queue_total: this.shed.PCBUSY_CLEAN_QUEUE,
      rocketmq_send_system_busy_timeout_clean_queue_total: this.shed.TIMEOUT_CLEAN_QUEUE,
    };
  }
}
