// One slave connected to the master (RocketMQ's HAConnection): the read side takes the
// slave's 8-byte offsets, the write side streams CommitLog bytes in frames from where the
// slave asked. Closing either side closes both.
import type net from 'node:net';
import { errorMessage } from '../../protocol/errors.js';
import type { Logger } from '../../protocol/logger.js';
import type { CommitLog } from '../store/commitLog.js';
import { encodeFrameHeader, SlaveAckReader } from './haProtocol.js';

/** What a connection needs from the master. */
export interface HAConnectionHost {
  readonly commitLog: CommitLog;
  readonly segmentSizeBytes: number;
  readonly haTransferBatchSize: number;
  readonly haSendHeartbeatInterval: number;
  readonly haHousekeepingInterval: number;
  readonly log: Logger;
  onSlaveAck(offset: number): void;
  onTransferred(bytes: number): void;
  onClosed(connection: HAConnection): void;
}

/** Longest wait for new data before the write side looks again (RocketMQ: 100 ms). */
const IDLE_WAIT_MS = 100;
/** Frames per socket write: reading ahead saves syscalls; each frame stays ≤ haTransferBatchSize. */
const FRAMES_PER_READ = 8;
const READ_AHEAD_BYTES_MAX = 256 * 1024;
/** Distance from the committed end within which data is assumed to be in the page cache. */
const HOT_TAIL_BYTES = 64 * 1024 * 1024;

export interface HAConnectionStatus {
  clientAddress: string;
  slaveRequestOffset: number;
  slaveAckOffset: number;
  nextTransferOffset: number;
  transferredBytes: number;
  /** Bytes queued in the socket, not yet taken by the kernel (bounded by backpressure). */
  socketBufferedBytes: number;
  /** The write side is waiting for the slave to take data ('drain'). */
  waitingForDrain: boolean;
}

export class HAConnection {
  readonly clientAddress: string;
  slaveRequestOffset = -1;
  slaveAckOffset = -1;
  nextTransferOffset = -1;
  transferredBytes = 0;
  private readonly acks = new SlaveAckReader();
  private lastReadMs = Date.now();
  private lastWriteMs = Date.now();
  private closed = false;
  private wake: (() => void) | null = null;
  /** Set by every wake-up, so a commit that lands while a read is in flight is not missed. */
  private workPending = false;
  private waitingForDrain = false;
  private wakeTimer: NodeJS.Timeout | null = null;
  private readonly closeWaiters: Array<() => void> = [];
  private readonly readAheadBytes: number;

  constructor(private readonly socket: net.Socket, private readonly host: HAConnectionHost) {
    this.clientAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.readAheadBytes = Math.max(host.haTransferBatchSize, Math.min(host.haTransferBatchSize * FRAMES_PER_READ, READ_AHEAD_BYTES_MAX));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.close(`socket error: ${errorMessage(error)}`));
    socket.on('close', () => this.close('slave closed the connection'));
    socket.on('drain', () => this.wakeUp());
  }

  start(): void {
    this.writeLoop().catch((error: unknown) => {
      try {
        this.close(`transfer failed: ${errorMessage(error)}`);
      } catch (closeError) {
        this.host.log.error({ slave: this.clientAddress, err: errorMessage(closeError) }, 'HA connection close failed');
      }
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  status(): HAConnectionStatus {
    return {
      clientAddress: this.clientAddress,
      slaveRequestOffset: this.slaveRequestOffset,
      slaveAckOffset: this.slaveAckOffset,
      nextTransferOffset: this.nextTransferOffset,
      transferredBytes: this.transferredBytes,
      socketBufferedBytes: this.socket.writableLength,
      waitingForDrain: this.waitingForDrain,
    };
  }

  /** New data was committed (or the socket drained): let the write side look again. */
  wakeUp(): void {
    this.workPending = true;
    const wake = this.wake;
    if (!wake) return;
    this.wake = null;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    wake();
  }

  /** Housekeeping, called periodically by the master. */
  tick(nowMs: number): void {
    if (this.closed) return;
    if (nowMs - this.lastReadMs > this.host.haHousekeepingInterval) {
      this.close(`ha housekeeping: nothing read from the slave for ${nowMs - this.lastReadMs} ms (haHousekeepingInterval ${this.host.haHousekeepingInterval})`);
    }
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.host.log.info({ slave: this.clientAddress, reason, ackOffset: this.slaveAckOffset }, 'HA connection closed');
    this.socket.destroy();
    this.wakeUp();
    this.host.onClosed(this);
    for (const waiter of this.closeWaiters.splice(0)) waiter();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastReadMs = Date.now();
    let offset: number | null;
    try {
      offset = this.acks.push(chunk);
    } catch (error) {
      this.close(errorMessage(error));
      return;
    }
    if (offset === null) return;
    this.slaveAckOffset = offset;
    const masterMax = this.host.commitLog.maxWroteOffset;
    if (offset > masterMax) {
      // RocketMQ closes on an ack beyond its max offset (it lets the first report pass and
      // refuses on the next heartbeat; refusing at once ends the same way, sooner).
      this.host.log.error({ slave: this.clientAddress, slaveOffset: offset, masterMaxOffset: masterMax },
        `slave log diverges: slave reported offset ${offset} but the master CommitLog ends at ${masterMax}; refusing it (wipe the slave's store or make it the master)`);
      this.close('slave offset beyond the master');
      return;
    }
    if (this.slaveRequestOffset < 0) {
      this.slaveRequestOffset = offset;
      this.host.log.info({ slave: this.clientAddress, requestOffset: offset }, 'slave request offset');
      this.wakeUp();
    }
    this.host.onSlaveAck(offset);
  }

  private async writeLoop(): Promise<void> {
    while (!this.closed && this.slaveRequestOffset < 0) await this.waitForWork(IDLE_WAIT_MS);
    if (this.closed) return;
    const commitLog = this.host.commitLog;
    if (this.slaveRequestOffset === 0) {
      const masterMax = commitLog.maxCommittedOffset;
      this.nextTransferOffset = masterMax - (masterMax % this.host.segmentSizeBytes);
    } else {
      this.nextTransferOffset = this.slaveRequestOffset;
    }
    this.host.log.info({ slave: this.clientAddress, from: this.nextTransferOffset, requestOffset: this.slaveRequestOffset }, 'master transfers data to slave');
    if (this.nextTransferOffset < commitLog.minOffset) {
      this.host.log.warn({ slave: this.clientAddress, from: this.nextTransferOffset, masterMinOffset: commitLog.minOffset },
        'the slave asks for data the master no longer has; it cannot catch up (wipe the slave store so it starts from the last segment)');
    }
    while (!this.closed) {
      this.workPending = false;
      // Data just committed is in the page cache: read it synchronously (RocketMQ reads its
      // mmap) and skip a thread-pool round trip; a slave far behind gets asynchronous reads
      // so a cold disk read never blocks the event loop.
      const data = commitLog.maxCommittedOffset - this.nextTransferOffset <= HOT_TAIL_BYTES
        ? commitLog.readCommittedSync(this.nextTransferOffset, this.readAheadBytes)
        : await commitLog.readCommitted(this.nextTransferOffset, this.readAheadBytes);
      if (this.closed) return;
      if (data && data.length > 0) {
        if (!this.sendFrames(data)) await this.waitForDrain();
        continue;
      }
      if (Date.now() - this.lastWriteMs > this.host.haSendHeartbeatInterval) {
        if (!this.send(encodeFrameHeader(this.nextTransferOffset, 0))) await this.waitForDrain();
        continue;
      }
      if (!this.workPending) await this.waitForWork(IDLE_WAIT_MS);
    }
  }

  /** Writes `data` (never crossing a segment) as frames of ≤ haTransferBatchSize; false = back off. */
  private sendFrames(data: Buffer): boolean {
    const batch = this.host.haTransferBatchSize;
    const socket = this.socket;
    socket.cork();
    let ok = true;
    for (let at = 0; at < data.length; at += batch) {
      const size = Math.min(batch, data.length - at);
      socket.write(encodeFrameHeader(this.nextTransferOffset, size));
      ok = socket.write(data.subarray(at, at + size));
      this.nextTransferOffset += size;
    }
    socket.uncork();
    this.lastWriteMs = Date.now();
    this.transferredBytes += data.length;
    this.host.onTransferred(data.length);
    return ok;
  }

  private send(buffer: Buffer): boolean {
    this.lastWriteMs = Date.now();
    return this.socket.write(buffer);
  }

  private waitForWork(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.wakeTimer = setTimeout(() => this.wakeUp(), timeoutMs);
    });
  }

  /** Waits until the socket buffer drains (bounded memory) or the connection closes. */
  private async waitForDrain(): Promise<void> {
    this.waitingForDrain = true;
    while (!this.closed && this.socket.writableNeedDrain) {
      this.workPending = false;
      await this.waitForWork(1000);
    }
    this.waitingForDrain = false;
  }

  /** Resolves once the connection is closed. */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }
}
