// Producer and consumer groups known from HEART_BEAT (ProducerManager + ConsumerManager):
// which client ids are in a group, over which connection, subscribed to what. A consumer
// joining or leaving makes the broker notify the group (NOTIFY_CONSUMER_IDS_CHANGED).

/** What the broker needs of a client connection. */
export interface ClientChannel {
  readonly id: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

export interface SubscriptionData {
  topic: string;
  subString: string;
  tagsSet: string[];
  codeSet: number[];
  subVersion: number;
  expressionType?: string;
}

export interface ConsumerData {
  groupName: string;
  consumeType?: string;
  messageModel?: string;
  consumeFromWhere?: string;
  subscriptionDataSet: SubscriptionData[];
  unitMode?: boolean;
}

export interface HeartbeatData {
  clientID: string;
  producerDataSet?: Array<{ groupName: string }>;
  consumerDataSet?: ConsumerData[];
}

interface ConsumerClient {
  clientId: string;
  channel: ClientChannel;
  lastHeartbeatMs: number;
  /** The heartbeat's language name and client version (GET_CONSUMER_CONNECTION_LIST shows them). */
  language: string;
  version: number;
}

/** A consumer group as GET_CONSUMER_CONNECTION_LIST reports it. */
export interface ConsumerGroupInfo {
  data: ConsumerData;
  subscriptions: SubscriptionData[];
  connections: Array<{ clientId: string; clientAddr: string; language: string; version: number }>;
}

interface ConsumerGroup {
  clients: Map<string, ConsumerClient>;
  subscriptions: Map<string, SubscriptionData>;
  data: ConsumerData;
}

/** RocketMQ's channelExpiredTimeout: a client silent for 120 s is dropped. */
const CLIENT_EXPIRED_MS = 120_000;

export class ClientManager {
  private readonly consumerGroups = new Map<string, ConsumerGroup>();
  private readonly producerGroups = new Map<string, Map<string, ClientChannel>>();
  /** Called with (group, channels still in it) when a group's membership changes. */
  onConsumerIdsChanged: (group: string, channels: ClientChannel[]) => void = () => {};

  /** Registers a heartbeat; returns the consumer groups whose membership changed. */
  heartbeat(channel: ClientChannel, data: HeartbeatData, client: { language: string; version: number } = { language: 'OTHER', version: 0 }): string[] {
    const now = Date.now();
    const changed: string[] = [];
    for (const producer of data.producerDataSet ?? []) {
      let group = this.producerGroups.get(producer.groupName);
      if (!group) this.producerGroups.set(producer.groupName, (group = new Map()));
      group.set(data.clientID, channel);
    }
    for (const consumer of data.consumerDataSet ?? []) {
      let group = this.consumerGroups.get(consumer.groupName);
      if (!group) this.consumerGroups.set(consumer.groupName, (group = { clients: new Map(), subscriptions: new Map(), data: consumer }));
      group.data = consumer;
      const known = group.clients.get(data.clientID);
      if (!known || known.channel !== channel) changed.push(consumer.groupName);
      group.clients.set(data.clientID, { clientId: data.clientID, channel, lastHeartbeatMs: now, ...client });
      for (const subscription of consumer.subscriptionDataSet ?? []) group.subscriptions.set(subscription.topic, subscription);
    }
    for (const group of changed) this.notify(group);
    return changed;
  }

  unregister(clientId: string, producerGroup?: string, consumerGroup?: string): void {
    if (producerGroup) this.producerGroups.get(producerGroup)?.delete(clientId);
    if (consumerGroup && this.consumerGroups.get(consumerGroup)?.clients.delete(clientId)) this.notify(consumerGroup);
  }

  /** A connection closed: drop every client that used it. */
  channelClosed(channel: ClientChannel): void {
    for (const group of this.producerGroups.values()) {
      for (const [clientId, each] of group) if (each === channel) group.delete(clientId);
    }
    for (const [name, group] of this.consumerGroups) {
      let removed = false;
      for (const [clientId, client] of group.clients) {
        if (client.channel === channel) {
          group.clients.delete(clientId);
          removed = true;
        }
      }
      if (removed) this.notify(name);
    }
  }

  /** Drops clients that have not sent a heartbeat for 120 s. */
  expireSilentClients(nowMs = Date.now()): void {
    for (const [name, group] of this.consumerGroups) {
      let removed = false;
      for (const [clientId, client] of group.clients) {
        if (nowMs - client.lastHeartbeatMs > CLIENT_EXPIRED_MS) {
          group.clients.delete(clientId);
          removed = true;
        }
      }
      if (removed) this.notify(name);
    }
  }

  private notify(group: string): void {
    const channels = [...(this.consumerGroups.get(group)?.clients.values() ?? [])].map((c) => c.channel);
    this.onConsumerIdsChanged(group, channels);
  }

  consumerIds(group: string): string[] {
    return [...(this.consumerGroups.get(group)?.clients.keys() ?? [])];
  }

  subscription(group: string, topic: string): SubscriptionData | undefined {
    return this.consumerGroups.get(group)?.subscriptions.get(topic);
  }

  /** Topics the group's clients subscribe to (empty when the group is not online). */
  subscribedTopics(group: string): string[] {
    return [...(this.consumerGroups.get(group)?.subscriptions.keys() ?? [])];
  }

  /** Groups with a subscription to `topic`. */
  groupsSubscribedTo(topic: string): string[] {
    return [...this.consumerGroups].filter(([, group]) => group.subscriptions.has(topic)).map(([name]) => name);
  }

  /** The group's data, subscriptions and live connections, or null when no client of it is connected. */
  groupInfo(name: string): ConsumerGroupInfo | null {
    const group = this.consumerGroups.get(name);
    if (!group || group.clients.size === 0) return null;
    return {
      data: group.data,
      subscriptions: [...group.subscriptions.values()],
      connections: [...group.clients.values()].map((c) => ({
        clientId: c.clientId, clientAddr: `${c.channel.remoteAddress}:${c.channel.remotePort}`, language: c.language, version: c.version,
      })),
    };
  }

  consumerGroupNames(): string[] {
    return [...this.consumerGroups.keys()];
  }

  connectionCount(): { producers: number; consumers: number } {
    let producers = 0;
    let consumers = 0;
    for (const group of this.producerGroups.values()) producers += group.size;
    for (const group of this.consumerGroups.values()) consumers += group.clients.size;
    return { producers, consumers };
  }
}
