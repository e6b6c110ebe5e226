// RemotingServer: accepts connections on one or more ports, dispatches requests by code to
// processors and answers in the request's serialize type with the request's opaque
// (NettyRemotingAbstract.processRequestCommand). Unknown codes get REQUEST_CODE_NOT_SUPPORTED,
// a throwing processor SYSTEM_ERROR; oneway requests get no answer. A malformed frame closes
// only its own connection. Answers go out in per-tick batches (see connection.ts).
import net from 'node:net';
import { FlushbenchError } from './errors.js';
import { childLogger } from './logger.js';
import { ResponseCode } from './codes.js';
import { RemotingConnection, WRITE_HIGH_WATER_BYTES } from './connection.js';
import { createResponse, FLAG_RESPONSE, isOneway, type RemotingCommand } from './remotingCommand.js';

const log = childLogger('remoting-server');

/**
 * A processor answers now, later (Promise), or never (null: it answers through
 * connection.send, e.g. a held long-polling pull).
 */
export type Processor = (request: RemotingCommand, connection: RemotingConnection) => Promise<RemotingCommand | null> | RemotingCommand | null;

export interface RemotingServerOptions {
  /** Stop reading a connection while more than this many bytes of answers wait in its socket (default 8 MiB). */
  writeHighWaterBytes?: number;
  /** Name used in logs, e.g. "broker" or "namesrv". */
  name?: string;
}

/** RocketMQ's remark for an unknown request code (NettyRemotingAbstract). */
export function notSupportedRemark(code: number): string {
  return ` request type ${code} not supported`;
}

export class RemotingServer {
  private readonly processors = new Map<number, Processor>();
  /** Codes registered with rawExtFields (shared with every connection's decoder). */
  private readonly rawExtFieldsCodes = new Set<number>();
  private defaultProcessor: Processor | null = null;
  private readonly servers: net.Server[] = [];
  private readonly liveConnections = new Set<RemotingConnection>();
  private readonly connectionListeners: Array<(connection: RemotingConnection) => void> = [];
  private readonly log: typeof log;

  constructor(private readonly options: RemotingServerOptions = {}) {
    this.log = options.name ? log.child({ server: options.name }) : log;
  }

  /**
   * Handles requests with this code; a later registration for the same code replaces the earlier.
   * `rawExtFields`: binary requests reach the processor with RemotingCommand.rawExtFields instead
   * of extFields (it reads its fields from the bytes; JSON requests still come decoded).
   */
  registerProcessor(code: number, processor: Processor, options: { rawExtFields?: boolean } = {}): void {
    this.processors.set(code, processor);
    if (options.rawExtFields) this.rawExtFieldsCodes.add(code);
    else this.rawExtFieldsCodes.delete(code);
  }

  /** Handles every code without its own processor (instead of REQUEST_CODE_NOT_SUPPORTED). */
  registerDefaultProcessor(processor: Processor): void {
    this.defaultProcessor = processor;
  }

  /** Called for every accepted connection, before its first request is dispatched. */
  onConnection(listener: (connection: RemotingConnection) => void): void {
    this.connectionListeners.push(listener);
  }

  get connectionCount(): number {
    return this.liveConnections.size;
  }

  /** The open connections (a snapshot). */
  get connections(): RemotingConnection[] {
    return [...this.liveConnections];
  }

  /** The ports this server listens on, in the order listen() was called. */
  get ports(): number[] {
    return this.servers.map((server) => server.address()).filter((a): a is net.AddressInfo => typeof a === 'object' && a !== null).map((a) => a.port);
  }

  /** Listens on host:port (0 = any free port); may be called for several ports. Resolves with the bound port. */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = net.createServer((socket) => this.accept(socket));
    return new Promise((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(new FlushbenchError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${error.code ?? error.message}; is another broker or name server using it?`));
      });
      server.listen(port, host, () => {
        this.servers.push(server);
        server.on('error', (error) => this.log.error({ err: error.message }, 'listening socket error'));
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  private accept(socket: net.Socket): void {
    const connection = new RemotingConnection(socket, (request, conn) => this.dispatch(request, conn), {
      writeHighWaterBytes: this.options.writeHighWaterBytes ?? WRITE_HIGH_WATER_BYTES, rawExtFieldsCodes: this.rawExtFieldsCodes,
    });
    this.liveConnections.add(connection);
    connection.onClose((reason) => {
      this.liveConnections.delete(connection);
      this.log.debug({ connection: connection.id, peer: connection.remote, reason }, 'connection closed');
    });
    for (const listener of this.connectionListeners) listener(connection);
  }

  private dispatch(request: RemotingCommand, connection: RemotingConnection): void {
    const processor = this.processors.get(request.code) ?? this.defaultProcessor;
    if (!processor) {
      this.log.warn({ code: request.code, peer: connection.remote }, 'request code not supported');
      this.answer(request, connection, createResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, notSupportedRemark(request.code)));
      return;
    }
    try {
      const result = processor(request, connection);
      if (result instanceof Promise) {
        // One reaction per answer: both handlers catch their own errors (a .catch would add a second).
        result.then((response) => this.answerSettled(request, connection, response, false), (error: unknown) => this.answerSettled(request, connection, null, true, error));
      } else {
        this.answer(request, connection, result);
      }
    } catch (error) {
      this.fail(request, connection, error);
    }
  }

  /** Sends `response` unless the request was oneway; opaque, response flag and serialize type always follow the request. */
  private answer(request: RemotingCommand, connection: RemotingConnection, response: RemotingCommand | null): void {
    if (!response || isOneway(request)) return;
    response.opaque = request.opaque;
    response.flag |= FLAG_RESPONSE;
    response.serializeType = request.serializeType;
    connection.send(response);
  }

  /** Answers a settled processor promise: with its response, or SYSTEM_ERROR when it rejected. Never throws. */
  private answerSettled(request: RemotingCommand, connection: RemotingConnection, response: RemotingCommand | null, rejected: boolean, error?: unknown): void {
    try {
      if (rejected) this.fail(request, connection, error);
      else this.answer(request, connection, response);
    } catch (sendError) {
      this.log.error({ code: request.code, peer: connection.remote, err: String(sendError) }, 'cannot send the answer');
    }
  }

  private fail(request: RemotingCommand, connection: RemotingConnection, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.log.warn({ code: request.code, peer: connection.remote, err: message }, 'processor failed');
    this.answer(request, connection, createResponse(request, ResponseCode.SYSTEM_ERROR, message));
  }

  /** Stops accepting new connections; existing ones keep working. */
  stopAccepting(): void {
    for (const server of this.servers) if (server.listening) server.close();
  }

  /** Stops accepting, closes every connection (flushing answers already queued) and resolves when the ports are released. */
  async close(): Promise<void> {
    const closing = this.servers.splice(0).map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
    for (const connection of this.liveConnections) connection.close('server shutting down');
    await Promise.all(closing);
  }
}
