// Registers the broker with every name server at start, whenever topics change, and every
// registerNameServerPeriod (30 s); a slave learns its master's HA address from the answer.
import { childLogger } from '../../protocol/logger.js';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import type { BrokerConfig } from './brokerConfig.js';
import type { TopicConfigManager } from './topicConfigManager.js';

const log = childLogger('registrar');
const REGISTER_TIMEOUT_MS = 6000;

export class NameServerRegistrar {
  private readonly clients: RemotingClient[];
  private timer: NodeJS.Timeout | null = null;
  /** HA address of this group's master, as the name server reported it (slaves only); kept when a later answer has none. */
  masterHaAddress: string | null = null;
  /**
   * The master's broker address from the first answer of the last round (RocketMQ:
   * slaveSynchronize.setMasterAddr(result.getMasterAddr())): null once the name server no
   * longer knows a live master. Unchanged when no name server answered.
   */
  masterAddress: string | null = null;

  constructor(
    private readonly config: BrokerConfig,
    private readonly topics: TopicConfigManager,
    private readonly addresses: () => { haServerAddr: string },
  ) {
    this.clients = config.namesrvAddr.split(';').map((a) => a.trim()).filter(Boolean).map((address) => new RemotingClient(address));
  }

  async start(): Promise<void> {
    if (this.clients.length === 0) {
      log.warn('namesrvAddr is empty: the broker is not registered anywhere (clients must be pointed at it directly)');
      return;
    }
    await this.registerAll();
    this.timer = setInterval(() => {
      this.registerAll().catch((error: unknown) => log.error({ err: String(error) }, 'periodic registration failed; will retry'));
    }, this.config.registerNameServerPeriod);
    this.timer.unref();
  }

  private header(): Record<string, string> {
    const c = this.config;
    return {
      brokerName: c.brokerName,
      brokerAddr: `${c.brokerIP1}:${c.listenPort}`,
      clusterName: c.brokerClusterName,
      haServerAddr: this.addresses().haServerAddr,
      brokerId: String(c.brokerId),
      compressed: 'false',
    };
  }

  async registerAll(): Promise<void> {
    const body = Buffer.from(JSON.stringify({
      topicConfigSerializeWrapper: { topicConfigTable: this.topics.table(), dataVersion: this.topics.dataVersion },
      filterServerList: [],
    }));
    const masterAddrs: Array<string | null> = [];
    await Promise.all(this.clients.map(async (client) => {
      try {
        const response = await client.invoke(createRequest(RequestCode.REGISTER_BROKER, this.header(), body), REGISTER_TIMEOUT_MS);
        if (response.code !== ResponseCode.SUCCESS) {
          log.warn({ namesrv: client.address, code: response.code, remark: response.remark }, 'name server refused the registration');
          return;
        }
        if (response.extFields?.haServerAddr) this.masterHaAddress = response.extFields.haServerAddr;
        masterAddrs.push(response.extFields?.masterAddr || null);
      } catch (error) {
        log.warn({ namesrv: client.address, err: String(error) }, 'cannot register with the name server; will retry');
      }
    }));
    if (masterAddrs.length > 0) this.masterAddress = masterAddrs[0];
  }

  async unregisterAll(): Promise<void> {
    const c = this.config;
    await Promise.all(this.clients.map((client) => client.invoke(createRequest(RequestCode.UNREGISTER_BROKER, {
      brokerName: c.brokerName, brokerAddr: `${c.brokerIP1}:${c.listenPort}`, clusterName: c.brokerClusterName, brokerId: String(c.brokerId),
    }), 2000).catch(() => undefined)));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const client of this.clients) client.close();
  }
}
