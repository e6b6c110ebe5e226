// Creating topics the way `mqadmin updateTopic` does: UPDATE_AND_CREATE_TOPIC to every master
// of the cluster (found through the name server), which re-registers so the route appears.
import { FlushbenchError } from '../protocol/errors.js';
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { parseLenientJson } from '../protocol/lenientJson.js';
import { createRequest, type RemotingCommand } from '../protocol/remotingCommand.js';
import { RemotingClient } from '../protocol/remotingClient.js';

export interface ClusterInfo {
  brokerAddrTable: Record<string, { cluster: string; brokerName: string; brokerAddrs: Record<string, string> }>;
  clusterAddrTable: Record<string, string[]>;
}

export async function fetchClusterInfo(namesrvAddress: string, timeoutMs = 3000): Promise<ClusterInfo> {
  const client = new RemotingClient(namesrvAddress);
  try {
    const response = await client.invoke(createRequest(RequestCode.GET_BROKER_CLUSTER_INFO), timeoutMs);
    if (response.code !== ResponseCode.SUCCESS || !response.body) {
      throw new FlushbenchError('CLUSTER_INFO_FAILED', `name server ${namesrvAddress} answered ${response.code}: ${response.remark ?? ''}`);
    }
    return parseLenientJson(response.body.toString('utf8')) as ClusterInfo;
  } finally {
    client.close();
  }
}

/** Master addresses (brokerId 0) of every broker group, optionally of one cluster. */
export function masterAddresses(info: ClusterInfo, clusterName?: string): string[] {
  const names = clusterName ? (info.clusterAddrTable[clusterName] ?? []) : Object.keys(info.brokerAddrTable);
  return names.map((name) => info.brokerAddrTable[name]?.brokerAddrs['0']).filter((a): a is string => Boolean(a));
}

/** UPDATE_AND_CREATE_TOPIC as `mqadmin updateTopic` sends it: read = write queues, perm 6 = read|write. */
export function updateTopicRequest(topic: string, queues: number, perm = 6): RemotingCommand {
  return createRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
    topic, defaultTopic: 'TBW102', readQueueNums: String(queues), writeQueueNums: String(queues),
    perm: String(perm), topicFilterType: 'SINGLE_TAG', topicSysFlag: '0', order: 'false',
  });
}

export async function createTopic(
  namesrvAddress: string,
  topic: string,
  options: { queues: number; perm?: number; clusterName?: string; timeoutMs?: number },
): Promise<string[]> {
  const masters = masterAddresses(await fetchClusterInfo(namesrvAddress, options.timeoutMs), options.clusterName);
  if (masters.length === 0) throw new FlushbenchError('NO_BROKER', `no master is registered with name server ${namesrvAddress}`);
  for (const address of masters) {
    const client = new RemotingClient(address);
    try {
      const response = await client.invoke(updateTopicRequest(topic, options.queues, options.perm), options.timeoutMs ?? 3000);
      if (response.code !== ResponseCode.SUCCESS) throw new FlushbenchError('CREATE_TOPIC_FAILED', `broker ${address} refused topic ${topic}: ${response.remark ?? response.code}`);
    } finally {
      client.close();
    }
  }
  return masters;
}
