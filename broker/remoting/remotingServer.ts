// RemotingServer: accepts connections on one or more ports, dispatches requests by code to
// processors and answers in the request's serialize type with the request's opaque.
// Unknown codes get REQUEST_CODE_NOT_SUPPORTED, a throwing processor SYSTEM_ERROR; oneway
// requests get no answer. A malformed frame closes only its own connection.
import net from 'node:net';
import { FlushbenchError } from '../errors.js';
import { childLogger } from '../logger.js';
import { ResponseCode } from './codes.js';
import { RemotingConnection } from './connection.js';
import { createResponse, isOneway, type RemotingCommand } from './remotingCommand.js';

const log = childLogger('remoting-server');

/** A processor answers now, later (Promise), or never (null: it answers through connection.send). */
export type Processor = (request: RemotingCommand, connection: RemotingConnection) => Promise<RemotingCommand | null> | RemotingCommand | null;

export class RemotingServer {
  private readonly processors = new Map<number, Processor>();
  private readonly servers: net.Server[] = [];
  private readonly connections = new Set<RemotingConnection>();
  private readonly connectionListeners: Array<(connection: RemotingConnection) => void> = [];

  registerProcessor(code: number, processor: Processor): void {
    this.processors.set(code, processor);
  }

  onConnection(listener: (connection: RemotingConnection) => void): void {
    this.connectionListeners.push(listener);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Listens on host:port (0 = any free port); may be called for several ports. Resolves with the port. */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = net.createServer((socket) => this.accept(socket));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(new FlushbenchError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${error.code ?? error.message}; is another broker or name server using it?`));
      });
      server.listen(port, host, () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  private accept(socket: net.Socket): void {
    const connection = new RemotingConnection(socket, (request, conn) => this.dispatch(request, conn));
    this.connections.add(connection);
    connection.onClose(() => this.connections.delete(connection));
    for (const listener of this.connectionListeners) listener(connection);
  }

  private dispatch(request: RemotingCommand, connection: RemotingConnection): void {
    const processor = this.processors.get(request.code);
    const oneway = isOneway(request);
    const answer = (response: RemotingCommand | null) => {
      if (response && !oneway) connection.send(response);
    };
    if (!processor) {
      answer(createResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${request.code} not supported`));
      return;
    }
    const fail = (error: unknown) => {
      log.warn({ code: request.code, err: (error as Error)?.message ?? String(error) }, 'processor failed');
      answer(createResponse(request, ResponseCode.SYSTEM_ERROR, (error as Error)?.message ?? String(error)));
    };
    try {
      const result = processor(request, connection);
      if (result instanceof Promise) result.then(answer, fail);
      else answer(result);
    } catch (error) {
      fail(error);
    }
  }

  /** Stops accepting new connections; existing ones keep working. */
  stopAccepting(): void {
    for (const server of this.servers) server.close();
  }

  async close(): Promise<void> {
    this.stopAccepting();
    for (const connection of this.connections) connection.close('server shutting down');
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))));
  }
}
