// One TCP connection speaking RemotingCommand frames, used by both server and client:
// frames decoded incrementally, outgoing frames written in per-tick batches (cork/uncork →
// one writev for many responses), reading paused while the peer does not drain our writes,
// and requests we send matched to responses by opaque with a deadline.
import type net from 'node:net';
import { FlushbenchError } from './errors.js';
import { childLogger } from './logger.js';
import { decodeFrameAt, decodeResponseLiteAt, encodeFrame, FRAME_MAX_BYTES, FrameDecoder, frameSizeBound, writeFrame } from './frameCodec.js';
import { isResponse, markOneway, type RemotingCommand } from './remotingCommand.js';

const log = childLogger('remoting');
/** Default: stop reading from a peer once this much of our output waits in its socket. */
export const WRITE_HIGH_WATER_BYTES = 8 * 1024 * 1024;
/** Timeouts are checked this often, so a request times out at most this late. */
const SWEEP_INTERVAL_MS = 20;
/** A closing connection flushes what it owes the peer, but waits no longer than this for it. */
const CLOSE_LINGER_MS = 1000;

export interface ConnectionOptions {
  /** Decode only code/opaque/flag of responses (load generator: it needs nothing else). */
  liteResponses?: boolean;
  /**
   * Backpressure for the answering side: stop reading requests while more than this many bytes
   * of our output wait (queued or in the socket), resume on 'drain'. Infinity (the default)
   * never pauses; a requester must not use it, or two peers could each wait for the other to read.
   */
  writeHighWaterBytes?: number;
  /** Binary requests with these codes keep their extFields raw (RemotingServer.registerProcessor's rawExtFields). */
  rawExtFieldsCodes?: ReadonlySet<number>;
}

const EMPTY = Buffer.alloc(0);
/**
 * Frames up to a quarter of this are encoded back to back into a shared slab, so a turn's
 * answers reach the socket as one buffer: one write() instead of one per frame, and no buffer
 * per frame. Bytes handed to the socket are never rewritten; a full slab is replaced.
 */
const SLAB_BYTES = 64 * 1024;

interface Pending {
  resolve: (response: RemotingCommand) => void;
  reject: (error: Error) => void;
  deadlineMs: number;
}

let nextConnectionId = 1;

// A Promise executor shared by every request: it hands resolve/reject over through these two
// slots, so invoking allocates no closure of its own (only the Promise and its Pending entry).
let capturedResolve: ((response: RemotingCommand) => void) | null = null;
let capturedReject: ((error: Error) => void) | null = null;
function capturePromiseFunctions(resolve: (response: RemotingCommand) => void, reject: (error: Error) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

export class RemotingConnection {
  readonly id: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  private readonly decoder: FrameDecoder;
  private outbox: Buffer[] = [];
  private outboxBytes = 0;
  private slab = EMPTY;
  /** slab[slabStart, slabEnd) holds encoded frames not yet in the outbox. */
  private slabStart = 0;
  private slabEnd = 0;
  private flushScheduled = false;
  /** Reading is paused for backpressure (not by the peer or by a close). */
  private readStopped = false;
  private readonly pending = new Map<number, Pending>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly closeListeners: Array<(reason: string) => void> = [];
  private closed = false;
  private readonly writeHighWaterBytes: number;
  /** How often reading was paused because the peer did not drain our writes. */
  readPauses = 0;
  closeReason = '';

  constructor(
    readonly socket: net.Socket,
    /** Called for every incoming request (not for responses to our own requests). */
    private readonly onRequest: (request: RemotingCommand, connection: RemotingConnection) => void,
    options: ConnectionOptions = {},
  ) {
    const rawCodes = options.rawExtFieldsCodes;
    this.decoder = new FrameDecoder(FRAME_MAX_BYTES, options.liteResponses ? decodeResponseLiteAt
      : rawCodes ? (bytes, start, end) => decodeFrameAt(bytes, start, end, rawCodes) : decodeFrameAt);
    this.writeHighWaterBytes = options.writeHighWaterBytes ?? Number.POSITIVE_INFINITY;
    this.id = `c${nextConnectionId++}`;
    this.remoteAddress = (socket.remoteAddress ?? '0.0.0.0').replace(/^::ffff:/, '');
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResumeReading());
    socket.on('error', (error) => this.close(`socket error: ${error.message}`));
    socket.on('close', () => this.close(this.closeReason || 'peer closed the connection'));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** "ip:port" of the peer, as RocketMQ logs a channel. */
  get remote(): string {
    return `${this.remoteAddress}:${this.remotePort}`;
  }

  /** Bytes of our output not yet taken by the kernel: queued for the next flush plus the socket's buffer. */
  get unsentBytes(): number {
    return this.outboxBytes + this.slabEnd - this.slabStart + this.socket.writableLength;
  }

  /** Per decoded command; false stops decoding (the rest stays buffered) when our output backs up. */
  private readonly onCommand = (command: RemotingCommand): boolean => {
    if (isResponse(command)) this.settle(command);
    else this.onRequest(command, this);
    if (this.unsentBytes <= this.writeHighWaterBytes) return true;
    this.stopReading();
    return false;
  };

  private stopReading(): void {
    if (this.readStopped || this.closed) return;
    this.readStopped = true;
    this.readPauses++;
    this.socket.pause();
  }

  private maybeResumeReading(): void {
    if (!this.readStopped || this.closed || this.unsentBytes > this.writeHighWaterBytes) return;
    this.readStopped = false;
    this.socket.resume();
    this.onData(EMPTY); // requests that arrived before the pause and wait in the decoder
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    if (this.readStopped) {
      this.decoder.append(chunk);
      return;
    }
    try {
      this.decoder.push(chunk, this.onCommand);
    } catch (error) {
      log.warn({ connection: this.id, peer: `${this.remoteAddress}:${this.remotePort}`, err: (error as Error).message }, 'closing connection: bad frame');
      this.close(`bad frame: ${(error as Error).message}`);
    }
  }

  private settle(response: RemotingCommand): void {
    const waiting = this.pending.get(response.opaque);
    if (!waiting) return; // late answer to a request that already timed out
    this.pending.delete(response.opaque);
    waiting.resolve(response);
  }

  private readonly flushNow = (): void => this.flush();

  /** Queues a frame; all frames queued in one event-loop turn go out in one write. */
  send(command: RemotingCommand): void {
    if (this.closed) return;
    const bound = frameSizeBound(command);
    if (bound > SLAB_BYTES / 4) {
      this.sendEncoded(encodeFrame(command));
      return;
    }
    if (this.slabEnd + bound > this.slab.length) {
      this.sealSlab();
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.slabStart = this.slabEnd = 0;
    }
    this.slabEnd = writeFrame(command, this.slab, this.slabEnd);
    this.scheduleFlush();
  }

  /** Moves the slab's pending frames to the outbox (before a frame from elsewhere, to keep order). */
  private sealSlab(): void {
    if (this.slabEnd === this.slabStart) return;
    const frames = this.slab.subarray(this.slabStart, this.slabEnd);
    this.slabStart = this.slabEnd;
    this.outbox.push(frames);
    this.outboxBytes += frames.length;
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    this.sealSlab();
    if (this.outbox.length === 0) return;
    const frames = this.outbox;
    this.outbox = [];
    this.outboxBytes = 0;
    if (frames.length === 1) {
      this.socket.write(frames[0]);
    } else {
      this.socket.cork();
      for (const frame of frames) this.socket.write(frame);
      this.socket.uncork();
    }
    // Backpressure: answers produced later (async processors) count too; 'drain' resumes.
    if (this.socket.writableLength > this.writeHighWaterBytes) this.stopReading();
    else this.maybeResumeReading();
  }

  /** Queues an already encoded frame (the load generator's reusable request buffers). */
  sendEncoded(frame: Buffer): void {
    if (this.closed) return;
    this.sealSlab();
    this.outbox.push(frame);
    this.outboxBytes += frame.length;
    this.scheduleFlush();
  }

  /** Like invoke, for a frame encoded by the caller with the given opaque. */
  invokeEncoded(frame: Buffer, opaque: number, timeoutMs: number): Promise<RemotingCommand> {
    if (this.closed) return Promise.reject(new FlushbenchError('CONNECTION_CLOSED', `connection to ${this.remoteAddress}:${this.remotePort} is closed`));
    const promise = new Promise<RemotingCommand>(capturePromiseFunctions);
    this.pending.set(opaque, { resolve: capturedResolve as (response: RemotingCommand) => void, reject: capturedReject as (error: Error) => void, deadlineMs: Date.now() + timeoutMs });
    capturedResolve = capturedReject = null;
    if (!this.sweepTimer) {
      this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
      this.sweepTimer.unref();
    }
    this.sendEncoded(frame);
    return promise;
  }

  sendOneway(request: RemotingCommand): void {
    this.send(markOneway(request));
  }

  /** Sends a request and resolves with the response, or rejects with code TIMEOUT / CONNECTION_CLOSED. */
  invoke(request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    return this.invokeEncoded(encodeFrame(request), request.opaque, timeoutMs);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [opaque, waiting] of this.pending) {
      if (waiting.deadlineMs > now) continue;
      this.pending.delete(opaque);
      waiting.reject(new FlushbenchError('TIMEOUT', `no response from ${this.remoteAddress}:${this.remotePort} within the timeout (opaque ${opaque})`));
    }
    if (this.pending.size === 0 && this.sweepTimer) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closed) listener(this.closeReason);
    else this.closeListeners.push(listener);
  }

  close(reason = 'closed locally'): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    const error = new FlushbenchError('CONNECTION_CLOSED', `connection to ${this.remoteAddress}:${this.remotePort} closed: ${reason}`);
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
    const socket = this.socket;
    this.sealSlab();
    if (!socket.destroyed && (this.outbox.length > 0 || socket.writableLength > 0)) {
      // Answers already owed (e.g. to requests before a bad frame) go out first, then FIN.
      for (const frame of this.outbox) socket.write(frame);
      this.outbox = [];
      this.outboxBytes = 0;
      socket.end();
      setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
    } else {
      socket.destroy();
    }
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }
}
