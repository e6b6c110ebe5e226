// Three brokers with enableDLegerCommitLog=true and a name server in this process: the set-up
// and tear-down the DLedger broker tests share.
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { NameServer } from '../../broker/namesrv/namesrvServer.js';
import type { BrokerStartOptions } from '../../broker/server/brokerController.js';
import { startTestBroker, type TestBroker } from '../server/brokerHarness.js';
import { freePort } from '../support/ports.js';
import { removeScratch, scratchDir } from '../support/scratch.js';

/** Short but not fragile: a loaded CI host stalls event loops for tens of ms. */
export const FAST_DLEDGER_TIMING = { heartBeatTimeIntervalMs: '150', maxHeartBeatLeak: '4', minVoteIntervalMs: '50', maxVoteIntervalMs: '150', maxWaitAckTimeMs: '1500' };

export interface DLedgerGroup {
  namesrvAddr: string;
  brokers: TestBroker[];
  /** One cached client per broker address. */
  client(address: string): RemotingClient;
  /** The address the name server gives as brokerId 0 for `topic`, if any. */
  masterAddress(topic: string): Promise<string | undefined>;
  /** Stops brokers, clients and the name server and removes the stores. */
  stop(): Promise<void>;
}

/**
 * Starts a name server and members n0..n2 of DLedger group `brokerName`, each with
 * FAST_DLEDGER_TIMING and then `properties`. Stops what it started if a start fails.
 */
export async function startDLedgerGroup(brokerName: string, properties: Record<string, string> = {}, options?: BrokerStartOptions): Promise<DLedgerGroup> {
  const nameServer = new NameServer();
  const namesrvAddr = `127.0.0.1:${await nameServer.listen(0)}`;
  const dledgerPorts = [await freePort(), await freePort(), await freePort()];
  const peers = dledgerPorts.map((port, i) => `n${i}-127.0.0.1:${port}`).join(';');
  const brokers: TestBroker[] = [];
  const lookup = new RemotingClient(namesrvAddr);
  const clients = new Map<string, RemotingClient>();
  const group: DLedgerGroup = {
    namesrvAddr,
    brokers,
    client: (address) => clients.get(address) ?? clients.set(address, new RemotingClient(address)).get(address) as RemotingClient,
    masterAddress: async (topic) => {
      const route = await lookup.invoke(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }), 3000);
      if (route.code !== ResponseCode.SUCCESS) return undefined;
      return JSON.parse(route.body?.toString() ?? '{}').brokerDatas?.[0]?.brokerAddrs?.['0'];
    },
    stop: async () => {
      lookup.close();
      for (const c of clients.values()) c.close();
      for (const b of brokers) await b.stop();
      await nameServer.close();
      for (const b of brokers) removeScratch(b.storeDir);
    },
  };
  try {
    for (let i = 0; i < 3; i++) {
      brokers.push(await startTestBroker({
        namesrvAddr, brokerName, enableDLegerCommitLog: 'true', dLegerGroup: brokerName, dLegerPeers: peers, dLegerSelfId: `n${i}`,
        ...FAST_DLEDGER_TIMING, ...properties,
      }, scratchDir(`${brokerName}-n${i}`), options));
    }
  } catch (error) {
    await group.stop();
    throw error;
  }
  return group;
}
