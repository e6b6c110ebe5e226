// RocketMQ's three background services, as async loops on the event loop (fsync itself runs
// on libuv's thread pool, so the loop never blocks on the disk):
//   FlushRealTimeService  ASYNC_FLUSH: fsync every flushIntervalCommitLog ms when enough pages wait
//   GroupCommitService    SYNC_FLUSH: one fsync covers every ack waiting at that moment
//   CommitRealTimeService transientStorePool: write pool buffers to the file every commitInterval ms
import { childLogger } from '../../protocol/logger.js';
import type { CommitLog } from './commitLog.js';
import type { PutStatus } from './putStatus.js';

const log = childLogger('flush');

/** A sleep that `wakeup()` can cut short (RocketMQ's ServiceThread.waitForRunning). */
class Sleeper {
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private wokenEarly = false;

  sleep(ms: number): Promise<void> {
    if (this.wokenEarly) {
      this.wokenEarly = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => this.wakeup(), ms);
    });
  }

  wakeup(): void {
    if (!this.wake) {
      this.wokenEarly = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    const wake = this.wake;
    this.timer = null;
    this.wake = null;
    wake();
  }
}

/** RocketMQ's ServiceThread: an async loop with an interruptible sleep. */
abstract class ServiceLoop {
  protected readonly sleeper = new Sleeper();
  protected running = false;
  private loopDone: Promise<void> = Promise.resolve();
  /** Receives an error that escaped the loop (the store fails); the loop has stopped. */
  onFatal: (error: Error) => void = (error) => log.fatal({ err: error.message }, 'store service failed');

  start(): void {
    this.running = true;
    this.loopDone = this.loop().catch((error: unknown) => {
      this.running = false;
      this.onFatal(error instanceof Error ? error : new Error(String(error)));
    });
  }

  protected abstract loop(): Promise<void>;

  /** Simulated crash: stop without a final flush or commit. */
  halt(): void {
    this.running = false;
    this.sleeper.wakeup();
  }

  protected async stopLoop(): Promise<void> {
    this.halt();
    await this.loopDone;
  }
}

/** The page threshold for this round: 0 once `thoroughIntervalMs` has passed since the last thorough round. */
function roundLeastPages(state: { lastThoroughMs: number }, leastPages: number, thoroughIntervalMs: number): number {
  const now = Date.now();
  if (now < state.lastThoroughMs + thoroughIntervalMs) return leastPages;
  state.lastThoroughMs = now;
  return 0;
}

export interface FlushRealTimeSettings {
  flushIntervalCommitLog: number;
  flushCommitLogLeastPages: number;
  flushCommitLogThoroughInterval: number;
  flushCommitLogTimed: boolean;
}

export class FlushRealTimeService extends ServiceLoop {
  private readonly thorough = { lastThoroughMs: Date.now() };
  /** Called after every fsync that moved the flushed offset (checkpoint update). */
  onFlushed: () => void = () => {};

  constructor(private readonly commitLog: CommitLog, private readonly settings: FlushRealTimeSettings) {
    super();
  }

  /** Every put wakes the service unless flushCommitLogTimed (then it sleeps the full interval). */
  wakeup(): void {
    if (!this.settings.flushCommitLogTimed) this.sleeper.wakeup();
  }

  protected async loop(): Promise<void> {
    while (this.running) {
      const leastPages = roundLeastPages(this.thorough, this.settings.flushCommitLogLeastPages, this.settings.flushCommitLogThoroughInterval);
      await this.sleeper.sleep(this.settings.flushIntervalCommitLog);
      if (!this.running) break;
      if (await this.commitLog.flush(leastPages)) this.onFlushed();
    }
  }

  /** Stops the loop, then flushes everything (RocketMQ retries up to 10 times on shutdown). */
  async shutdown(): Promise<void> {
    await this.stopLoop();
    for (let attempt = 0; attempt < 10 && this.commitLog.flushedOffset < this.commitLog.maxCommittedOffset; attempt++) {
      await this.commitLog.flush(0);
    }
    this.onFlushed();
  }
}

/**
 * TEST ONLY. FLUSHBENCH_TEST_FAULTS=ack-before-fsync (comma-separated list) makes SYNC_FLUSH
 * answer PUT_OK as soon as the batch is in the page cache and fsync it within 10 ms, like an
 * unwaited commit: a deliberately broken broker that `bench verify`'s power cut must catch and
 * its kill must not. Only the environment turns it on (no broker key), so no broker.properties
 * can enable it by accident.
 */
export const TEST_FAULT_ACK_BEFORE_FSYNC = 'ack-before-fsync';

export function testFaultEnabled(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.FLUSHBENCH_TEST_FAULTS ?? '').split(',').map((item) => item.trim()).includes(name);
}

interface FlushRequest {
  nextOffset: number;
  resolve: (status: PutStatus) => void;
  deadlineMs: number;
}

/**
 * SYNC_FLUSH group commit. A request joins the list when its batch is in the file; one fsync
 * at a time covers everything committed when it starts, then every request at or below the
 * new flushed offset is acked. Requests older than syncFlushTimeout settle FLUSH_DISK_TIMEOUT
 * (RocketMQ 4.9's FlushDiskWatcher). Unacked data with no waiter is still flushed every 10 ms.
 */
export class GroupCommitService {
  private requests: FlushRequest[] = [];
  private flushing = false;
  private running = false;
  private failed = false;
  /** Receives an error that escaped a flush round (the store fails). */
  onFatal: (error: Error) => void = (error) => log.fatal({ err: error.message }, 'group commit failed');
  private watchdog: NodeJS.Timeout | null = null;
  private idleFlushTimer: NodeJS.Timeout | null = null;
  onFlushed: () => void = () => {};

  private readonly ackBeforeFsync = testFaultEnabled(TEST_FAULT_ACK_BEFORE_FSYNC);

  constructor(private readonly commitLog: CommitLog, private readonly syncFlushTimeoutMs: number) {
    if (this.ackBeforeFsync) log.warn({ FLUSHBENCH_TEST_FAULTS: TEST_FAULT_ACK_BEFORE_FSYNC }, 'TEST FAULT: SYNC_FLUSH acks before fdatasync; acked data can be lost on a power cut');
  }

  start(): void {
    this.running = true;
  }

  get waitingRequests(): number {
    return this.requests.length;
  }

  putRequest(nextOffset: number, resolve: (status: PutStatus) => void): void {
    if (!this.running) {
      // A failed store wrote the batch to the page cache but will never fsync it.
      resolve(this.failed ? 'FLUSH_DISK_TIMEOUT' : 'SERVICE_NOT_AVAILABLE');
      return;
    }
    if (this.ackBeforeFsync) {
      resolve('PUT_OK');
      this.noteUnwaitedCommit();
      return;
    }
    this.requests.push({ nextOffset, resolve, deadlineMs: Date.now() + this.syncFlushTimeoutMs });
    this.armWatchdog();
    this.kick();
  }

  /** Data committed without a waiter (WAIT=false) is flushed within 10 ms, like RocketMQ's loop. */
  noteUnwaitedCommit(): void {
    if (this.idleFlushTimer || !this.running) return;
    this.idleFlushTimer = setTimeout(() => {
      this.idleFlushTimer = null;
      this.kick();
    }, 10);
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    this.flushRound().catch(this.onRoundError);
  }

  private readonly onRoundError = (error: unknown): void => {
    this.flushing = false;
    this.onFatal(error instanceof Error ? error : new Error(String(error)));
  };

  /**
   * The store failed (e.g. an fdatasync error): every waiting send answers FLUSH_DISK_TIMEOUT
   * now — its bytes may be in the page cache but no fsync will ever cover them — and so do later ones.
   */
  fail(): void {
    if (this.failed) return;
    this.failed = true;
    this.running = false;
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.idleFlushTimer) clearTimeout(this.idleFlushTimer);
    this.watchdog = this.idleFlushTimer = null;
    const waiting = this.requests.splice(0);
    this.commitLog.metrics.syncFlushTimeouts += waiting.length;
    for (const request of waiting) request.resolve('FLUSH_DISK_TIMEOUT');
  }

  private async flushRound(): Promise<void> {
    for (;;) {
      const before = this.commitLog.flushedOffset;
      if (this.commitLog.maxCommittedOffset > before) {
        const ok = await this.commitLog.flush(0);
        if (ok) this.onFlushed();
        else await new Promise((r) => setTimeout(r, 10)); // fsync failed: retry after RocketMQ's 10 ms wait
      }
      this.ackCovered();
      if (this.requests.length === 0 || !this.running) break;
      if (this.commitLog.maxCommittedOffset <= this.commitLog.flushedOffset && this.requests.length > 0) {
        // Waiting requests beyond the committed end cannot be flushed yet; their commit re-kicks us.
        break;
      }
    }
    this.flushing = false;
  }

  private ackCovered(): void {
    const flushed = this.commitLog.flushedOffset;
    let acked = 0;
    while (acked < this.requests.length && this.requests[acked].nextOffset <= flushed) acked++;
    if (acked === 0) return;
    const done = this.requests.splice(0, acked);
    for (const request of done) request.resolve('PUT_OK');
  }

  private armWatchdog(): void {
    if (this.watchdog || this.requests.length === 0) return;
    const waitMs = Math.max(0, this.requests[0].deadlineMs - Date.now());
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      const now = Date.now();
      let expired = 0;
      while (expired < this.requests.length && this.requests[expired].deadlineMs <= now) expired++;
      if (expired > 0) {
        log.warn({ expired, syncFlushTimeoutMs: this.syncFlushTimeoutMs }, 'sync flush timed out: FLUSH_DISK_TIMEOUT');
        this.commitLog.metrics.syncFlushTimeouts += expired;
        for (const request of this.requests.splice(0, expired)) request.resolve('FLUSH_DISK_TIMEOUT');
      }
      this.armWatchdog();
    }, waitMs);
  }

  /** Simulated crash: drop waiters without answering them, stop timers. */
  halt(): void {
    this.running = false;
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.idleFlushTimer) clearTimeout(this.idleFlushTimer);
    this.requests = [];
  }

  async shutdown(): Promise<void> {
    // Drain what can be flushed, then answer the rest (RocketMQ flushes once more on stop).
    if (this.commitLog.maxCommittedOffset > this.commitLog.flushedOffset) await this.commitLog.flush(0);
    this.ackCovered();
    this.running = false;
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.idleFlushTimer) clearTimeout(this.idleFlushTimer);
    for (const request of this.requests.splice(0)) request.resolve('FLUSH_DISK_TIMEOUT');
    this.onFlushed();
  }
}

export interface CommitSettings {
  commitIntervalCommitLog: number;
  commitCommitLogLeastPages: number;
  commitCommitLogThoroughInterval: number;
}

/** transientStorePool: moves pool buffers into the file, then wakes the flush service. */
export class CommitRealTimeService extends ServiceLoop {
  private readonly thorough = { lastThoroughMs: Date.now() };

  constructor(
    private readonly commitLog: CommitLog,
    private readonly settings: CommitSettings,
    private readonly afterCommit: () => void,
  ) {
    super();
  }

  /** RocketMQ wakes the commit service on every put in pool mode; the page test still applies. */
  wakeup(): void {
    this.sleeper.wakeup();
  }

  protected async loop(): Promise<void> {
    while (this.running) {
      const leastPages = roundLeastPages(this.thorough, this.settings.commitCommitLogLeastPages, this.settings.commitCommitLogThoroughInterval);
      if (await this.commitLog.commitPool(leastPages)) {
        this.thorough.lastThoroughMs = Date.now(); // RocketMQ: lastCommitTimestamp = end after a commit
        this.afterCommit();
      }
      await this.sleeper.sleep(this.settings.commitIntervalCommitLog);
    }
  }

  /** Stops the loop and commits everything left in the pool (RocketMQ: up to 10 tries). */
  async shutdown(): Promise<void> {
    await this.stopLoop();
    for (let attempt = 0; attempt < 10 && this.commitLog.maxCommittedOffset < this.commitLog.maxWroteOffset; attempt++) {
      await this.commitLog.commitPool(0);
    }
  }
}
