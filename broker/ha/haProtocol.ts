// RocketMQ 4.x classic HA wire format (HAConnection / HAClient). Raw TCP, big-endian, no
// remoting frames:
//   slave → master  int64 slave max CommitLog offset (request offset first, then acks)
//   master → slave  int64 phyOffset | int32 size | size raw CommitLog bytes
//                   (size 0 = heartbeat carrying the master's next transfer offset)
import { FlushbenchError } from '../../protocol/errors.js';

export const HA_FRAME_HEADER_BYTES = 12;
export const HA_ACK_BYTES = 8;
/** Largest body a parser accepts; RocketMQ's haTransferBatchSize defaults to 32 KiB. */
export const HA_MAX_FRAME_BODY_BYTES_DEFAULT = 64 * 1024 * 1024;

const TWO_POW_32 = 4294967296;

/** Reads a non-negative int64 that fits a JS number (CommitLog offsets stay below 2^53). */
export function readOffset(buffer: Buffer, at: number): number {
  const high = buffer.readInt32BE(at);
  const low = buffer.readUInt32BE(at + 4);
  if (high < 0 || high >= 0x200000) {
    throw new FlushbenchError('HA_PROTOCOL', `HA peer sent offset 0x${buffer.subarray(at, at + 8).toString('hex')}, which is negative or beyond 2^53; is this really a RocketMQ HA port?`);
  }
  return high * TWO_POW_32 + low;
}

export function writeOffset(buffer: Buffer, at: number, offset: number): void {
  buffer.writeUInt32BE(Math.floor(offset / TWO_POW_32), at);
  buffer.writeUInt32BE(offset % TWO_POW_32, at + 4);
}

/** The 12-byte frame header {phyOffset, size}. */
export function encodeFrameHeader(phyOffset: number, sizeBytes: number): Buffer {
  const header = Buffer.allocUnsafe(HA_FRAME_HEADER_BYTES);
  writeOffset(header, 0, phyOffset);
  header.writeInt32BE(sizeBytes, 8);
  return header;
}

/** The slave's 8-byte report of its max offset. */
export function encodeAck(offset: number): Buffer {
  const ack = Buffer.allocUnsafe(HA_ACK_BYTES);
  writeOffset(ack, 0, offset);
  return ack;
}

/**
 * Master read side: the slave's stream of 8-byte offsets. Like HAConnection.ReadSocketService
 * only the last complete value of what has arrived counts; a partial value waits for the rest.
 */
export class SlaveAckReader {
  private readonly partial = Buffer.alloc(HA_ACK_BYTES);
  private partialBytes = 0;

  /** Feeds received bytes; returns the last complete offset in them, or null if none completed. */
  push(chunk: Buffer): number | null {
    const total = this.partialBytes + chunk.length;
    if (total < HA_ACK_BYTES) {
      chunk.copy(this.partial, this.partialBytes);
      this.partialBytes = total;
      return null;
    }
    const completeEnd = total - (total % HA_ACK_BYTES); // in the virtual stream partial ++ chunk
    const lastStart = completeEnd - HA_ACK_BYTES;
    let value: number;
    if (lastStart >= this.partialBytes) {
      value = readOffset(chunk, lastStart - this.partialBytes);
    } else {
      // The last complete value starts in the carried-over bytes (only possible when chunk < 8 bytes).
      chunk.copy(this.partial, this.partialBytes, 0, HA_ACK_BYTES - this.partialBytes);
      value = readOffset(this.partial, 0);
    }
    const restStart = completeEnd - this.partialBytes;
    this.partialBytes = chunk.length - restStart;
    chunk.copy(this.partial, 0, restStart);
    return value;
  }
}

export interface HAFrame {
  phyOffset: number;
  /** Raw CommitLog bytes; empty for a heartbeat. */
  data: Buffer;
}

/**
 * Slave read side: reassembles frames from arbitrary TCP chunks (a header may be split across
 * chunks). Bodies inside one chunk are returned as zero-copy views.
 */
export class HAFrameParser {
  private chunks: Buffer[] = [];
  private head = 0;
  /** Read position inside chunks[head]. */
  private headPosition = 0;
  private buffered = 0;
  private readonly header = Buffer.alloc(HA_FRAME_HEADER_BYTES);

  constructor(private readonly maxBodyBytes = HA_MAX_FRAME_BODY_BYTES_DEFAULT) {}

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete frame, or null until more bytes arrive. Throws on a malformed header. */
  next(): HAFrame | null {
    if (this.buffered < HA_FRAME_HEADER_BYTES) return null;
    const header = this.peek(HA_FRAME_HEADER_BYTES);
    const phyOffset = readOffset(header.buffer, header.at);
    const sizeBytes = header.buffer.readInt32BE(header.at + 8);
    if (sizeBytes < 0 || sizeBytes > this.maxBodyBytes) {
      throw new FlushbenchError('HA_PROTOCOL', `HA master sent a frame of ${sizeBytes} bytes at offset ${phyOffset}; expected 0..${this.maxBodyBytes}`);
    }
    if (this.buffered < HA_FRAME_HEADER_BYTES + sizeBytes) return null;
    this.skip(HA_FRAME_HEADER_BYTES);
    return { phyOffset, data: this.take(sizeBytes) };
  }

  /** A view of the next `length` bytes without consuming them (copied only when split). */
  private peek(length: number): { buffer: Buffer; at: number } {
    const first = this.chunks[this.head];
    if (first.length - this.headPosition >= length) return { buffer: first, at: this.headPosition };
    this.copyOut(this.header, length);
    return { buffer: this.header, at: 0 };
  }

  private copyOut(target: Buffer, length: number): void {
    let copied = 0;
    for (let i = this.head, position = this.headPosition; copied < length; i++, position = 0) {
      const chunk = this.chunks[i];
      copied += chunk.copy(target, copied, position, Math.min(chunk.length, position + length - copied));
    }
  }

  private skip(length: number): void {
    this.buffered -= length;
    while (length > 0) {
      const available = this.chunks[this.head].length - this.headPosition;
      if (available > length) {
        this.headPosition += length;
        return;
      }
      length -= available;
      this.dropHead();
    }
  }

  private take(length: number): Buffer {
    if (length === 0) return Buffer.alloc(0);
    const first = this.chunks[this.head];
    if (first.length - this.headPosition >= length) {
      const view = first.subarray(this.headPosition, this.headPosition + length);
      this.skip(length);
      return view;
    }
    const out = Buffer.allocUnsafe(length);
    this.copyOut(out, length);
    this.skip(length);
    return out;
  }

  private dropHead(): void {
    this.head++;
    this.headPosition = 0;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
