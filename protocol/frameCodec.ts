// RemotingCommand frames (RemotingCommand.encode / NettyDecoder), wire layout in README.md:
//   int32 length (= 4 + headerLength + bodyLength) | int32 mark (serializeType << 24 | headerLength) | header | body
// The header itself is headerCodec.ts. FrameDecoder turns a byte stream into commands.
import {
  binaryHeaderMaxLength, decodeBinaryHeader, decodeHeader, FrameError, isSerializeType, jsonHeaderText, type NativeStringCodecs, writeBinaryHeader,
} from './headerCodec.js';
import { SerializeType } from './codes.js';
import { FLAG_RESPONSE, type RemotingCommand } from './remotingCommand.js';
import { readInt16, readInt32, writeInt32 } from './bigEndian.js';

export { FrameError } from './headerCodec.js';

/** NettyDecoder's frame limit (com.rocketmq.remoting.frameMaxLength). */
export const FRAME_MAX_BYTES = 16_777_216;

// The JSON header text of the command last given to frameSizeBound (its length sets the bound,
// and writeFrame writes it: built once per frame).
let boundCommand: RemotingCommand | null = null;
let boundJsonHeader = '';

/**
 * An upper bound of the frame's size in bytes (UTF-8 takes at most 3 bytes per UTF-16 unit).
 * writeFrame(command, …) must follow, with nothing encoded in between.
 */
export function frameSizeBound(command: RemotingCommand): number {
  const bodyLength = command.body?.length ?? 0;
  boundCommand = command;
  if (command.serializeType === SerializeType.ROCKETMQ) return 8 + binaryHeaderMaxLength(command) + bodyLength;
  boundJsonHeader = jsonHeaderText(command);
  return 8 + 3 * boundJsonHeader.length + bodyLength;
}

/**
 * Writes `command` as a complete frame at `at` in `target`, which must have frameSizeBound(command)
 * bytes from `at`; returns the end. Lets a connection encode a turn's answers back to back in
 * one buffer and hand the socket one write.
 */
export function writeFrame(command: RemotingCommand, target: Buffer, at: number): number {
  if (boundCommand !== command) frameSizeBound(command);
  boundCommand = null;
  const body = command.body;
  const bodyLength = body?.length ?? 0;
  const headerEnd = command.serializeType === SerializeType.ROCKETMQ
    ? writeBinaryHeader(command, target, at + 8)
    : at + 8 + (target as Buffer & NativeStringCodecs).utf8Write(boundJsonHeader, at + 8);
  const headerLength = headerEnd - at - 8;
  writeInt32(target, at, 4 + headerLength + bodyLength);
  writeInt32(target, at + 4, ((command.serializeType & 0xff) << 24) | headerLength);
  if (body) body.copy(target, headerEnd);
  return headerEnd + bodyLength;
}

/** Encodes one command as a complete frame in its own buffer. */
export function encodeFrame(command: RemotingCommand): Buffer {
  const frame = Buffer.allocUnsafe(frameSizeBound(command));
  return frame.subarray(0, writeFrame(command, frame, 0));
}

/** Decodes one frame without its 4-byte length prefix. Throws FrameError on malformed input. */
export function decodeFrameContent(content: Buffer): RemotingCommand {
  return decodeFrameAt(content, 0, content.length);
}

/**
 * decodeFrameContent of bytes[start, end), without slicing it out first (one Buffer less per
 * frame). Binary requests whose code is in `rawExtFieldsCodes` keep their extFields raw
 * (RemotingCommand.rawExtFields) for a processor that reads them from the bytes.
 */
export function decodeFrameAt(bytes: Buffer, start: number, end: number, rawExtFieldsCodes?: ReadonlySet<number>): RemotingCommand {
  if (end - start < 4) throw new FrameError('BAD_FRAME', 'frame shorter than its mark');
  const mark = readInt32(bytes, start);
  const serializeType = (mark >>> 24) & 0xff;
  const headerLength = mark & 0xffffff;
  if (!isSerializeType(serializeType)) throw new FrameError('BAD_SERIALIZE_TYPE', `unknown serialize type ${serializeType} (0 = JSON, 1 = ROCKETMQ)`);
  const headerEnd = start + 4 + headerLength;
  if (headerEnd > end) throw new FrameError('BAD_FRAME', `header length ${headerLength} exceeds the frame (${end - start - 4} bytes)`);
  const raw = rawExtFieldsCodes !== undefined && serializeType === SerializeType.ROCKETMQ && headerLength >= 17 &&
    (readInt32(bytes, start + 13) & FLAG_RESPONSE) === 0 && rawExtFieldsCodes.has(readInt16(bytes, start + 4));
  const command = (raw ? decodeBinaryHeader(bytes, start + 4, headerEnd, true) : decodeHeader(serializeType, bytes, start + 4, headerEnd)) as RemotingCommand;
  command.body = end > headerEnd ? bytes.subarray(headerEnd, end) : undefined;
  command.serializeType = serializeType;
  return command;
}

// Results of scanJsonHeaderInts (module scratch: the lite path allocates nothing for them).
let scannedCode = 0;
let scannedOpaque = 0;
let scannedFlag = 0;
const FOUND_CODE = 1;
const FOUND_OPAQUE = 2;
const FOUND_FLAG = 4;

/**
 * One pass over a JSON header for `"code":N`, `"opaque":N` and `"flag":N` (integers; a quoted
 * value, e.g. an extFields entry of that name, is skipped). A JS loop beats three Buffer.indexOf
 * calls on a header of a few hundred bytes. Returns false if one of them is missing or the
 * header is not brace-delimited (the full decode then validates it).
 */
function scanJsonHeaderInts(h: Buffer, start: number, end: number): boolean {
  if (h[start] !== 0x7b || h[end - 1] !== 0x7d) return false; // not {…}: let the full decode judge it
  let found = 0;
  for (let p = start; p + 7 < end; p++) {
    if (h[p] !== 0x22) continue; // '"'
    const first = h[p + 1];
    let which: number;
    let q: number;
    if (first === 0x63 && h[p + 2] === 0x6f && h[p + 3] === 0x64 && h[p + 4] === 0x65 && h[p + 5] === 0x22) { // "code"
      which = FOUND_CODE;
      q = p + 6;
    } else if (first === 0x66 && h[p + 2] === 0x6c && h[p + 3] === 0x61 && h[p + 4] === 0x67 && h[p + 5] === 0x22) { // "flag"
      which = FOUND_FLAG;
      q = p + 6;
    } else if (first === 0x6f && h[p + 2] === 0x70 && h[p + 3] === 0x61 && h[p + 4] === 0x71 && h[p + 5] === 0x75 && h[p + 6] === 0x65 && h[p + 7] === 0x22) { // "opaque"
      which = FOUND_OPAQUE;
      q = p + 8;
    } else {
      continue;
    }
    while (q < end && h[q] === 0x20) q++;
    if (q >= end || h[q] !== 0x3a) continue; // ':'
    q++;
    while (q < end && h[q] === 0x20) q++;
    let sign = 1;
    if (q < end && h[q] === 0x2d) {
      sign = -1;
      q++;
    }
    let value = 0;
    let digits = 0;
    for (; q < end && h[q] >= 0x30 && h[q] <= 0x39; q++, digits++) value = value * 10 + (h[q] - 0x30);
    if (digits === 0 || digits > 10) continue;
    value *= sign;
    if (which === FOUND_CODE) scannedCode = value;
    else if (which === FOUND_OPAQUE) scannedOpaque = value;
    else scannedFlag = value;
    found |= which;
    if (found === (FOUND_CODE | FOUND_OPAQUE | FOUND_FLAG)) return true;
    p = q - 1;
  }
  return false;
}

/**
 * The load generator's fast path: decodes only code, opaque and flag of a RESPONSE (no
 * extFields); the remark only for a non-success code, where it says why (e.g. SYSTEM_BUSY's
 * [OVERLOAD], SYSTEM_ERROR's [PC_SYNCHRONIZED]). Requests, and anything unusual, get the full decode.
 */
export function decodeResponseLite(content: Buffer): RemotingCommand {
  return decodeResponseLiteAt(content, 0, content.length);
}

/** decodeResponseLite of bytes[start, end). */
export function decodeResponseLiteAt(bytes: Buffer, start: number, end: number): RemotingCommand {
  const mark = end - start >= 4 ? readInt32(bytes, start) : -1;
  const serializeType = (mark >>> 24) & 0xff;
  const headerLength = mark & 0xffffff;
  const headerStart = start + 4;
  const headerEnd = headerStart + headerLength;
  if (mark >= 0 && headerEnd <= end) {
    let lite: RemotingCommand | null = null;
    if (serializeType === SerializeType.ROCKETMQ && headerLength >= 17) {
      const flag = readInt32(bytes, headerStart + 9);
      if ((flag & 1) === 1) lite = { code: readInt16(bytes, headerStart), language: 'JAVA', version: 0, opaque: readInt32(bytes, headerStart + 5), flag, serializeType };
    } else if (serializeType === SerializeType.JSON && scanJsonHeaderInts(bytes, headerStart, headerEnd) && (scannedFlag & 1) === 1) {
      lite = { code: scannedCode, language: 'JAVA', version: 0, opaque: scannedOpaque, flag: scannedFlag, serializeType };
    }
    if (lite) {
      if (lite.code !== 0) lite.remark = decodeHeader(serializeType, bytes, headerStart, headerEnd).remark;
      return lite;
    }
  }
  return decodeFrameAt(bytes, start, end);
}

/**
 * Incremental decoder for a byte stream: push chunks, get complete commands. A frame whose
 * length is negative or below 4 (BAD_LENGTH) or above the limit (FRAME_TOO_LARGE) throws
 * FrameError and drops what was buffered (the caller closes the connection).
 *
 * Chunks are kept in a list and only joined when a frame straddles them, once per frame, so
 * a frame arriving in n pieces costs O(size), not O(n · size).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  /** Bytes of chunks[0] already decoded (a consumed prefix is skipped, not sliced off). */
  private headOffset = 0;
  private buffered = 0;

  constructor(
    private readonly maxFrameBytes = FRAME_MAX_BYTES,
    /** Decodes the frame content bytes[start, end) (the frame without its length prefix). */
    private readonly decode: (bytes: Buffer, start: number, end: number) => RemotingCommand = decodeFrameAt,
  ) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Buffers a chunk without decoding (the owner paused processing; a later push continues). */
  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * Buffers `chunk` and hands every complete frame to `onCommand`, in order. If onCommand
   * returns false, decoding stops there and the rest stays buffered for the next push (which
   * may be an empty chunk).
   */
  push(chunk: Buffer, onCommand: (command: RemotingCommand) => unknown): void {
    this.append(chunk);
    for (;;) {
      if (this.buffered < 4) return;
      let head = this.chunks[0];
      let at = this.headOffset;
      if (head.length - at < 4) {
        head = this.compact();
        at = 0;
      }
      const length = readInt32(head, at);
      if (length < 4 || length > this.maxFrameBytes) {
        this.chunks = [];
        this.headOffset = 0;
        this.buffered = 0;
        if (length > this.maxFrameBytes) throw new FrameError('FRAME_TOO_LARGE', `frame length ${length} is above the limit of ${this.maxFrameBytes} bytes`);
        throw new FrameError('BAD_LENGTH', `frame length ${length} is below 4 (the mark alone takes 4 bytes)`);
      }
      if (this.buffered < 4 + length) return;
      if (head.length - at < 4 + length) {
        head = this.compact();
        at = 0;
      }
      const end = at + 4 + length;
      if (end === head.length) {
        this.chunks.shift();
        this.headOffset = 0;
      } else {
        this.headOffset = end;
      }
      this.buffered -= 4 + length;
      if (onCommand(this.decode(head, at + 4, end)) === false) return;
    }
  }

  /** Joins the unconsumed bytes into one chunk (once per frame that straddles chunks). */
  private compact(): Buffer {
    const first = this.chunks[0].subarray(this.headOffset);
    const whole = this.chunks.length === 1 ? first : Buffer.concat([first, ...this.chunks.slice(1)], this.buffered);
    this.chunks = [whole];
    this.headOffset = 0;
    return whole;
  }
}
