// A SEND_MESSAGE_V2 request encoded once and patched in place for every send: the opaque,
// the born timestamp and the UNIQ_KEY change, nothing else does. This keeps the load
// generator's cost per message far below the broker's, so it measures the broker.
import { RequestCode, SerializeType, type SerializeTypeValue } from '../protocol/codes.js';
import { encodeFrame } from '../protocol/frameCodec.js';
import { CLIENT_VERSION_4_9_4 } from '../protocol/remotingCommand.js';
import { encodeMessageProperties, sendMessageV2Header, sendMessageV2Request } from '../protocol/requests/sendMessage.js';

const TIMESTAMP_MARKER = '9999999999999';
const UNIQ_MARKER = 'Z'.repeat(32);
const OPAQUE_SLOT_CHARS = 11;
const HEX = '0123456789ABCDEF';

let nextOpaque = 1_000_000;

// The born timestamp's 13 digits, remembered for the current millisecond (dozens of sends share it).
let digitsMs = -1;
const digits = Buffer.alloc(TIMESTAMP_MARKER.length);

function timestampDigits(nowMs: number): Buffer {
  if (nowMs !== digitsMs) {
    digits.write(String(nowMs).padStart(TIMESTAMP_MARKER.length, '0'), 0, 'latin1');
    digitsMs = nowMs;
  }
  return digits;
}

export interface TemplateFields {
  producerGroup: string;
  topic: string;
  queueId: number;
}

export class SendTemplate {
  private readonly frame: Buffer;
  private readonly opaqueAt: number;
  private readonly timestampAt: number;
  private readonly uniqAt: number;
  private readonly binary: boolean;

  constructor(fields: TemplateFields, body: Buffer, serializeType: SerializeTypeValue) {
    this.binary = serializeType === SerializeType.ROCKETMQ;
    const sendFields = {
      ...fields, bornTimestamp: TIMESTAMP_MARKER, properties: encodeMessageProperties({ UNIQ_KEY: UNIQ_MARKER, WAIT: 'true' }),
    };
    if (this.binary) {
      const request = sendMessageV2Request(sendFields, body, SerializeType.ROCKETMQ);
      request.opaque = 0;
      this.frame = encodeFrame(request);
      this.opaqueAt = 8 + 5;
    } else {
      // Hand-built so the opaque gets a fixed-width slot (JSON allows the trailing spaces).
      const header = Buffer.from(
        `{"code":${RequestCode.SEND_MESSAGE_V2},"extFields":${JSON.stringify(sendMessageV2Header(sendFields))},"flag":0,"language":"JAVA",` +
          `"opaque":${' '.repeat(OPAQUE_SLOT_CHARS)},"serializeTypeCurrentRPC":"JSON","version":${CLIENT_VERSION_4_9_4}}`,
      );
      this.frame = Buffer.allocUnsafe(8 + header.length + body.length);
      this.frame.writeInt32BE(4 + header.length + body.length, 0);
      this.frame.writeInt32BE(header.length, 4);
      header.copy(this.frame, 8);
      body.copy(this.frame, 8 + header.length);
      this.opaqueAt = this.frame.indexOf('"opaque":') + '"opaque":'.length;
    }
    this.timestampAt = this.frame.indexOf(TIMESTAMP_MARKER);
    this.uniqAt = this.frame.indexOf(UNIQ_MARKER);
    if (this.timestampAt < 0 || this.uniqAt < 0) throw new Error('send template markers not found');
  }

  /** Patches a fresh opaque, timestamp and unique key into `target` (a copy of the template). */
  fill(target: Buffer, uniqueCounter: number): number {
    const opaque = (nextOpaque = (nextOpaque + 1) & 0x7fffffff);
    if (this.binary) {
      target.writeInt32BE(opaque, this.opaqueAt);
    } else {
      const digits = String(opaque);
      target.write(digits, this.opaqueAt, 'latin1');
      target.fill(0x20, this.opaqueAt + digits.length, this.opaqueAt + OPAQUE_SLOT_CHARS);
    }
    target.set(timestampDigits(Date.now()), this.timestampAt);
    let value = uniqueCounter;
    for (let i = 31; i >= 16; i--) {
      target[this.uniqAt + i] = HEX.charCodeAt(value & 15);
      value = Math.floor(value / 16);
    }
    return opaque;
  }

  /** A private copy for one producer to patch and resend. */
  copy(): Buffer {
    const out = Buffer.allocUnsafe(this.frame.length);
    this.frame.copy(out);
    // The first 16 hex digits of UNIQ_KEY identify the producer process, like Java's IP + pid prefix.
    out.write(((process.pid * 2654435761) >>> 0).toString(16).toUpperCase().padStart(8, '0').repeat(2), this.uniqAt, 'latin1');
    return out;
  }
}
