// RemotingClient: requests to one address over one lazily (re)connected connection.
// A failed or closed connection is replaced on the next invoke.
import net from 'node:net';
import { FlushbenchError } from '../errors.js';
import { ResponseCode, SerializeType, type SerializeTypeValue } from './codes.js';
import { RemotingConnection } from './connection.js';
import { createResponse, isOneway, type RemotingCommand } from './remotingCommand.js';

export interface RemotingClientOptions {
  connectTimeoutMs?: number;
  serializeType?: SerializeTypeValue;
  /** Server-initiated requests (e.g. NOTIFY_CONSUMER_IDS_CHANGED); unanswered codes get REQUEST_CODE_NOT_SUPPORTED. */
  onRequest?: (request: RemotingCommand) => RemotingCommand | null;
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
  readonly serializeType: SerializeTypeValue;

  constructor(readonly address: string, private readonly options: RemotingClientOptions = {}) {
    parseAddress(address);
    this.serializeType = options.serializeType ?? SerializeType.JSON;
  }

  private connect(): Promise<RemotingConnection> {
    if (this.connection && !this.connection.isClosed) return Promise.resolve(this.connection);
    if (this.connecting) return this.connecting;
    const { host, port } = parseAddress(this.address);
    const timeoutMs = this.options.connectTimeoutMs ?? 3000;
    this.connecting = new Promise<RemotingConnection>((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new FlushbenchError('CONNECT_TIMEOUT', `cannot connect to ${this.address} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new FlushbenchError('CONNECTION_ERROR', `cannot connect to ${this.address}: ${error.code ?? error.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        const connection = new RemotingConnection(socket, (request, conn) => this.answerServerRequest(request, conn), this.options.liteResponses ?? false);
        this.connection = connection;
        resolve(connection);
      });
    }).finally(() => (this.connecting = null));
    return this.connecting;
  }

  private answerServerRequest(request: RemotingCommand, connection: RemotingConnection): void {
    const response = this.options.onRequest?.(request) ?? createResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${request.code} not supported`);
    if (!isOneway(request) && response) connection.send(response);
  }

  async invoke(request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    request.serializeType = this.serializeType;
    const connection = this.connection && !this.connection.isClosed ? this.connection : await this.connect();
    return connection.invoke(request, timeoutMs);
  }

  /** Sends a frame the caller encoded (with `opaque` inside) and waits for its response. */
  async invokeEncoded(frame: Buffer, opaque: number, timeoutMs: number): Promise<RemotingCommand> {
    const connection = this.connection && !this.connection.isClosed ? this.connection : await this.connect();
    return connection.invokeEncoded(frame, opaque, timeoutMs);
  }

  async invokeOneway(request: RemotingCommand): Promise<void> {
    request.serializeType = this.serializeType;
    const connection = this.connection && !this.connection.isClosed ? this.connection : await this.connect();
    connection.sendOneway(request);
  }

  get isConnected(): boolean {
    return this.connection !== null && !this.connection.isClosed;
  }

  close(): void {
    this.connection?.close('client closed');
    this.connection = null;
  }
}
