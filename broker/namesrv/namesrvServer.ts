// The name server process (NamesrvController + DefaultRequestProcessor, apache/rocketmq 4.9.x):
// REGISTER_BROKER, UNREGISTER_BROKER, QUERY_DATA_VERSION, GET_ROUTEINFO_BY_TOPIC,
// GET_BROKER_CLUSTER_INFO, GET_ALL_TOPIC_LIST_FROM_NAMESERVER and the KV config calls
// (PUT/GET/DELETE_KV_CONFIG, GET_KVLIST_BY_NAMESPACE; in memory, like a namesrv without kvConfig.json).
// JSON bodies follow fastjson: fields sorted by name, and the legacy unquoted brokerId keys
// where the 4.9.x name server writes them (see lenientJson.ts).
import { crc32 } from 'node:zlib';
import { childLogger } from '../../protocol/logger.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import type { RemotingConnection } from '../../protocol/connection.js';
import { stringifyLegacyJson } from '../../protocol/lenientJson.js';
import { CLIENT_VERSION_4_9_4, createResponse, type RemotingCommand } from '../../protocol/remotingCommand.js';
import { RemotingServer } from '../../protocol/remotingServer.js';
import { decodeRegisterBrokerBody, REGISTER_BODY_MIN_VERSION, type RegisterBrokerBody } from './registerBrokerBody.js';
import type { TopicRouteData } from '../../protocol/route.js';
import { RouteRegistry } from './routeRegistry.js';

const log = childLogger('namesrv');
/** Maps keyed by brokerId (Java Long): fastjson's legacy form writes their keys unquoted. */
const LONG_KEYED_FIELDS: ReadonlySet<string> = new Set(['brokerAddrs']);
/** NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG. */
export const NAMESPACE_ORDER_TOPIC_CONFIG = 'ORDER_TOPIC_CONFIG';
/** FAQUrl.suggestTodo(FAQUrl.APPLY_TOPIC_URL), appended to RocketMQ's TOPIC_NOT_EXIST remark. */
const APPLY_TOPIC_TIP = '\nSee http://rocketmq.apache.org/docs/faq/ for further details.';

export interface NameServerOptions {
  /** Clock for broker expiry (tests inject one). */
  now?: () => number;
  /** How often silent brokers are looked for (RocketMQ: every 10 s). */
  scanIntervalMs?: number;
  /** A broker silent for longer than this is dropped (RocketMQ: 120 s). */
  brokerExpiredMs?: number;
  /** namesrv.properties orderMessageEnable: add orderTopicConf from the KV config to routes. */
  orderMessageEnable?: boolean;
}

/** The custom-header check of RemotingCommand.decodeCommandCustomHeader (@CFNotNull fields). */
function missingField(request: RemotingCommand, names: string[]): RemotingCommand | null {
  const missing = names.find((name) => request.extFields?.[name] == null);
  return missing === undefined ? null : createResponse(request, ResponseCode.SYSTEM_ERROR, `the custom field <${missing}> is null`);
}

function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export class NameServer {
  readonly registry: RouteRegistry;
  private readonly server = new RemotingServer({ name: 'namesrv' });
  private readonly kv = new Map<string, Map<string, string>>();
  private readonly scanTimer: NodeJS.Timeout;

  constructor(private readonly options: NameServerOptions = {}) {
    this.registry = new RouteRegistry({ now: options.now, brokerExpiredMs: options.brokerExpiredMs });
    const s = this.server;
    s.registerProcessor(RequestCode.REGISTER_BROKER, (request, connection) => this.registerBroker(request, connection));
    s.registerProcessor(RequestCode.UNREGISTER_BROKER, (request) => this.unregisterBroker(request));
    s.registerProcessor(RequestCode.QUERY_DATA_VERSION, (request) => this.queryDataVersion(request));
    s.registerProcessor(RequestCode.GET_ROUTEINFO_BY_TOPIC, (request) => this.routeInfo(request));
    s.registerProcessor(RequestCode.GET_BROKER_CLUSTER_INFO, (request) =>
      createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(stringifyLegacyJson(this.registry.clusterInfo(), LONG_KEYED_FIELDS))));
    s.registerProcessor(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, (request) =>
      createResponse(request, ResponseCode.SUCCESS, undefined, undefined, jsonBody({ topicList: [...this.registry.topics.keys()] })));
    s.registerProcessor(RequestCode.PUT_KV_CONFIG, (request) => this.putKv(request));
    s.registerProcessor(RequestCode.GET_KV_CONFIG, (request) => this.getKv(request));
    s.registerProcessor(RequestCode.DELETE_KV_CONFIG, (request) => this.deleteKv(request));
    s.registerProcessor(RequestCode.GET_KVLIST_BY_NAMESPACE, (request) => this.kvList(request));
    s.onConnection((connection) => connection.onClose(() => {
      const gone = this.registry.connectionClosed(connection.id);
      if (gone.length) log.info({ brokers: gone }, 'broker connection closed; its routes are removed');
    }));
    this.scanTimer = setInterval(() => {
      try {
        this.scanNotActiveBrokers();
      } catch (error) {
        log.error({ err: String(error) }, 'broker expiry scan failed; retrying at the next scan');
      }
    }, options.scanIntervalMs ?? 10_000);
    this.scanTimer.unref();
  }

  /** Listens on host:port (0 = any free port); resolves with the bound port. */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return this.server.listen(port, host);
  }

  /** Drops brokers that stopped registering and closes their connections (scanNotActiveBroker). */
  scanNotActiveBrokers(): void {
    const expired = this.registry.expire();
    if (expired.length === 0) return;
    log.warn({ brokers: expired.map((e) => e.brokerAddr), expiredMs: this.registry.brokerExpiredMs }, 'brokers expired: no registration within the expiry time');
    for (const { connectionId } of expired) this.server.connections.find((c) => c.id === connectionId)?.close('broker registration expired');
  }

  private registerBroker(request: RemotingCommand, connection: RemotingConnection): RemotingCommand {
    const refused = missingField(request, ['brokerName', 'brokerAddr', 'clusterName', 'haServerAddr', 'brokerId']);
    if (refused) return refused;
    const f = request.extFields as Record<string, string>;
    const brokerId = Number(f.brokerId);
    if (!Number.isInteger(brokerId) || brokerId < 0) return createResponse(request, ResponseCode.SYSTEM_ERROR, `brokerId ${f.brokerId} is not a non-negative integer`);
    const bodyCrc32 = Number(f.bodyCrc32 ?? 0);
    if (bodyCrc32 !== 0 && request.version >= REGISTER_BODY_MIN_VERSION) {
      // UtilAll.crc32: CRC32 of the body masked to 31 bits (0 = not sent).
      const actual = request.body ? crc32(request.body) & 0x7fffffff : 0;
      if (actual !== bodyCrc32) {
        log.warn({ broker: f.brokerAddr, peer: connection.remote }, 'REGISTER_BROKER body crc32 does not match');
        return createResponse(request, ResponseCode.SYSTEM_ERROR, 'crc32 not match');
      }
    }
    let body: RegisterBrokerBody;
    try {
      body = decodeRegisterBrokerBody(request.body, f.compressed === 'true', request.version);
    } catch (error) {
      return createResponse(request, ResponseCode.SYSTEM_ERROR, (error as Error).message);
    }
    const isNew = !this.registry.liveBrokers().has(f.brokerAddr);
    const result = this.registry.register({
      clusterName: f.clusterName, brokerAddr: f.brokerAddr, brokerName: f.brokerName, brokerId, haServerAddr: f.haServerAddr,
      topicConfigTable: body.topicConfigTable, dataVersion: body.dataVersion,
      filterServerList: request.version >= REGISTER_BODY_MIN_VERSION ? body.filterServerList : null, connectionId: connection.id,
    });
    if (isNew) log.info({ cluster: f.clusterName, brokerName: f.brokerName, brokerId, brokerAddr: f.brokerAddr, haServerAddr: f.haServerAddr }, 'new broker registered');
    const ext: Record<string, string> = {};
    if (result.haServerAddr) ext.haServerAddr = result.haServerAddr;
    if (result.masterAddr) ext.masterAddr = result.masterAddr;
    return createResponse(request, ResponseCode.SUCCESS, undefined, ext, this.kvTableBody(NAMESPACE_ORDER_TOPIC_CONFIG));
  }

  private unregisterBroker(request: RemotingCommand): RemotingCommand {
    const refused = missingField(request, ['brokerName', 'brokerAddr', 'clusterName', 'brokerId']);
    if (refused) return refused;
    const f = request.extFields as Record<string, string>;
    this.registry.unregister(f.clusterName, f.brokerAddr, f.brokerName, Number(f.brokerId));
    log.info({ brokerName: f.brokerName, brokerId: f.brokerId, brokerAddr: f.brokerAddr }, 'broker unregistered');
    return createResponse(request, ResponseCode.SUCCESS);
  }

  /** QUERY_DATA_VERSION: header changed=true|false, body the version the name server holds. */
  private queryDataVersion(request: RemotingCommand): RemotingCommand {
    const refused = missingField(request, ['brokerAddr']);
    if (refused) return refused;
    const brokerAddr = (request.extFields as Record<string, string>).brokerAddr;
    let asked: { counter?: unknown; timestamp?: unknown } = {};
    try {
      asked = JSON.parse(request.body?.toString('utf8') ?? '{}') as typeof asked;
    } catch {
      return createResponse(request, ResponseCode.SYSTEM_ERROR, 'QUERY_DATA_VERSION body is not a DataVersion JSON');
    }
    const changed = this.registry.dataVersionChanged(brokerAddr, { counter: Number(asked?.counter ?? 0), timestamp: Number(asked?.timestamp ?? 0) });
    if (!changed) this.registry.touch(brokerAddr);
    const held = this.registry.dataVersionOf(brokerAddr);
    return createResponse(request, ResponseCode.SUCCESS, undefined, { changed: String(changed) }, held ? jsonBody(held) : undefined);
  }

  private routeInfo(request: RemotingCommand): RemotingCommand {
    const refused = missingField(request, ['topic']);
    if (refused) return refused;
    const topic = (request.extFields as Record<string, string>).topic;
    const route = this.registry.route(topic);
    if (!route) return createResponse(request, ResponseCode.TOPIC_NOT_EXIST, `No topic route info in name server for the topic: ${topic}${APPLY_TOPIC_TIP}`);
    const standard = request.version >= CLIENT_VERSION_4_9_4 || request.extFields?.acceptStandardJsonOnly === 'true';
    const data = this.routeBody(topic, route, standard);
    return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, Buffer.from(standard ? JSON.stringify(data) : stringifyLegacyJson(data, LONG_KEYED_FIELDS), 'utf8'));
  }

  /**
   * TopicRouteData as fastjson writes it: fields by name; standard JSON (MapSortField) sorts map
   * keys. The 4.9 QueueData field is topicSysFlag; ≤ 4.8 clients read topicSynFlag, so both go out.
   */
  private routeBody(topic: string, route: TopicRouteData, sortMaps: boolean): Record<string, unknown> {
    const filterServerTable = sortMaps ? Object.fromEntries(Object.entries(route.filterServerTable).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : route.filterServerTable;
    const orderTopicConf = this.options.orderMessageEnable ? this.kv.get(NAMESPACE_ORDER_TOPIC_CONFIG)?.get(topic) : undefined;
    return {
      brokerDatas: route.brokerDatas,
      filterServerTable,
      orderTopicConf,
      queueDatas: route.queueDatas.map((q) => ({
        brokerName: q.brokerName, perm: q.perm, readQueueNums: q.readQueueNums, topicSynFlag: q.topicSysFlag, topicSysFlag: q.topicSysFlag, writeQueueNums: q.writeQueueNums,
      })),
    };
  }

  private putKv(request: RemotingCommand): RemotingCommand {
    const f = request.extFields ?? {};
    if (f.namespace == null || f.key == null) return createResponse(request, ResponseCode.SYSTEM_ERROR, 'namespace or key is null');
    let table = this.kv.get(f.namespace);
    if (!table) this.kv.set(f.namespace, (table = new Map()));
    table.set(f.key, f.value ?? '');
    return createResponse(request, ResponseCode.SUCCESS);
  }

  private getKv(request: RemotingCommand): RemotingCommand {
    const refused = missingField(request, ['namespace', 'key']);
    if (refused) return refused;
    const { namespace, key } = request.extFields as Record<string, string>;
    const value = this.kv.get(namespace)?.get(key);
    if (value !== undefined) return createResponse(request, ResponseCode.SUCCESS, undefined, { value });
    return createResponse(request, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${namespace} Key: ${key}`);
  }

  private deleteKv(request: RemotingCommand): RemotingCommand {
    const refused = missingField(request, ['namespace', 'key']);
    if (refused) return refused;
    const { namespace, key } = request.extFields as Record<string, string>;
    const table = this.kv.get(namespace);
    table?.delete(key);
    if (table?.size === 0) this.kv.delete(namespace);
    return createResponse(request, ResponseCode.SUCCESS);
  }

  private kvList(request: RemotingCommand): RemotingCommand {
    const refused = missingField(request, ['namespace']);
    if (refused) return refused;
    const namespace = (request.extFields as Record<string, string>).namespace;
    const body = this.kvTableBody(namespace);
    if (body) return createResponse(request, ResponseCode.SUCCESS, undefined, undefined, body);
    return createResponse(request, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${namespace}`);
  }

  /** KVTable JSON {"table":{…}} of a namespace, or undefined when it holds nothing (Java: null body). */
  private kvTableBody(namespace: string): Buffer | undefined {
    const table = this.kv.get(namespace);
    return table && table.size > 0 ? jsonBody({ table: Object.fromEntries(table) }) : undefined;
  }

  /** Stops the expiry scan, closes every connection and releases the port. */
  async close(): Promise<void> {
    clearInterval(this.scanTimer);
    await this.server.close();
  }
}
