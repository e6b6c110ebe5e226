// RemotingCommand headers, the part of a frame between the mark and the body (README.md):
//   JSON     (serialize type 0): fastjson's output of RemotingCommand, fields sorted by name.
//   ROCKETMQ (serialize type 1): RocketMQSerializable's binary form, 17 fixed bytes + remark + extFields.
// Encoders write into a caller's buffer (frameCodec.ts allocates the frame once); decoders
// throw FrameError with code BAD_HEADER on anything malformed.
import { FlushbenchError } from './errors.js';
import { languageName, languageNumber, SerializeType, type SerializeTypeValue } from './codes.js';
import type { RawExtFields, RemotingCommand } from './remotingCommand.js';
import { readInt16, readInt32, writeInt16, writeInt32 } from './bigEndian.js';

/** A malformed frame or header; `code` says which rule it broke (FRAME_TOO_LARGE, BAD_LENGTH, BAD_FRAME, BAD_SERIALIZE_TYPE, BAD_HEADER). */
export class FrameError extends FlushbenchError {}

/** Everything of a command except its body and serialize type (which the frame carries). */
export type CommandHeader = Omit<RemotingCommand, 'body' | 'serializeType'>;

interface JsonHeader {
  code?: unknown;
  extFields?: unknown;
  flag?: unknown;
  language?: unknown;
  opaque?: unknown;
  remark?: unknown;
  version?: unknown;
}

function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** The JSON header text: fastjson sorts fields by name; serializeTypeCurrentRPC is what Java emits for JSON. */
export function jsonHeaderText(command: RemotingCommand): string {
  let text = `{"code":${jsonNumber(command.code)}`;
  if (command.extFields) text += `,"extFields":${JSON.stringify(command.extFields)}`;
  text += `,"flag":${jsonNumber(command.flag)},"language":${JSON.stringify(command.language)},"opaque":${jsonNumber(command.opaque)}`;
  if (command.remark != null) text += `,"remark":${JSON.stringify(command.remark)}`;
  return `${text},"serializeTypeCurrentRPC":"JSON","version":${jsonNumber(command.version)}}`;
}

/** Node's native string codecs on Buffer (what write()/toString() call after their argument checks). */
export interface NativeStringCodecs {
  utf8Slice(start: number, end: number): string;
  utf8Write(text: string, offset: number): number;
}

/**
 * Writes `text` as UTF-8 at `at` and returns the end. Short ASCII strings (every header key
 * and nearly every value) are copied by a JS loop, which beats the native call for them;
 * anything else goes through utf8Write. `out` must have room for 3 bytes per UTF-16 unit.
 */
export function writeUtf8(out: Buffer, text: string, at: number): number {
  const length = text.length;
  if (length <= 64) {
    let i = 0;
    for (; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) break;
      out[at + i] = code;
    }
    if (i === length) return at + length;
  }
  return at + (out as Buffer & NativeStringCodecs).utf8Write(text, at);
}

/** An upper bound of the binary header size: UTF-8 needs at most 3 bytes per UTF-16 unit. */
export function binaryHeaderMaxLength(command: RemotingCommand): number {
  let length = 21 + (command.remark != null ? 3 * command.remark.length : 0);
  if (command.directExtFields) return length + command.directExtFields.maxBinaryBytes;
  const ext = command.extFields;
  if (ext) {
    for (const key in ext) {
      const value = ext[key];
      if (value == null) continue;
      length += 6 + 3 * (key.length + (typeof value === 'string' ? value.length : String(value).length));
    }
  }
  return length;
}

/**
 * Writes the ROCKETMQ binary header at `at` in one pass (no byteLength pre-scan, no
 * intermediate buffers); returns the end offset.
 */
export function writeBinaryHeader(command: RemotingCommand, out: Buffer, at: number): number {
  let p = writeInt16(out, at, command.code);
  out[p++] = command.language === 'JAVA' ? 0 : languageNumber(command.language);
  p = writeInt16(out, p, command.version);
  p = writeInt32(out, p, command.opaque);
  p = writeInt32(out, p, command.flag);
  if (command.remark != null) {
    const end = writeUtf8(out, command.remark, p + 4);
    writeInt32(out, p, end - p - 4);
    p = end;
  } else {
    p = writeInt32(out, p, 0);
  }
  const extLengthAt = p;
  p += 4;
  const direct = command.directExtFields;
  const ext = direct ? undefined : command.extFields; // never reads a direct command's extFields (it builds the record)
  if (direct) {
    p = direct.writeBinary(out, p);
  } else if (ext) {
    for (const key in ext) {
      const value = ext[key];
      if (value == null) continue;
      const keyEnd = writeUtf8(out, key, p + 2);
      writeInt16(out, p, keyEnd - p - 2);
      const valueEnd = writeUtf8(out, typeof value === 'string' ? value : String(value), keyEnd + 4);
      writeInt32(out, keyEnd, valueEnd - keyEnd - 4);
      p = valueEnd;
    }
  }
  writeInt32(out, extLengthAt, p - extLengthAt - 4);
  return p;
}

export function decodeJsonHeader(bytes: Buffer, start = 0, end = bytes.length): CommandHeader {
  let parsed: JsonHeader;
  try {
    // V8's JSON.parse beats a hand-written byte scanner here (measured: ~1.4 vs ~1.8 µs per SEND header).
    parsed = JSON.parse((bytes as Buffer & NativeStringCodecs).utf8Slice(start, end)) as JsonHeader;
  } catch {
    throw new FrameError('BAD_HEADER', 'the JSON header does not parse');
  }
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.code !== 'number') throw new FrameError('BAD_HEADER', 'the JSON header has no numeric code');
  let extFields: Record<string, string> | undefined;
  const rawExt = parsed.extFields;
  if (rawExt != null) {
    if (typeof rawExt !== 'object') throw new FrameError('BAD_HEADER', 'extFields is not an object');
    extFields = rawExt as Record<string, string>;
    // Usually every value is a string and the parsed object is used as is; otherwise copy with String().
    let allStrings = !Array.isArray(rawExt);
    for (const key in rawExt) {
      if (typeof (rawExt as Record<string, unknown>)[key] !== 'string') {
        allStrings = false;
        break;
      }
    }
    if (!allStrings) {
      extFields = {};
      for (const [key, value] of Object.entries(rawExt as Record<string, unknown>)) if (value != null) extFields[key] = String(value);
    }
  }
  const language = typeof parsed.language === 'number' ? languageName(parsed.language) : String(parsed.language ?? 'JAVA');
  return {
    code: parsed.code,
    language,
    version: Number(parsed.version ?? 0) | 0,
    opaque: Number(parsed.opaque ?? 0) | 0,
    flag: Number(parsed.flag ?? 0) | 0,
    remark: typeof parsed.remark === 'string' ? parsed.remark : undefined,
    extFields,
  };
}

/** The longest value remembered per key (one-letter SEND_MESSAGE_V2 keys repeat most values). */
const INTERNED_VALUE_MAX_BYTES = 32;
const KEY_SLOTS_MAX = 4096;

/**
 * One short extFields key: its decoded name once, and the last short value seen under it, so
 * a repeated value (producer group, topic, "TBW102", "false" …) is a byte compare instead of
 * a new string.
 */
interface KeySlot {
  key: string;
  valueBytes: Buffer;
  valueLength: number;
  valueText: string;
}

/** Keys of 0 or 1 byte by that byte (index 256 for the empty key); 2-byte keys by their 16 bits. */
const oneByteKeySlots: Array<KeySlot | undefined> = new Array<KeySlot | undefined>(257);
const twoByteKeySlots = new Map<number, KeySlot>();
let keySlotCount = 0;

/** extFields keys of SEND_MESSAGE_V2 are one letter: decode each distinct one once. */
function shortKeySlot(bytes: Buffer, at: number, length: number): KeySlot | string {
  const oneByte = length < 2;
  const id = length === 0 ? 256 : length === 1 ? bytes[at] : (bytes[at] << 8) | bytes[at + 1];
  let slot = oneByte ? oneByteKeySlots[id] : twoByteKeySlots.get(id);
  if (slot === undefined) {
    const key = bytes.toString('utf8', at, at + length);
    if (keySlotCount >= KEY_SLOTS_MAX) return key;
    slot = { key, valueBytes: Buffer.alloc(INTERNED_VALUE_MAX_BYTES), valueLength: -1, valueText: '' };
    keySlotCount++;
    if (oneByte) oneByteKeySlots[id] = slot;
    else twoByteKeySlots.set(id, slot);
  }
  return slot;
}

export function utf8Slice(bytes: Buffer, start: number, end: number): string {
  return (bytes as Buffer & NativeStringCodecs).utf8Slice(start, end);
}

/** The value at bytes[at, at+length) for `slot`'s key: the remembered string when the bytes repeat. */
function slotValue(slot: KeySlot, bytes: Buffer, at: number, length: number): string {
  if (length > INTERNED_VALUE_MAX_BYTES) return utf8Slice(bytes, at, at + length);
  const remembered = slot.valueBytes;
  if (slot.valueLength === length) {
    let i = 0;
    while (i < length && remembered[i] === bytes[at + i]) i++;
    if (i === length) return slot.valueText;
  }
  const text = length === 0 ? '' : utf8Slice(bytes, at, at + length);
  for (let i = 0; i < length; i++) remembered[i] = bytes[at + i];
  slot.valueLength = length;
  slot.valueText = text;
  return text;
}

/**
 * A sequence of short keys, as a path in a trie from SHAPE_ROOT. Filling a fresh object key by
 * key made every store megamorphic (each added key is a new hidden class), and that was the
 * largest cost of decoding a SEND_MESSAGE_V2 header. A sequence seen SHAPE_COMPILE_AFTER times
 * gets a compiled object literal instead, which V8 creates from one boilerplate in one step.
 */
interface ShapeNode {
  slot: KeySlot | null;
  children: ShapeNode[];
  seen: number;
  build: ((values: string[]) => Record<string, string>) | null;
}

const SHAPE_COMPILE_AFTER = 16;
const SHAPE_NODES_MAX = 1024;
const SHAPE_KEYS_MAX = 32;
const SHAPE_ROOT: ShapeNode = { slot: null, children: [], seen: 0, build: null };
let shapeNodeCount = 0;

function shapeChild(node: ShapeNode, slot: KeySlot): ShapeNode | null {
  const children = node.children;
  for (let i = 0; i < children.length; i++) if (children[i].slot === slot) return children[i];
  if (shapeNodeCount >= SHAPE_NODES_MAX) return null;
  shapeNodeCount++;
  const child: ShapeNode = { slot, children: [], seen: 0, build: null };
  children.push(child);
  return child;
}

/**
 * `(v) => ({ "a": v[0], "b": v[1], … })` for these keys. The keys are at most two bytes, so
 * none can be "__proto__"; JSON.stringify makes each a valid string literal. A repeated key
 * keeps its last value, as assignment does.
 */
function compileShape(keys: readonly string[]): (values: string[]) => Record<string, string> {
  const fields = keys.map((key, i) => `${JSON.stringify(key)}: v[${i}]`).join(', ');
  return new Function('v', `return { ${fields} };`) as (values: string[]) => Record<string, string>;
}

// Scratch for one decode (decoding is synchronous, never re-entered).
const scratchKeys: string[] = [];
const scratchValues: string[] = [];

function truncated(): never {
  throw new FrameError('BAD_HEADER', 'the binary header is truncated');
}

/**
 * Decodes the binary header in bytes[start, end) (default: all of `bytes`). With `rawExtFields`
 * the extFields entries are checked but not decoded: the command carries their bytes in
 * `rawExtFields` instead (a receiver that reads its fields straight from the bytes asked for it).
 */
export function decodeBinaryHeader(bytes: Buffer, start = 0, end = bytes.length, rawExtFields = false): CommandHeader {
  if (end - start < 17) truncated();
  const code = readInt16(bytes, start);
  const language = languageName((bytes[start + 2] << 24) >> 24);
  const version = readInt16(bytes, start + 3);
  const opaque = readInt32(bytes, start + 5);
  const flag = readInt32(bytes, start + 9);
  const remarkLength = readInt32(bytes, start + 13);
  let p = start + 17;
  if (remarkLength < 0) throw new FrameError('BAD_HEADER', 'negative remark length');
  if (p + remarkLength + 4 > end) truncated();
  const remark = remarkLength > 0 ? utf8Slice(bytes, p, p + remarkLength) : undefined;
  p += remarkLength;
  const extLength = readInt32(bytes, p);
  p += 4;
  if (extLength < 0) throw new FrameError('BAD_HEADER', 'negative extFields length');
  if (p + extLength > end) truncated();
  if (extLength === 0) return { code, language, version, opaque, flag, remark, extFields: undefined };
  if (!rawExtFields) return { code, language, version, opaque, flag, remark, extFields: decodeExtEntries(bytes, p, p + extLength) };
  checkExtEntries(bytes, p, p + extLength);
  return { code, language, version, opaque, flag, remark, extFields: undefined, rawExtFields: { bytes, start: p, end: p + extLength } };
}

/** Throws BAD_HEADER unless bytes[p, end) is a sequence of whole extFields entries. */
function checkExtEntries(bytes: Buffer, p: number, end: number): void {
  while (p < end) {
    if (p + 2 > end) throw new FrameError('BAD_HEADER', 'extFields entry truncated');
    const keyLength = readInt16(bytes, p);
    p += 2;
    if (keyLength < 0 || p + keyLength + 4 > end) throw new FrameError('BAD_HEADER', 'extFields key out of range');
    p += keyLength;
    const valueLength = readInt32(bytes, p);
    p += 4;
    if (valueLength < 0 || p + valueLength > end) throw new FrameError('BAD_HEADER', 'extFields value out of range');
    p += valueLength;
  }
}

/** The extFields entries in bytes[p, extEnd) as a record (a later duplicate key wins, as in Java's HashMap). */
function decodeExtEntries(bytes: Buffer, p: number, extEnd: number): Record<string, string> {
  let extFields: Record<string, string>;
  let shape: ShapeNode | null = SHAPE_ROOT;
  let count = 0;
  while (p < extEnd) {
    if (p + 2 > extEnd) throw new FrameError('BAD_HEADER', 'extFields entry truncated');
    const keyLength = readInt16(bytes, p);
    p += 2;
    if (keyLength < 0 || p + keyLength + 4 > extEnd) throw new FrameError('BAD_HEADER', 'extFields key out of range');
    const slot = keyLength <= 2 ? shortKeySlot(bytes, p, keyLength) : utf8Slice(bytes, p, p + keyLength);
    p += keyLength;
    const valueLength = readInt32(bytes, p);
    p += 4;
    if (valueLength < 0 || p + valueLength > extEnd) throw new FrameError('BAD_HEADER', 'extFields value out of range');
    if (typeof slot === 'string') {
      scratchKeys[count] = slot;
      scratchValues[count] = valueLength === 0 ? '' : utf8Slice(bytes, p, p + valueLength);
      shape = null;
    } else {
      scratchKeys[count] = slot.key;
      scratchValues[count] = slotValue(slot, bytes, p, valueLength);
      if (shape !== null) shape = count < SHAPE_KEYS_MAX ? shapeChild(shape, slot) : null;
    }
    count++;
    p += valueLength;
  }
  if (shape !== null && shape.build !== null) {
    extFields = shape.build(scratchValues);
  } else {
    extFields = {};
    for (let i = 0; i < count; i++) extFields[scratchKeys[i]] = scratchValues[i];
    if (shape !== null && ++shape.seen >= SHAPE_COMPILE_AFTER) shape.build = compileShape(scratchKeys.slice(0, count));
  }
  return extFields;
}

/** A command's extFields whether they came decoded or raw (rawExtFields are decoded here, once per call). */
export function extFieldsOf(command: { extFields?: Record<string, string>; rawExtFields?: RawExtFields }): Record<string, string> | undefined {
  const raw = command.rawExtFields;
  return raw ? decodeExtEntries(raw.bytes, raw.start, raw.end) : command.extFields;
}

/** The header bytes of `command` in its own serialize type (a fresh buffer; tests and tools use it). */
export function encodeHeader(command: RemotingCommand): Buffer {
  if (command.serializeType === SerializeType.ROCKETMQ) {
    const out = Buffer.allocUnsafe(binaryHeaderMaxLength(command));
    return out.subarray(0, writeBinaryHeader(command, out, 0));
  }
  return Buffer.from(jsonHeaderText(command), 'utf8');
}

/** Decodes header bytes of the given serialize type; unknown types are a FrameError. */
export function decodeHeader(serializeType: number, bytes: Buffer, start = 0, end = bytes.length): CommandHeader {
  if (serializeType === SerializeType.JSON) return decodeJsonHeader(bytes, start, end);
  if (serializeType === SerializeType.ROCKETMQ) return decodeBinaryHeader(bytes, start, end);
  throw new FrameError('BAD_SERIALIZE_TYPE', `unknown serialize type ${serializeType} (0 = JSON, 1 = ROCKETMQ)`);
}

export function isSerializeType(value: number): value is SerializeTypeValue {
  return value === SerializeType.JSON || value === SerializeType.ROCKETMQ;
}
