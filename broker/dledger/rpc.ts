// DLedger's RPC over RocketMQ remoting (DLedgerRpcNettyService, 0.2.x): a request is a
// RemotingCommand with a DLedgerRequestCode and the request object as a JSON body; the answer
// carries the response object as JSON (its `code` is a DLedgerResponseCode). Entry bodies are
// base64 strings, as fastjson writes a byte[].
import { FlushbenchError } from '../../protocol/errors.js';
import { childLogger } from '../../protocol/logger.js';
import { ResponseCode } from '../../protocol/codes.js';
import { createRequest, createResponse, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { RemotingServer } from '../../protocol/remotingServer.js';
import type { DLedgerPeer } from './dledgerConfig.js';
import { ENTRY_HEADER_BYTES, type EntryHeader, readEntryHeader, writeEntryHeader } from './entryCodec.js';

const log = childLogger('dledger-rpc');

/** DLedgerRequestCode (0.2.x). */
export const DLedgerRequestCode = {
  METADATA: 50000, APPEND: 50001, GET: 50002, VOTE: 51001, HEART_BEAT: 51002, PULL: 51003, PUSH: 51004, LEADERSHIP_TRANSFER: 51005,
} as const;

/** DLedgerResponseCode, the ones this implementation sends or reads. */
export const DLedgerResponseCode = {
  UNKNOWN: -1, SUCCESS: 200, TIMEOUT: 300, NETWORK_ERROR: 302, UNKNOWN_GROUP: 400, UNKNOWN_MEMBER: 401, UNEXPECTED_MEMBER: 402,
  EXPIRED_TERM: 403, NOT_LEADER: 404, NOT_FOLLOWER: 405, INCONSISTENT_STATE: 406, INCONSISTENT_TERM: 407, INCONSISTENT_LEADER: 409,
  TERM_NOT_READY: 416, INTERNAL_ERROR: 500, WAIT_QUORUM_ACK_TIMEOUT: 502, LEADER_NOT_READY: 505,
} as const;

/** RequestOrResponse: the fields every DLedger request and response has. */
export interface RequestOrResponse {
  group: string;
  remoteId: string;
  localId: string;
  code: number;
  leaderId: string | null;
  term: number;
}

export interface VoteRequest extends RequestOrResponse { ledgerEndIndex: number; ledgerEndTerm: number }
export type VoteResult = 'UNKNOWN' | 'ACCEPT' | 'REJECT_UNKNOWN_LEADER' | 'REJECT_UNEXPECTED_LEADER' | 'REJECT_EXPIRED_VOTE_TERM'
  | 'REJECT_ALREADY_VOTED' | 'REJECT_ALREADY_HAS_LEADER' | 'REJECT_TERM_NOT_READY' | 'REJECT_TERM_SMALL_THAN_LEDGER'
  | 'REJECT_EXPIRED_LEDGER_TERM' | 'REJECT_SMALL_LEDGER_END_INDEX' | 'REJECT_TAKING_LEADERSHIP';
export interface VoteResponse extends RequestOrResponse { voteResult: VoteResult }

/** DLedgerEntry as fastjson writes it. */
export interface EntryJson {
  magic: number; size: number; index: number; term: number; pos: number; channel: number; chainCrc: number; bodyCrc: number; body: string;
}
export type PushType = 'APPEND' | 'COMMIT' | 'COMPARE' | 'TRUNCATE';
export interface PushEntryRequest extends RequestOrResponse {
  commitIndex: number;
  type: PushType;
  entry: EntryJson | null;
  batchEntry: EntryJson[];
  totalSize: number;
}
export interface PushEntryResponse extends RequestOrResponse { index: number | null; beginIndex: number; endIndex: number; count: number }

export function entryToJson(bytes: Buffer): EntryJson {
  const h = readEntryHeader(bytes, 0);
  return {
    magic: h.magic, size: h.sizeBytes, index: h.index, term: h.term, pos: h.pos, channel: h.channel, chainCrc: h.chainCrc, bodyCrc: h.bodyCrc,
    body: bytes.subarray(ENTRY_HEADER_BYTES, h.sizeBytes).toString('base64'),
  };
}

/** Rebuilds the stored bytes of an entry from its JSON (header fields are kept as sent; the store checks them). */
export function entryFromJson(json: EntryJson): { header: EntryHeader; bytes: Buffer } {
  const bytes = entryBytesFromJson(json);
  return { header: readEntryHeader(bytes, 0), bytes };
}

/** entryFromJson's bytes alone. */
export function entryBytesFromJson(json: EntryJson): Buffer {
  const body = Buffer.from(json.body ?? '', 'base64');
  const bytes = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + body.length);
  writeEntryHeader(bytes, 0, {
    magic: json.magic, index: json.index, term: json.term, pos: json.pos, channel: json.channel ?? 0, chainCrc: json.chainCrc, bodyCrc: json.bodyCrc,
    bodySizeBytes: body.length,
  });
  body.copy(bytes, ENTRY_HEADER_BYTES);
  return bytes;
}

export type DLedgerHandler = (request: RequestOrResponse & Record<string, unknown>) => Promise<RequestOrResponse> | RequestOrResponse;

/**
 * One member's RPC endpoint: a remoting server on its dLegerPeers port and a client per peer.
 * `isolated` is the test switch for a network partition: nothing goes out, nothing is answered.
 */
export class DLedgerRpc {
  isolated = false;
  private readonly server = new RemotingServer();
  private readonly clients = new Map<string, RemotingClient>();

  constructor(private readonly peers: readonly DLedgerPeer[], private readonly selfId: string) {
    for (const peer of peers) if (peer.id !== selfId) this.clients.set(peer.id, new RemotingClient(peer.address, { connectTimeoutMs: 1000 }));
  }

  register(code: number, handler: DLedgerHandler): void {
    this.registerRaw(code, (body) => handler(JSON.parse(body?.toString('utf8') ?? '{}')));
  }

  /** A handler that reads the JSON body itself; a SyntaxError it throws answers SYSTEM_ERROR as for register. */
  registerRaw(code: number, handler: (body: Buffer | undefined) => Promise<RequestOrResponse> | RequestOrResponse): void {
    this.server.registerProcessor(code, async (request: RemotingCommand) => {
      if (this.isolated) return null;
      let answer: RequestOrResponse;
      try {
        answer = await handler(request.body);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        return createResponse(request, ResponseCode.SYSTEM_ERROR, `DLedger request body is not JSON: ${String(error)}`);
      }
      if (this.isolated) return null;
      return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(JSON.stringify(answer)));
    });
  }

  async listen(host: string): Promise<number> {
    const self = this.peers.find((p) => p.id === this.selfId);
    if (!self) throw new FlushbenchError('BAD_CONFIG', `dLegerSelfId ${this.selfId} is not in dLegerPeers`);
    const port = Number(self.address.slice(self.address.lastIndexOf(':') + 1));
    return this.server.listen(port, host);
  }

  /** Sends a DLedger request; rejects on timeout, a closed connection, or while isolated. */
  async invoke<T extends RequestOrResponse>(peerId: string, code: number, request: RequestOrResponse, timeoutMs: number): Promise<T> {
    return this.invokeRaw<T>(peerId, code, Buffer.from(JSON.stringify(request)), timeoutMs);
  }

  /** invoke with the request's JSON body already encoded. */
  async invokeRaw<T extends RequestOrResponse>(peerId: string, code: number, body: Buffer, timeoutMs: number): Promise<T> {
    const client = this.clients.get(peerId);
    if (!client) throw new FlushbenchError('DLEDGER_UNKNOWN_MEMBER', `no DLedger peer ${peerId}`);
    if (this.isolated) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(timeoutMs, 50)));
      throw new FlushbenchError('TIMEOUT', `isolated: ${peerId} not reached`);
    }
    const response = await client.invoke(createRequest(code, undefined, body), timeoutMs);
    // Apache DLedger (DLedgerRpcNettyService.handleResponse) answers with remoting code 200, we with 0.
    if ((response.code !== ResponseCode.SUCCESS && response.code !== DLedgerResponseCode.SUCCESS) || !response.body) {
      throw new FlushbenchError('DLEDGER_RPC_FAILED', `${peerId} answered remoting code ${response.code}: ${response.remark ?? ''}`);
    }
    return JSON.parse(response.body.toString('utf8')) as T;
  }

  async close(): Promise<void> {
    for (const client of this.clients.values()) client.close();
    this.server.stopAccepting();
    await this.server.close().catch((error: unknown) => log.warn({ err: String(error) }, 'closing the DLedger RPC server failed'));
  }
}
