// Optional HTTP side door (metricsPort, off by default):
//   GET  /metrics           Prometheus text (flushBehindBytes, fsyncs, messages per fsync …)
//   GET  /settings          the broker's effective settings as JSON (for reports)
//   POST /produce/<topic>   store the request body as one message; answers the send status
// The produce endpoint lets autocannon load the broker over HTTP for comparison; it writes to
// the store without any client check, so it answers only with httpProduceEnable=true.
import http from 'node:http';
import { childLogger } from '../../protocol/logger.js';
import { encodeSocketAddress, type SocketAddressBytes } from '../store/messageCodec.js';
import type { MessageStore } from '../store/messageStore.js';
import { isStored } from '../store/putStatus.js';
import { type BrokerMetrics, renderPrometheus } from './brokerMetrics.js';
import { topicNameProblem } from './nameValidator.js';
import type { TopicConfigManager } from './topicConfigManager.js';

const log = childLogger('metrics-http');
const MAX_HTTP_BODY_BYTES = 4 * 1024 * 1024;

export interface MetricsHttpDeps {
  store: MessageStore;
  metrics: BrokerMetrics;
  topics: TopicConfigManager;
  labels: Record<string, string>;
  storeHost: SocketAddressBytes;
  brokerClusterName: string;
  effectiveSettings: () => Record<string, string>;
  /** httpProduceEnable: serve POST /produce/<topic>. */
  produceEnabled: boolean;
}

export class MetricsHttpServer {
  private readonly server: http.Server;
  private produceQueue = 0;

  constructor(private readonly deps: MetricsHttpDeps) {
    // A request handler must never reject unseen: a client aborting a POST midway rejects the body read.
    this.server = http.createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => this.failed(request, response, error));
    });
    this.server.keepAliveTimeout = 5000;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = request.url ?? '/';
    if (request.method === 'GET' && url === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end(renderPrometheus(this.deps.metrics, this.deps.store, this.deps.labels));
      return;
    }
    if (request.method === 'GET' && url === '/settings') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(this.deps.effectiveSettings()));
      return;
    }
    const produce = /^\/produce\/(.*)$/.exec(url);
    if (request.method === 'POST' && produce && this.deps.produceEnabled) {
      const topic = produce[1];
      const problem = topicNameProblem(topic);
      if (problem) {
        response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'BAD_TOPIC', problem }));
        return;
      }
      await this.produce(topic, request, response);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end(this.deps.produceEnabled ? 'not found: GET /metrics, GET /settings, POST /produce/<topic>\n'
      : 'not found: GET /metrics, GET /settings (POST /produce/<topic> needs httpProduceEnable=true)\n');
  }

  /** Last stop for a failed request: log it, answer 500 if the client is still there. */
  private failed(request: http.IncomingMessage, response: http.ServerResponse, error: unknown): void {
    const aborted = request.destroyed || (error as NodeJS.ErrnoException | null)?.code === 'ECONNRESET';
    if (aborted) log.debug({ url: request.url, err: String(error) }, 'client went away mid-request');
    else log.warn({ url: request.url, err: String(error) }, 'HTTP request failed');
    if (response.headersSent || response.destroyed) {
      response.destroy();
      return;
    }
    response.writeHead(500, { 'content-type': 'text/plain' }).end(`request failed: ${String(error)}\n`);
  }

  private async produce(topic: string, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_HTTP_BODY_BYTES) {
        response.writeHead(413).end('body too large\n');
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const config = this.deps.topics.get(topic) ?? this.deps.topics.createFromTemplate(topic, 'TBW102', 4);
    if (!config) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'TOPIC_NOT_EXIST' }));
      return;
    }
    const queueId = this.produceQueue++ % config.writeQueueNums;
    const bornHost = encodeSocketAddress(request.socket.remoteAddress ?? '127.0.0.1', request.socket.remotePort ?? 0);
    this.deps.metrics.messagesIn++;
    const result = await this.deps.store.putMessage({
      topic, queueId, flag: 0, body: Buffer.concat(chunks), properties: `CLUSTER\u0001${this.deps.brokerClusterName}`,
      sysFlag: 0, bornTimestamp: Date.now(), bornHost, storeHost: this.deps.storeHost, reconsumeTimes: 0, preparedTransactionOffset: 0,
    });
    this.deps.metrics.recordSendStatus(result.status);
    response.writeHead(isStored(result.status) ? 200 : 503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: result.status, queueId, queueOffset: result.queueOffset }));
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.server.close((error) => {
        if (error) log.warn({ err: String(error) }, 'metrics server close failed');
        resolve();
      });
      this.server.closeAllConnections();
    });
  }
}
