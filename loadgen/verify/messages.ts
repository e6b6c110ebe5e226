// The messages `bench verify` sends: every one carries a unique key (UNIQ_KEY) and a body that
// names its producer and sequence number and ends with a CRC of everything before it, so a
// read-back can tell a lost message from a corrupt one without trusting the broker's own CRC.
import { crc32 } from 'node:zlib';
import { encodeMessageProperties } from '../../protocol/requests/sendMessage.js';

const BODY_MAGIC = 0x46425631; // "FBV1"
/** magic (4) + producer id (4) + sequence (4) + sent at ms (8) … padding … crc32 (4). */
export const VERIFY_BODY_BYTES_MIN = 24;

export interface VerifyMessageId {
  producerId: number;
  sequence: number;
}

/** UNIQ_KEY of a message: run id, producer, sequence — readable in a broker log, unique per run. */
export function messageKey(runId: string, id: VerifyMessageId): string {
  return `${runId}-${id.producerId}-${id.sequence}`;
}

export function messageProperties(key: string): string {
  return encodeMessageProperties({ UNIQ_KEY: key, WAIT: 'true' });
}

/** A body of `sizeBytes` (≥ 24): header, a pattern derived from the id, CRC32 of the rest. */
export function encodeVerifyBody(id: VerifyMessageId, sentAtMs: number, sizeBytes: number): Buffer {
  const size = Math.max(VERIFY_BODY_BYTES_MIN, Math.floor(sizeBytes));
  const body = Buffer.alloc(size);
  body.writeUInt32BE(BODY_MAGIC, 0);
  body.writeUInt32BE(id.producerId >>> 0, 4);
  body.writeUInt32BE(id.sequence >>> 0, 8);
  body.writeDoubleBE(sentAtMs, 12);
  // A pattern that differs per message: a record swapped with another is not "intact".
  for (let i = 20; i < size - 4; i++) body[i] = (id.sequence + id.producerId * 31 + i) & 0xff;
  body.writeUInt32BE(crc32(body.subarray(0, size - 4)) >>> 0, size - 4);
  return body;
}

export type DecodedBody = ({ ok: true } & VerifyMessageId & { sentAtMs: number }) | { ok: false; problem: string };

export function decodeVerifyBody(body: Buffer): DecodedBody {
  if (body.length < VERIFY_BODY_BYTES_MIN) return { ok: false, problem: `body of ${body.length} bytes, shorter than ${VERIFY_BODY_BYTES_MIN}` };
  if (body.readUInt32BE(0) !== BODY_MAGIC) return { ok: false, problem: 'body magic missing' };
  const expected = crc32(body.subarray(0, body.length - 4)) >>> 0;
  if (body.readUInt32BE(body.length - 4) !== expected) return { ok: false, problem: 'body CRC does not match' };
  return { ok: true, producerId: body.readUInt32BE(4), sequence: body.readUInt32BE(8), sentAtMs: body.readDoubleBE(12) };
}
