// RemotingCommand: the unit of every request and response on RocketMQ's remoting protocol.
import { SerializeType, type SerializeTypeValue } from './codes.js';

export const FLAG_RESPONSE = 1;
export const FLAG_ONEWAY = 2;
/** MQVersion.CURRENT_VERSION of the Java client 4.9.4 (enum ordinal); ≥ 401 asks for standard JSON. */
export const CLIENT_VERSION_4_9_4 = 401;

export interface RemotingCommand {
  code: number;
  /** LanguageCode name, e.g. "JAVA". */
  language: string;
  version: number;
  opaque: number;
  flag: number;
  remark?: string;
  extFields?: Record<string, string>;
  /**
   * A received binary header's extFields left undecoded (extFields is then unset): set only for
   * request codes whose processor reads its fields straight from the bytes (see extFieldsOf).
   */
  rawExtFields?: RawExtFields;
  /** extFields that write themselves into a binary header (binary encoders prefer it to extFields). */
  directExtFields?: DirectExtFields;
  body?: Buffer;
  serializeType: SerializeTypeValue;
}

/** extFields entries (int16 key length, key, int32 value length, value …) in bytes[start, end), checked whole. */
export interface RawExtFields {
  bytes: Buffer;
  start: number;
  end: number;
}

/**
 * extFields that write their entries straight into a ROCKETMQ binary header, so a hot answer
 * (one per SEND) builds no record and no value strings. The command's `extFields` must return
 * the same entries in the same order (JSON headers and readers use it).
 */
export interface DirectExtFields {
  /** An upper bound of the bytes writeBinary adds. */
  readonly maxBinaryBytes: number;
  /** Writes the entries (int16 key length, key, int32 value length, value …) at `at`; returns the end. */
  writeBinary(out: Buffer, at: number): number;
}

let lastOpaque = 0;

/** The process-wide request id counter (RemotingCommand.requestId): 1, 2, … wrapping within int32. */
export function nextOpaque(): number {
  lastOpaque = (lastOpaque + 1) & 0x7fffffff;
  return lastOpaque;
}

/** A request from this process: language JAVA, version 401 (4.9.4, so name servers answer standard JSON), a fresh opaque. */
export function createRequest(code: number, extFields?: Record<string, string>, body?: Buffer, serializeType: SerializeTypeValue = SerializeType.JSON): RemotingCommand {
  return { code, language: 'JAVA', version: CLIENT_VERSION_4_9_4, opaque: nextOpaque(), flag: 0, extFields, body, serializeType };
}

/** A response to `request`: same opaque and serialize type, response flag set. */
export function createResponse(request: RemotingCommand, code: number, remark?: string, extFields?: Record<string, string>, body?: Buffer): RemotingCommand {
  return { code, language: 'JAVA', version: request.version, opaque: request.opaque, flag: FLAG_RESPONSE, remark, extFields, body, serializeType: request.serializeType };
}

export function isResponse(command: RemotingCommand): boolean {
  return (command.flag & FLAG_RESPONSE) !== 0;
}

export function isOneway(command: RemotingCommand): boolean {
  return (command.flag & FLAG_ONEWAY) !== 0;
}

export function markOneway(command: RemotingCommand): RemotingCommand {
  command.flag |= FLAG_ONEWAY;
  return command;
}
