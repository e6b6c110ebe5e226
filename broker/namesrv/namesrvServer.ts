// The name server process (NamesrvController + DefaultRequestProcessor): REGISTER_BROKER,
// UNREGISTER_BROKER, GET_ROUTEINFO_BY_TOPIC, GET_BROKER_CLUSTER_INFO, GET_KV_CONFIG,
// GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
import { inflateSync } from 'node:zlib';
import { childLogger } from '../logger.js';
import { RequestCode, ResponseCode } from '../remoting/codes.js';
import { stringifyLegacyJson } from '../remoting/lenientJson.js';
import { createResponse, type RemotingCommand } from '../remoting/remotingCommand.js';
import { RemotingServer } from '../remoting/remotingServer.js';
import { RouteRegistry, type TopicConfigLike } from './routeRegistry.js';
import type { RemotingConnection } from '../remoting/connection.js';

const log = childLogger('namesrv');
/** Clients from 4.9.4 (MQVersion V4_9_4 = 401) get standard JSON; older ones fastjson's form. */
const STANDARD_JSON_MIN_VERSION = 401;

export class NameServer {
  readonly registry: RouteRegistry;
  private readonly server = new RemotingServer();
  private scanTimer: NodeJS.Timeout | null = null;

  constructor(options: { now?: () => number; scanIntervalMs?: number } = {}) {
    this.registry = new RouteRegistry(options.now);
    const s = this.server;
    s.registerProcessor(RequestCode.REGISTER_BROKER, (request, connection) => this.registerBroker(request, connection));
    s.registerProcessor(RequestCode.UNREGISTER_BROKER, (request) => this.unregisterBroker(request));
    s.registerProcessor(RequestCode.GET_ROUTEINFO_BY_TOPIC, (request) => this.routeInfo(request));
    s.registerProcessor(RequestCode.GET_BROKER_CLUSTER_INFO, (request) => this.clusterInfo(request));
    s.registerProcessor(RequestCode.GET_KV_CONFIG, (request) => createResponse(request, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${request.extFields?.namespace} Key: ${request.extFields?.key}`));
    s.registerProcessor(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, (request) =>
      createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(JSON.stringify({ topicList: [...this.registry.topics.keys()] }))));
    s.onConnection((connection) => connection.onClose(() => {
      const gone = this.registry.connectionClosed(connection.id);
      if (gone.length) log.info({ brokers: gone }, 'broker connection closed; routes removed');
    }));
    this.scanTimer = setInterval(() => {
      const expired = this.registry.expire();
      if (expired.length) log.warn({ brokers: expired }, 'brokers expired after 120 s without registration');
    }, options.scanIntervalMs ?? 10_000);
    this.scanTimer.unref();
  }

  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return this.server.listen(port, host);
  }

  private registerBroker(request: RemotingCommand, connection: RemotingConnection): RemotingCommand {
    const f = request.extFields ?? {};
    const required = ['brokerName', 'brokerAddr', 'clusterName', 'haServerAddr', 'brokerId'];
    const missing = required.filter((key) => f[key] === undefined);
    if (missing.length) return createResponse(request, ResponseCode.SYSTEM_ERROR, `REGISTER_BROKER misses ${missing.join(', ')}`);
    let topics: Record<string, TopicConfigLike> = {};
    if (request.body && request.body.length > 0) {
      try {
        const raw = f.compressed === 'true' ? inflateSync(request.body) : request.body;
        const body = JSON.parse(raw.toString('utf8')) as { topicConfigSerializeWrapper?: { topicConfigTable?: Record<string, TopicConfigLike> } };
        topics = body.topicConfigSerializeWrapper?.topicConfigTable ?? {};
      } catch (error) {
        return createResponse(request, ResponseCode.SYSTEM_ERROR, `cannot read the REGISTER_BROKER body: ${(error as Error).message}`);
      }
    }
    const result = this.registry.register({
      clusterName: f.clusterName, brokerName: f.brokerName, brokerAddr: f.brokerAddr, brokerId: Number(f.brokerId),
      haServerAddr: f.haServerAddr, topics, connectionId: connection.id,
    });
    const ext: Record<string, string> = {};
    if (result.masterAddr) ext.masterAddr = result.masterAddr;
    if (result.haServerAddr) ext.haServerAddr = result.haServerAddr;
    return createResponse(request, ResponseCode.SUCCESS, undefined, ext);
  }

  private unregisterBroker(request: RemotingCommand): RemotingCommand {
    const f = request.extFields ?? {};
    this.registry.unregister(f.brokerName ?? '', f.brokerAddr ?? '', Number(f.brokerId ?? 0));
    return createResponse(request, ResponseCode.SUCCESS);
  }

  private routeInfo(request: RemotingCommand): RemotingCommand {
    const topic = request.extFields?.topic ?? '';
    const route = this.registry.route(topic);
    if (!route) return createResponse(request, ResponseCode.TOPIC_NOT_EXIST, `No topic route info in name server for the topic: ${topic}`);
    // 4.9 writes both spellings of the flag (topicSynFlag ≤ 4.8.0 clients read, topicSysFlag ≥ 4.9.0).
    const body = {
      brokerDatas: route.brokerDatas,
      filterServerTable: {},
      queueDatas: route.queueDatas.map((q) => ({ ...q, topicSynFlag: q.topicSysFlag })),
    };
    const standard = request.version >= STANDARD_JSON_MIN_VERSION || request.extFields?.acceptStandardJsonOnly === 'true';
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(standard ? JSON.stringify(body) : stringifyLegacyJson(body)));
  }

  private clusterInfo(request: RemotingCommand): RemotingCommand {
    const brokerAddrTable = Object.fromEntries(this.registry.brokers);
    const clusterAddrTable = Object.fromEntries([...this.registry.clusters].map(([name, set]) => [name, [...set]]));
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(JSON.stringify({ brokerAddrTable, clusterAddrTable })));
  }

  async close(): Promise<void> {
    if (this.scanTimer) clearInterval(this.scanTimer);
    await this.server.close();
  }
}
