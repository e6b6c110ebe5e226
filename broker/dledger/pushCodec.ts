// PushEntryRequest bodies (DLedger's JSON, entry bodies base64 as fastjson writes a byte[])
// written and read without building one object per entry. The writer emits exactly what
// JSON.stringify made of the request object before (same keys, same order); the reader takes
// that shape straight from the bytes and leaves anything else (escapes, whitespace, other key
// sets or orders, floats) to JSON.parse, so both read every body the same way.
import { ENTRY_HEADER_BYTES, type EntryHeader, writeEntryHeader } from './entryCodec.js';
import { type EntryJson, entryFromJson, type PushEntryRequest, type PushType } from './rpc.js';
import { readInt64 } from '../store/messageCodec.js';

/** The request fields around the entries (RequestOrResponse + PushEntryRequest). */
export interface PushHead {
  group: string;
  remoteId: string;
  localId: string;
  code: number;
  leaderId: string | null;
  term: number;
  type: PushType;
  commitIndex: number;
}

/** An entry of a received push: the fields the follower compares, the stored bytes on demand. */
export interface WireEntry {
  index: number;
  term: number;
  pos: number;
  /** Header (fields as sent) + decoded body, as entryFromJson builds it; throws as it does. */
  toBytes(): Buffer;
}

export interface PushIn extends PushHead {
  entries: WireEntry[];
}

/** `{"magic":…,"body":"…"}` of each stored entry (header + body), comma-separated, no brackets. */
export function encodeEntries(entries: readonly Buffer[]): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const bytes = entries[i];
    const size = bytes.readInt32BE(4);
    parts.push(`${i > 0 ? ',' : ''}{"magic":${bytes.readInt32BE(0)},"size":${size},"index":${readInt64(bytes, 8)},"term":${readInt64(bytes, 16)},"pos":${readInt64(bytes, 24)},"channel":${bytes.readInt32BE(32)},"chainCrc":${bytes.readInt32BE(36)},"bodyCrc":${bytes.readInt32BE(40)},"body":"`, bytes.toString('base64', ENTRY_HEADER_BYTES, size), '"}');
  }
  return Buffer.from(parts.join(''), 'latin1');
}

/**
 * The request body: one entry goes in `entry`, several in `batchEntry` (what the pusher sent as
 * JSON before). `encoded` is encodeEntries(entries), shareable between followers.
 */
export function encodePushRequest(head: PushHead, entries: readonly Buffer[], encoded: Buffer = encodeEntries(entries)): Buffer {
  let totalSize = 0;
  for (const bytes of entries) totalSize += bytes.readInt32BE(4);
  const start = `{"group":${JSON.stringify(head.group)},"remoteId":${JSON.stringify(head.remoteId)},"localId":${JSON.stringify(head.localId)},"code":${head.code},"leaderId":${JSON.stringify(head.leaderId)},"term":${head.term},"type":${JSON.stringify(head.type)},"commitIndex":${head.commitIndex},`;
  const open = entries.length === 1 ? '"entry":' : '"entry":null,"batchEntry":[';
  const close = entries.length === 1 ? `,"batchEntry":[],"totalSize":${totalSize}}` : `],"totalSize":${totalSize}}`;
  return Buffer.concat([Buffer.from(start + open, 'utf8'), encoded, Buffer.from(close, 'latin1')]);
}

/** What the generic path (JSON.parse) makes of a request. */
export function pushInFromJson(request: PushEntryRequest): PushIn {
  const jsons: EntryJson[] = request.entry ? [request.entry] : request.batchEntry ?? [];
  return {
    group: request.group, remoteId: request.remoteId, localId: request.localId, code: request.code, leaderId: request.leaderId, term: request.term,
    type: request.type, commitIndex: request.commitIndex,
    entries: jsons.map((json) => ({ index: json.index, term: json.term, pos: json.pos, toBytes: () => entryFromJson(json).bytes })),
  };
}

/** Reads a PUSH body: the fast path for the shape encodePushRequest writes, JSON.parse for any other (it throws on bad JSON). */
export function decodePushRequest(body: Buffer): PushIn {
  return new Reader(body).request() ?? pushInFromJson(JSON.parse(body.toString('utf8')) as PushEntryRequest);
}

const QUOTE = 0x22;
const ENTRY_KEYS = ['magic', 'size', 'index', 'term', 'pos', 'channel', 'chainCrc', 'bodyCrc'] as const;

/** Strict reader of encodePushRequest's output; any surprise returns null (JSON.parse then decides). */
class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}

  private lit(text: string): boolean {
    for (let i = 0; i < text.length; i++) if (this.buf[this.at + i] !== text.charCodeAt(i)) return false;
    this.at += text.length;
    return true;
  }

  /** A string of printable ASCII without escapes: what JSON.parse reads it as. */
  private str(): string | null {
    if (this.buf[this.at] !== QUOTE) return null;
    const from = ++this.at;
    for (;;) {
      const c = this.buf[this.at];
      if (c === undefined || c < 0x20 || c > 0x7e || c === 0x5c) return null;
      if (c === QUOTE) break;
      this.at++;
    }
    return this.buf.toString('latin1', from, this.at++);
  }

  private strOrNull(): string | null | undefined {
    if (this.lit('null')) return null;
    return this.str() ?? undefined;
  }

  /** An integer JSON.parse reads exactly (at most 15 digits, no fraction or exponent). */
  private int(): number | null {
    const negative = this.buf[this.at] === 0x2d;
    if (negative) this.at++;
    const from = this.at;
    let value = 0;
    while (this.buf[this.at] >= 0x30 && this.buf[this.at] <= 0x39) value = value * 10 + this.buf[this.at++] - 0x30;
    const digits = this.at - from;
    if (digits === 0 || digits > 15 || (digits > 1 && this.buf[from] === 0x30)) return null;
    const next = this.buf[this.at];
    if (next === 0x2e || next === 0x65 || next === 0x45) return null;
    return negative ? -value : value;
  }

  private entry(): WireEntry | null {
    const fields: number[] = [];
    for (let k = 0; k < ENTRY_KEYS.length; k++) {
      if (!this.lit(`${k === 0 ? '{' : ','}"${ENTRY_KEYS[k]}":`)) return null;
      const value = this.int();
      if (value === null) return null;
      fields.push(value);
    }
    if (!this.lit(',"body":"')) return null;
    const from = this.at;
    while (isBase64(this.buf[this.at])) this.at++;
    let end = this.at;
    while (this.buf[this.at] === 0x3d && this.at - end < 2) this.at++;
    if (!this.lit('"}') || (this.at - 2 - from) % 4 !== 0) return null;
    end = this.at - 2;
    const [magic, , index, term, pos, channel, chainCrc, bodyCrc] = fields;
    const src = this.buf;
    return {
      index, term, pos,
      toBytes: () => {
        const b64 = src.toString('latin1', from, end);
        const bodyBytes = Buffer.byteLength(b64, 'base64');
        const bytes = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + bodyBytes);
        writeEntryHeader(bytes, 0, { magic, index, term, pos, channel, chainCrc, bodyCrc, bodySizeBytes: bodyBytes } satisfies Omit<EntryHeader, 'sizeBytes'>);
        bytes.write(b64, ENTRY_HEADER_BYTES, 'base64');
        return bytes;
      },
    };
  }

  request(): PushIn | null {
    if (!this.lit('{"group":')) return null;
    const group = this.str();
    if (group === null || !this.lit(',"remoteId":')) return null;
    const remoteId = this.str();
    if (remoteId === null || !this.lit(',"localId":')) return null;
    const localId = this.str();
    if (localId === null || !this.lit(',"code":')) return null;
    const code = this.int();
    if (code === null || !this.lit(',"leaderId":')) return null;
    const leaderId = this.strOrNull();
    if (leaderId === undefined || !this.lit(',"term":')) return null;
    const term = this.int();
    if (term === null || !this.lit(',"type":')) return null;
    const type = this.str();
    if (type === null || !this.lit(',"commitIndex":')) return null;
    const commitIndex = this.int();
    if (commitIndex === null || !this.lit(',"entry":')) return null;
    const entries: WireEntry[] = [];
    if (!this.lit('null')) {
      const one = this.entry();
      if (!one || !this.lit(',"batchEntry":[]')) return null;
      entries.push(one);
    } else {
      if (!this.lit(',"batchEntry":[')) return null;
      while (!this.lit(']')) {
        if (entries.length > 0 && !this.lit(',')) return null;
        const next = this.entry();
        if (!next) return null;
        entries.push(next);
      }
    }
    if (!this.lit(',"totalSize":') || this.int() === null || !this.lit('}') || this.at !== this.buf.length) return null;
    return { group, remoteId, localId, code, leaderId, term, type: type as PushType, commitIndex, entries };
  }
}

function isBase64(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f);
}
