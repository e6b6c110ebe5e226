// RemotingCommand frames (RemotingCommand.encode / NettyDecoder), wire layout in README.md:
//   int32 length (= 4 + headerLength + bodyLength) | int32 mark (serializeType << 24 | headerLength) | header | body
// Header in JSON (fastjson's field order) or in RocketMQ's compact binary form.
import { FlushbenchError } from '../errors.js';
import { languageName, languageNumber, SerializeType, type SerializeTypeValue } from './codes.js';
import type { RemotingCommand } from './remotingCommand.js';

/** NettyDecoder's frame limit (com.rocketmq.remoting.frameMaxLength). */
export const FRAME_MAX_BYTES = 16_777_216;

export class FrameError extends FlushbenchError {}

interface JsonHeader {
  code?: unknown;
  extFields?: unknown;
  flag?: unknown;
  language?: unknown;
  opaque?: unknown;
  remark?: unknown;
  version?: unknown;
}

function encodeJsonHeader(command: RemotingCommand): Buffer {
  // fastjson sorts fields by name; serializeTypeCurrentRPC is what Java emits for JSON.
  const header: Record<string, unknown> = { code: command.code };
  if (command.extFields) header.extFields = command.extFields;
  header.flag = command.flag;
  header.language = command.language;
  header.opaque = command.opaque;
  if (command.remark != null) header.remark = command.remark;
  header.serializeTypeCurrentRPC = 'JSON';
  header.version = command.version;
  return Buffer.from(JSON.stringify(header), 'utf8');
}

function binaryHeaderLength(command: RemotingCommand): number {
  let length = 17 + (command.remark != null ? Buffer.byteLength(command.remark, 'utf8') : 0) + 4;
  const ext = command.extFields;
  if (ext) {
    for (const key in ext) {
      const value = ext[key];
      if (value == null) continue;
      length += 2 + Buffer.byteLength(key, 'utf8') + 4 + Buffer.byteLength(String(value), 'utf8');
    }
  }
  return length;
}

/** Writes the ROCKETMQ binary header at `at`; returns the end offset. No intermediate buffers. */
function writeBinaryHeader(command: RemotingCommand, out: Buffer, at: number, headerLength: number): number {
  let p = out.writeInt16BE(command.code, at);
  p = out.writeInt8(languageNumber(command.language), p);
  p = out.writeInt16BE(command.version, p);
  p = out.writeInt32BE(command.opaque, p);
  p = out.writeInt32BE(command.flag, p);
  if (command.remark != null) {
    const remarkLength = out.write(command.remark, p + 4, 'utf8');
    p = out.writeInt32BE(remarkLength, p) + remarkLength;
  } else {
    p = out.writeInt32BE(0, p);
  }
  const extLengthAt = p;
  p += 4;
  const ext = command.extFields;
  if (ext) {
    for (const key in ext) {
      const value = ext[key];
      if (value == null) continue;
      const keyLength = out.write(key, p + 2, 'utf8');
      p = out.writeInt16BE(keyLength, p) + keyLength;
      const valueLength = out.write(String(value), p + 4, 'utf8');
      p = out.writeInt32BE(valueLength, p) + valueLength;
    }
  }
  out.writeInt32BE(p - extLengthAt - 4, extLengthAt);
  if (p - at !== headerLength) throw new Error('binary header length mismatch');
  return p;
}

/** Encodes one command as a complete frame (one allocation for prefix + header + body). */
export function encodeFrame(command: RemotingCommand): Buffer {
  const bodyLength = command.body?.length ?? 0;
  let frame: Buffer;
  let headerLength: number;
  if (command.serializeType === SerializeType.ROCKETMQ) {
    headerLength = binaryHeaderLength(command);
    frame = Buffer.allocUnsafe(8 + headerLength + bodyLength);
    writeBinaryHeader(command, frame, 8, headerLength);
  } else {
    const header = encodeJsonHeader(command);
    headerLength = header.length;
    frame = Buffer.allocUnsafe(8 + headerLength + bodyLength);
    header.copy(frame, 8);
  }
  frame.writeInt32BE(4 + headerLength + bodyLength, 0);
  frame.writeInt32BE(((command.serializeType & 0xff) << 24) | headerLength, 4);
  if (command.body) command.body.copy(frame, 8 + headerLength);
  return frame;
}

function decodeJsonHeader(bytes: Buffer): Omit<RemotingCommand, 'body' | 'serializeType'> {
  let parsed: JsonHeader;
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as JsonHeader;
  } catch {
    throw new FrameError('BAD_HEADER', 'the JSON header does not parse');
  }
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.code !== 'number') throw new FrameError('BAD_HEADER', 'the JSON header has no numeric code');
  const extFields: Record<string, string> = {};
  if (parsed.extFields != null) {
    if (typeof parsed.extFields !== 'object') throw new FrameError('BAD_HEADER', 'extFields is not an object');
    for (const [key, value] of Object.entries(parsed.extFields as Record<string, unknown>)) if (value != null) extFields[key] = String(value);
  }
  const language = typeof parsed.language === 'number' ? languageName(parsed.language) : String(parsed.language ?? 'JAVA');
  return {
    code: parsed.code,
    language,
    version: Number(parsed.version ?? 0) | 0,
    opaque: Number(parsed.opaque ?? 0) | 0,
    flag: Number(parsed.flag ?? 0) | 0,
    remark: typeof parsed.remark === 'string' ? parsed.remark : undefined,
    extFields: parsed.extFields != null ? extFields : undefined,
  };
}

const shortKeys = new Map<number, string>();

/** extFields keys of SEND_MESSAGE_V2 are one letter: decode each distinct one once. */
function shortKey(bytes: Buffer, at: number, length: number): string {
  const id = length === 0 ? 0 : length === 1 ? 0x10000 | bytes[at] : 0x20000 | (bytes[at] << 8) | bytes[at + 1];
  let key = shortKeys.get(id);
  if (key === undefined) {
    key = bytes.toString('utf8', at, at + length);
    if (shortKeys.size < 4096) shortKeys.set(id, key);
  }
  return key;
}

function decodeBinaryHeader(bytes: Buffer): Omit<RemotingCommand, 'body' | 'serializeType'> {
  const need = (at: number, n: number) => {
    if (at + n > bytes.length) throw new FrameError('BAD_HEADER', 'the binary header is truncated');
  };
  need(0, 17);
  const code = bytes.readInt16BE(0);
  const language = languageName(bytes.readInt8(2));
  const version = bytes.readInt16BE(3);
  const opaque = bytes.readInt32BE(5);
  const flag = bytes.readInt32BE(9);
  const remarkLength = bytes.readInt32BE(13);
  let p = 17;
  if (remarkLength < 0) throw new FrameError('BAD_HEADER', 'negative remark length');
  need(p, remarkLength);
  const remark = remarkLength > 0 ? bytes.toString('utf8', p, p + remarkLength) : undefined;
  p += remarkLength;
  need(p, 4);
  const extLength = bytes.readInt32BE(p);
  p += 4;
  if (extLength < 0) throw new FrameError('BAD_HEADER', 'negative extFields length');
  need(p, extLength);
  const end = p + extLength;
  let extFields: Record<string, string> | undefined;
  if (extLength > 0) {
    extFields = {};
    while (p < end) {
      if (p + 2 > end) throw new FrameError('BAD_HEADER', 'extFields entry truncated');
      const keyLength = bytes.readInt16BE(p);
      p += 2;
      if (keyLength < 0 || p + keyLength + 4 > end) throw new FrameError('BAD_HEADER', 'extFields key out of range');
      const key = keyLength <= 2 ? shortKey(bytes, p, keyLength) : bytes.toString('utf8', p, p + keyLength);
      p += keyLength;
      const valueLength = bytes.readInt32BE(p);
      p += 4;
      if (valueLength < 0 || p + valueLength > end) throw new FrameError('BAD_HEADER', 'extFields value out of range');
      extFields[key] = bytes.toString('utf8', p, p + valueLength);
      p += valueLength;
    }
  }
  return { code, language, version, opaque, flag, remark, extFields };
}

/** Decodes one frame without its 4-byte length prefix. Throws FrameError on malformed input. */
export function decodeFrameContent(content: Buffer): RemotingCommand {
  if (content.length < 4) throw new FrameError('BAD_FRAME', 'frame shorter than its mark');
  const mark = content.readInt32BE(0);
  const serializeType = (mark >>> 24) & 0xff;
  const headerLength = mark & 0xffffff;
  if (serializeType !== SerializeType.JSON && serializeType !== SerializeType.ROCKETMQ) {
    throw new FrameError('BAD_SERIALIZE_TYPE', `unknown serialize type ${serializeType}`);
  }
  if (4 + headerLength > content.length) throw new FrameError('BAD_FRAME', `header length ${headerLength} exceeds the frame`);
  const headerBytes = content.subarray(4, 4 + headerLength);
  const header = serializeType === SerializeType.JSON ? decodeJsonHeader(headerBytes) : decodeBinaryHeader(headerBytes);
  const command = header as RemotingCommand;
  command.body = content.length > 4 + headerLength ? content.subarray(4 + headerLength) : undefined;
  command.serializeType = serializeType as SerializeTypeValue;
  return command;
}

/** Reads a non-negative or negative integer value that follows `"key":` in a JSON header, or null. */
function jsonIntField(header: Buffer, key: string): number | null {
  const at = header.indexOf(key);
  if (at < 0) return null;
  let p = at + key.length;
  while (header[p] === 0x20) p++;
  let sign = 1;
  if (header[p] === 0x2d) {
    sign = -1;
    p++;
  }
  let value = 0;
  let digits = 0;
  for (; header[p] >= 0x30 && header[p] <= 0x39; p++, digits++) value = value * 10 + (header[p] - 0x30);
  return digits > 0 ? sign * value : null;
}

/**
 * The load generator's fast path: decodes only code, opaque and flag of a RESPONSE (no
 * extFields, no remark). Requests, and anything unusual, get the full decode.
 */
export function decodeResponseLite(content: Buffer): RemotingCommand {
  const mark = content.length >= 4 ? content.readInt32BE(0) : -1;
  const serializeType = (mark >>> 24) & 0xff;
  const headerLength = mark & 0xffffff;
  if (mark >= 0 && 4 + headerLength <= content.length) {
    const header = content.subarray(4, 4 + headerLength);
    let code: number | null = null;
    let opaque: number | null = null;
    let flag: number | null = null;
    if (serializeType === SerializeType.ROCKETMQ && headerLength >= 17) {
      code = header.readInt16BE(0);
      opaque = header.readInt32BE(5);
      flag = header.readInt32BE(9);
    } else if (serializeType === SerializeType.JSON) {
      code = jsonIntField(header, '"code":');
      opaque = jsonIntField(header, '"opaque":');
      flag = jsonIntField(header, '"flag":');
    }
    if (code !== null && opaque !== null && flag !== null && (flag & 1) === 1) {
      return { code, language: 'JAVA', version: 0, opaque, flag, serializeType: serializeType as SerializeTypeValue };
    }
  }
  return decodeFrameContent(content);
}

/**
 * Incremental decoder for a byte stream: push chunks, get complete commands. A frame whose
 * length is negative, below 4 or above the limit throws FrameError (the caller closes).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(
    private readonly maxFrameBytes = FRAME_MAX_BYTES,
    private readonly decode: (content: Buffer) => RemotingCommand = decodeFrameContent,
  ) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer, onCommand: (command: RemotingCommand) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 4) return;
      const head = this.chunks[0].length >= 4 ? this.chunks[0] : this.compact();
      const length = head.readInt32BE(0);
      if (length < 4 || length > this.maxFrameBytes) {
        this.chunks = [];
        this.buffered = 0;
        throw new FrameError('FRAME_TOO_LARGE', `frame length ${length} is outside 4..${this.maxFrameBytes}`);
      }
      if (this.buffered < 4 + length) return;
      const first = this.chunks[0].length >= 4 + length ? this.chunks[0] : this.compact();
      const content = first.subarray(4, 4 + length);
      if (first.length === 4 + length) this.chunks.shift();
      else this.chunks[0] = first.subarray(4 + length);
      this.buffered -= 4 + length;
      onCommand(this.decode(content));
    }
  }

  private compact(): Buffer {
    const whole = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [whole];
    return whole;
  }
}
