// The name server's tables (RouteInfoManager): clusters, broker groups with their addresses by
// brokerId, topic → queue data per broker group, and the live table that expires brokers that
// stop re-registering (120 s) or whose registering connection closes.

export const BROKER_EXPIRED_MS = 120_000;

export interface QueueData {
  brokerName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicSysFlag: number;
}

export interface BrokerData {
  cluster: string;
  brokerName: string;
  brokerAddrs: Record<string, string>;
}

export interface TopicConfigLike {
  topicName?: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicSysFlag?: number;
}

interface LiveBroker {
  lastUpdateMs: number;
  haServerAddr: string;
  connectionId: string | null;
}

export interface Registration {
  clusterName: string;
  brokerName: string;
  brokerAddr: string;
  brokerId: number;
  haServerAddr: string;
  topics: Record<string, TopicConfigLike>;
  connectionId: string | null;
}

export class RouteRegistry {
  readonly brokers = new Map<string, BrokerData>();
  readonly clusters = new Map<string, Set<string>>();
  readonly topics = new Map<string, Map<string, QueueData>>();
  private readonly live = new Map<string, LiveBroker>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Returns the master's addresses for a slave's response (haServerAddr, masterAddr). */
  register(r: Registration): { masterAddr: string | null; haServerAddr: string | null } {
    let cluster = this.clusters.get(r.clusterName);
    if (!cluster) this.clusters.set(r.clusterName, (cluster = new Set()));
    cluster.add(r.brokerName);
    let broker = this.brokers.get(r.brokerName);
    if (!broker) this.brokers.set(r.brokerName, (broker = { cluster: r.clusterName, brokerName: r.brokerName, brokerAddrs: {} }));
    // An address registered under another id (role switch) is replaced, like RocketMQ.
    for (const [id, addr] of Object.entries(broker.brokerAddrs)) if (addr === r.brokerAddr && Number(id) !== r.brokerId) delete broker.brokerAddrs[id];
    broker.brokerAddrs[String(r.brokerId)] = r.brokerAddr;
    if (r.brokerId === 0) {
      for (const [topic, config] of Object.entries(r.topics)) {
        let queues = this.topics.get(topic);
        if (!queues) this.topics.set(topic, (queues = new Map()));
        queues.set(r.brokerName, {
          brokerName: r.brokerName, readQueueNums: config.readQueueNums, writeQueueNums: config.writeQueueNums, perm: config.perm, topicSysFlag: config.topicSysFlag ?? 0,
        });
      }
    }
    this.live.set(r.brokerAddr, { lastUpdateMs: this.now(), haServerAddr: r.haServerAddr, connectionId: r.connectionId });
    if (r.brokerId === 0) return { masterAddr: null, haServerAddr: null };
    const masterAddr = broker.brokerAddrs['0'] ?? null;
    return { masterAddr, haServerAddr: masterAddr ? this.live.get(masterAddr)?.haServerAddr ?? null : null };
  }

  unregister(brokerName: string, brokerAddr: string, brokerId: number): void {
    this.live.delete(brokerAddr);
    const broker = this.brokers.get(brokerName);
    if (!broker) return;
    if (broker.brokerAddrs[String(brokerId)] === brokerAddr) delete broker.brokerAddrs[String(brokerId)];
    if (Object.keys(broker.brokerAddrs).length > 0) return;
    // The group is gone: remove it from its cluster and from every topic.
    this.brokers.delete(brokerName);
    for (const names of this.clusters.values()) names.delete(brokerName);
    for (const [topic, queues] of this.topics) {
      queues.delete(brokerName);
      if (queues.size === 0) this.topics.delete(topic);
    }
  }

  private removeByAddress(brokerAddr: string): void {
    for (const broker of this.brokers.values()) {
      for (const [id, addr] of Object.entries(broker.brokerAddrs)) if (addr === brokerAddr) this.unregister(broker.brokerName, addr, Number(id));
    }
    this.live.delete(brokerAddr);
  }

  /** Drops brokers silent for longer than BROKER_EXPIRED_MS; returns their addresses. */
  expire(): string[] {
    const expired: string[] = [];
    for (const [addr, live] of this.live) if (this.now() - live.lastUpdateMs > BROKER_EXPIRED_MS) expired.push(addr);
    for (const addr of expired) this.removeByAddress(addr);
    return expired;
  }

  /** A broker's registering connection closed (onChannelDestroy). */
  connectionClosed(connectionId: string): string[] {
    const gone = [...this.live].filter(([, live]) => live.connectionId === connectionId).map(([addr]) => addr);
    for (const addr of gone) this.removeByAddress(addr);
    return gone;
  }

  route(topic: string): { queueDatas: QueueData[]; brokerDatas: BrokerData[] } | null {
    const queues = this.topics.get(topic);
    if (!queues || queues.size === 0) return null;
    const queueDatas = [...queues.values()];
    const brokerDatas = queueDatas.map((q) => this.brokers.get(q.brokerName)).filter((b): b is BrokerData => Boolean(b));
    return { queueDatas, brokerDatas };
  }
}
