// RemotingClient: requests to one address over one lazily (re)connected connection.
// A failed or closed connection is replaced on the next invoke; requests pending on it are
// rejected with CONNECTION_CLOSED. Writes are batched per tick by the connection.
import net from 'node:net';
import { FlushbenchError } from './errors.js';
import { childLogger } from './logger.js';
import { ResponseCode, SerializeType, type SerializeTypeValue } from './codes.js';
import { RemotingConnection } from './connection.js';
import { createResponse, FLAG_RESPONSE, isOneway, type RemotingCommand } from './remotingCommand.js';
import { notSupportedRemark } from './remotingServer.js';

const log = childLogger('remoting-client');

export interface RemotingClientOptions {
  connectTimeoutMs?: number;
  /** Header format of requests: JSON (default, like the Java client) or ROCKETMQ (the 4.9.4+ benchmark). */
  serializeType?: SerializeTypeValue;
  /**
   * Server-initiated requests (e.g. NOTIFY_CONSUMER_IDS_CHANGED, GET_CONSUMER_RUNNING_INFO).
   * Returning null sends nothing; without a handler the answer is REQUEST_CODE_NOT_SUPPORTED.
   */
  onRequest?: (request: RemotingCommand, connection: RemotingConnection) => Promise<RemotingCommand | null> | RemotingCommand | null;
  /** Decode only code/opaque/flag of responses (load generator fast path). */
  liteResponses?: boolean;
}

export function parseAddress(address: string): { host: string; port: number } {
  const cut = address.lastIndexOf(':');
  const port = Number(address.slice(cut + 1));
  if (cut <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new FlushbenchError('BAD_ADDRESS', `"${address}" is not host:port`);
  }
  return { host: address.slice(0, cut).replace(/^\[|\]$/g, ''), port };
}

export class RemotingClient {
  private connection: RemotingConnection | null = null;
  private connecting: Promise<RemotingConnection> | null = null;
  private readonly host: string;
  private readonly port: number;
  readonly serializeType: SerializeTypeValue;

  constructor(readonly address: string, private readonly options: RemotingClientOptions = {}) {
    ({ host: this.host, port: this.port } = parseAddress(address));
    this.serializeType = options.serializeType ?? SerializeType.JSON;
  }

  /** The open connection, or null before the first invoke and after a failure. */
  get currentConnection(): RemotingConnection | null {
    return this.connection && !this.connection.isClosed ? this.connection : null;
  }

  get isConnected(): boolean {
    return this.currentConnection !== null;
  }

  /** Connects now (invoke does it on demand); resolves with the open connection. */
  connect(): Promise<RemotingConnection> {
    const open = this.currentConnection;
    if (open) return Promise.resolve(open);
    if (this.connecting) return this.connecting;
    const timeoutMs = this.options.connectTimeoutMs ?? 3000;
    this.connecting = new Promise<RemotingConnection>((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new FlushbenchError('CONNECT_TIMEOUT', `cannot connect to ${this.address} within ${timeoutMs} ms; is the broker or name server running?`));
      }, timeoutMs);
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new FlushbenchError('CONNECTION_ERROR', `cannot connect to ${this.address}: ${error.code ?? error.message}; is the broker or name server running?`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        const connection = new RemotingConnection(socket, (request, conn) => this.answerServerRequest(request, conn), {
          liteResponses: this.options.liteResponses,
        });
        this.connection = connection;
        resolve(connection);
      });
    }).finally(() => (this.connecting = null));
    return this.connecting;
  }

  private answerServerRequest(request: RemotingCommand, connection: RemotingConnection): void {
    const send = (response: RemotingCommand | null) => {
      if (!response || isOneway(request)) return;
      response.opaque = request.opaque;
      response.flag |= FLAG_RESPONSE;
      response.serializeType = request.serializeType;
      connection.send(response);
    };
    const fail = (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      log.warn({ code: request.code, peer: connection.remote, err: message }, 'handler for a server request failed');
      send(createResponse(request, ResponseCode.SYSTEM_ERROR, message));
    };
    const handler = this.options.onRequest;
    if (!handler) {
      send(createResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, notSupportedRemark(request.code)));
      return;
    }
    try {
      const result = handler(request, connection);
      if (result instanceof Promise) result.then(send, fail);
      else send(result);
    } catch (error) {
      fail(error);
    }
  }

  /**
   * Sends a request (in this client's serialize type) and resolves with its response; rejects
   * with FlushbenchError code TIMEOUT after timeoutMs, CONNECTION_CLOSED if the connection
   * drops first, CONNECTION_ERROR / CONNECT_TIMEOUT if it cannot be opened.
   */
  invoke(request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    request.serializeType = this.serializeType;
    const open = this.currentConnection;
    if (open) return open.invoke(request, timeoutMs);
    return this.connect().then((connection) => connection.invoke(request, timeoutMs));
  }

  /** Sends a frame the caller encoded (with `opaque` inside) and waits for its response. */
  invokeEncoded(frame: Buffer, opaque: number, timeoutMs: number): Promise<RemotingCommand> {
    const open = this.currentConnection;
    if (open) return open.invokeEncoded(frame, opaque, timeoutMs);
    return this.connect().then((connection) => connection.invokeEncoded(frame, opaque, timeoutMs));
  }

  /** Sends a request with the oneway flag; resolves once it is queued (nothing comes back). */
  async invokeOneway(request: RemotingCommand): Promise<void> {
    request.serializeType = this.serializeType;
    (this.currentConnection ?? (await this.connect())).sendOneway(request);
  }

  /** Closes the connection; pending requests reject with CONNECTION_CLOSED. The next invoke reconnects. */
  close(): void {
    this.connection?.close('client closed');
    this.connection = null;
  }
}
