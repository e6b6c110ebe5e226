// Optional HTTP side door (metricsPort, off by default):
//   GET  /metrics           Prometheus text (flushBehindBytes, fsyncs, messages per fsync …)
//   GET  /settings          the broker's effective settings as JSON (for reports)
//   POST /produce/<topic>   store the request body as one message; answers the send status
// The produce endpoint lets autocannon load the broker over HTTP for comparison.
import http from 'node:http';
import { childLogger } from '../../protocol/logger.js';
import { encodeSocketAddress, type SocketAddressBytes } from '../store/messageCodec.js';
import type { MessageStore } from '../store/messageStore.js';
import { isStored } from '../store/putStatus.js';
import { type BrokerMetrics, renderPrometheus } from './brokerMetrics.js';
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
}

export class MetricsHttpServer {
  private readonly server: http.Server;
  private produceQueue = 0;

  constructor(private readonly deps: MetricsHttpDeps) {
    this.server = http.createServer((request, response) => void this.handle(request, response));
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
    const produce = /^\/produce\/([%|a-zA-Z0-9_-]{1,127})$/.exec(url);
    if (request.method === 'POST' && produce) {
      await this.produce(produce[1], request, response);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found: GET /metrics, GET /settings, POST /produce/<topic>\n');
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
