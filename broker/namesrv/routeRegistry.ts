// The name server's tables (RouteInfoManager, apache/rocketmq 4.9.x):
//   brokerAddrTable   brokerName → {cluster, brokerName, brokerAddrs: brokerId → "ip:port"}
//   clusterAddrTable  clusterName → brokerNames
//   topicQueueTable   topic → brokerName → QueueData (only masters, brokerId 0, register topics)
//   brokerLiveTable   brokerAddr → last registration time, data version, HA address, connection
// A broker that does not re-register for brokerExpiredMs (120 s) is dropped by expire(); one
// whose registering connection closes is dropped at once (onChannelDestroy).
import { type BrokerData, MASTER_ID, type QueueData, type TopicRouteData } from '../../protocol/route.js';
import type { DataVersion, TopicConfig } from './registerBrokerBody.js';

/** RouteInfoManager.BROKER_CHANNEL_EXPIRED_TIME. */
export const BROKER_EXPIRED_MS = 120_000;

interface LiveBroker {
  lastUpdateMs: number;
  dataVersion: DataVersion;
  haServerAddr: string;
  connectionId: string | null;
}

export interface Registration {
  clusterName: string;
  brokerAddr: string;
  brokerName: string;
  brokerId: number;
  haServerAddr: string;
  topicConfigTable: Record<string, TopicConfig>;
  dataVersion: DataVersion;
  /** null: leave the broker's filter servers as they are (pre-3.0.11 brokers). */
  filterServerList: string[] | null;
  /** The connection the registration came on; closing it unregisters the broker. */
  connectionId: string | null;
}

/** What a slave learns from registering: its master's address and HA address (null for masters). */
export interface RegisterResult {
  masterAddr: string | null;
  haServerAddr: string | null;
}

export interface RouteRegistryOptions {
  now?: () => number;
  brokerExpiredMs?: number;
}

export class RouteRegistry {
  readonly brokers = new Map<string, BrokerData>();
  readonly clusters = new Map<string, Set<string>>();
  readonly topics = new Map<string, Map<string, QueueData>>();
  private readonly live = new Map<string, LiveBroker>();
  private readonly filterServers = new Map<string, string[]>();
  private readonly now: () => number;
  readonly brokerExpiredMs: number;

  constructor(options: RouteRegistryOptions = {}) {
    this.now = options.now ?? Date.now;
    this.brokerExpiredMs = options.brokerExpiredMs ?? BROKER_EXPIRED_MS;
  }

  register(r: Registration): RegisterResult {
    let names = this.clusters.get(r.clusterName);
    if (!names) this.clusters.set(r.clusterName, (names = new Set()));
    names.add(r.brokerName);
    let broker = this.brokers.get(r.brokerName);
    let registerFirst = false;
    if (!broker) {
      registerFirst = true;
      this.brokers.set(r.brokerName, (broker = { brokerAddrs: {}, brokerName: r.brokerName, cluster: r.clusterName }));
    }
    // One address has one id: a slave switched to master drops its old entry.
    for (const [id, addr] of Object.entries(broker.brokerAddrs)) if (addr === r.brokerAddr && Number(id) !== r.brokerId) delete broker.brokerAddrs[id];
    const id = String(r.brokerId);
    registerFirst ||= broker.brokerAddrs[id] === undefined;
    broker.brokerAddrs[id] = r.brokerAddr;
    if (r.brokerId === MASTER_ID && (registerFirst || this.dataVersionChanged(r.brokerAddr, r.dataVersion))) {
      for (const config of Object.values(r.topicConfigTable)) this.updateQueueData(r.brokerName, config);
    }
    this.live.set(r.brokerAddr, { lastUpdateMs: this.now(), dataVersion: { ...r.dataVersion }, haServerAddr: r.haServerAddr, connectionId: r.connectionId });
    if (r.filterServerList) {
      if (r.filterServerList.length === 0) this.filterServers.delete(r.brokerAddr);
      else this.filterServers.set(r.brokerAddr, r.filterServerList);
    }
    if (r.brokerId === MASTER_ID) return { masterAddr: null, haServerAddr: null };
    const masterAddr = broker.brokerAddrs[String(MASTER_ID)];
    const master = masterAddr === undefined ? undefined : this.live.get(masterAddr);
    return master ? { masterAddr, haServerAddr: master.haServerAddr } : { masterAddr: null, haServerAddr: null };
  }

  /** True if the broker never registered or registered a different data version (isBrokerTopicConfigChanged). */
  dataVersionChanged(brokerAddr: string, dataVersion: DataVersion): boolean {
    const previous = this.live.get(brokerAddr)?.dataVersion;
    return !previous || previous.timestamp !== dataVersion.timestamp || previous.counter !== dataVersion.counter;
  }

  /** The data version the broker last registered, or null (QUERY_DATA_VERSION). */
  dataVersionOf(brokerAddr: string): DataVersion | null {
    return this.live.get(brokerAddr)?.dataVersion ?? null;
  }

  /** Counts as a registration for expiry (QUERY_DATA_VERSION with an unchanged version). */
  touch(brokerAddr: string): void {
    const live = this.live.get(brokerAddr);
    if (live) live.lastUpdateMs = this.now();
  }

  private updateQueueData(brokerName: string, config: TopicConfig): void {
    let queues = this.topics.get(config.topicName);
    if (!queues) this.topics.set(config.topicName, (queues = new Map()));
    queues.set(brokerName, {
      brokerName, perm: config.perm, readQueueNums: config.readQueueNums, topicSysFlag: config.topicSysFlag ?? 0, writeQueueNums: config.writeQueueNums,
    });
  }

  /** UNREGISTER_BROKER: removes brokerId from the group; an empty group leaves its cluster and every topic. */
  unregister(clusterName: string, brokerAddr: string, brokerName: string, brokerId: number): void {
    this.live.delete(brokerAddr);
    this.filterServers.delete(brokerAddr);
    const broker = this.brokers.get(brokerName);
    if (!broker) return;
    delete broker.brokerAddrs[String(brokerId)];
    if (Object.keys(broker.brokerAddrs).length > 0) return;
    this.brokers.delete(brokerName);
    const names = this.clusters.get(clusterName);
    if (names) {
      names.delete(brokerName);
      if (names.size === 0) this.clusters.delete(clusterName);
    }
    this.removeTopicsOf(brokerName);
  }

  /** onChannelDestroy for one address: its entry goes; a group left empty goes from its cluster and topics. */
  private removeAddress(brokerAddr: string): void {
    this.live.delete(brokerAddr);
    this.filterServers.delete(brokerAddr);
    for (const broker of this.brokers.values()) {
      const id = Object.keys(broker.brokerAddrs).find((key) => broker.brokerAddrs[key] === brokerAddr);
      if (id === undefined) continue;
      delete broker.brokerAddrs[id];
      if (Object.keys(broker.brokerAddrs).length === 0) {
        this.brokers.delete(broker.brokerName);
        for (const [cluster, names] of this.clusters) {
          if (names.delete(broker.brokerName) && names.size === 0) this.clusters.delete(cluster);
        }
        this.removeTopicsOf(broker.brokerName);
      }
      return;
    }
  }

  private removeTopicsOf(brokerName: string): void {
    for (const [topic, queues] of this.topics) {
      queues.delete(brokerName);
      if (queues.size === 0) this.topics.delete(topic);
    }
  }

  /** scanNotActiveBroker: drops brokers silent for longer than brokerExpiredMs; returns them with their connection. */
  expire(): Array<{ brokerAddr: string; connectionId: string | null }> {
    const now = this.now();
    const expired: Array<{ brokerAddr: string; connectionId: string | null }> = [];
    for (const [brokerAddr, live] of this.live) {
      if (live.lastUpdateMs + this.brokerExpiredMs < now) expired.push({ brokerAddr, connectionId: live.connectionId });
    }
    for (const { brokerAddr } of expired) this.removeAddress(brokerAddr);
    return expired;
  }

  /** A broker's registering connection closed: every address registered on it goes at once. */
  connectionClosed(connectionId: string): string[] {
    const gone = [...this.live].filter(([, live]) => live.connectionId === connectionId).map(([addr]) => addr);
    for (const addr of gone) this.removeAddress(addr);
    return gone;
  }

  /** pickupTopicRouteData: null unless the topic has queues on a broker group that is still known. */
  route(topic: string): TopicRouteData | null {
    const queues = this.topics.get(topic);
    if (!queues || queues.size === 0) return null;
    const brokerDatas: BrokerData[] = [];
    const filterServerTable: Record<string, string[]> = {};
    for (const brokerName of queues.keys()) {
      const broker = this.brokers.get(brokerName);
      if (!broker) continue;
      brokerDatas.push({ brokerAddrs: { ...broker.brokerAddrs }, brokerName: broker.brokerName, cluster: broker.cluster });
      for (const addr of Object.values(broker.brokerAddrs)) {
        const filters = this.filterServers.get(addr);
        if (filters) filterServerTable[addr] = filters;
      }
    }
    if (brokerDatas.length === 0) return null;
    return { brokerDatas, filterServerTable, queueDatas: [...queues.values()].map((q) => ({ ...q })) };
  }

  /** ClusterInfo: every broker group and every cluster's group names. */
  clusterInfo(): { brokerAddrTable: Record<string, BrokerData>; clusterAddrTable: Record<string, string[]> } {
    return {
      brokerAddrTable: Object.fromEntries(this.brokers),
      clusterAddrTable: Object.fromEntries([...this.clusters].map(([name, names]) => [name, [...names]])),
    };
  }

  /** brokerAddr → last registration time (ms), for diagnostics and tests. */
  liveBrokers(): Map<string, number> {
    return new Map([...this.live].map(([addr, live]) => [addr, live.lastUpdateMs]));
  }
}
