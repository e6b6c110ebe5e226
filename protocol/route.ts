// Topic routes (TopicRouteData) as a name server (ours or Apache's) answers GET_ROUTEINFO_BY_TOPIC:
// the types the name server writes and the client reads, and which master serves which write queue.
import { FlushbenchError } from './errors.js';
import { RequestCode, ResponseCode } from './codes.js';
import { parseLenientJson } from './lenientJson.js';
import { createRequest } from './remotingCommand.js';
import type { RemotingClient } from './remotingClient.js';

/** PermName: a topic's read / write / inherit (auto-create template) bits. */
export const Perm = { READ: 4, WRITE: 2, INHERIT: 1 } as const;
/** MixAll.MASTER_ID: brokerId 0 is the master of its group. */
export const MASTER_ID = 0;

/** Field names in fastjson's (alphabetical) order, so JSON.stringify writes the same bytes. */
export interface QueueData {
  brokerName: string;
  perm: number;
  readQueueNums: number;
  topicSysFlag: number;
  writeQueueNums: number;
}

export interface BrokerData {
  brokerAddrs: Record<string, string>;
  brokerName: string;
  cluster: string;
}

export interface TopicRouteData {
  brokerDatas: BrokerData[];
  filterServerTable: Record<string, string[]>;
  queueDatas: QueueData[];
}

export interface WriteQueue {
  brokerName: string;
  brokerAddress: string;
  queueId: number;
}

export async function fetchTopicRoute(namesrv: RemotingClient, topic: string, timeoutMs = 3000): Promise<TopicRouteData | null> {
  const response = await namesrv.invoke(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic, acceptStandardJsonOnly: 'true' }), timeoutMs);
  if (response.code === ResponseCode.TOPIC_NOT_EXIST) return null;
  if (response.code !== ResponseCode.SUCCESS || !response.body) {
    throw new FlushbenchError('ROUTE_FAILED', `name server answered ${response.code} for topic ${topic}: ${response.remark ?? ''}`);
  }
  return parseLenientJson(response.body.toString('utf8')) as TopicRouteData;
}

/** Write queues of masters (brokerId 0), in RocketMQ's order: broker by broker, queue by queue. */
export function writeQueues(route: TopicRouteData): WriteQueue[] {
  const queues: WriteQueue[] = [];
  const masters = new Map(route.brokerDatas.map((b) => [b.brokerName, b.brokerAddrs[String(MASTER_ID)]]));
  const sorted = [...route.queueDatas].sort((a, b) => a.brokerName.localeCompare(b.brokerName));
  for (const data of sorted) {
    const address = masters.get(data.brokerName);
    if (!address || !(data.perm & Perm.WRITE)) continue;
    for (let queueId = 0; queueId < data.writeQueueNums; queueId++) queues.push({ brokerName: data.brokerName, brokerAddress: address, queueId });
  }
  return queues;
}

/** Master addresses of every broker group in the route. */
export function masterAddresses(route: TopicRouteData): string[] {
  return route.brokerDatas.map((b) => b.brokerAddrs[String(MASTER_ID)]).filter((a): a is string => Boolean(a));
}
