// Topic routes from a name server (ours or Apache's): which master serves which write queues.
import { FlushbenchError } from '../broker/errors.js';
import { RequestCode, ResponseCode } from '../broker/remoting/codes.js';
import { parseLenientJson } from '../broker/remoting/lenientJson.js';
import { createRequest } from '../broker/remoting/remotingCommand.js';
import type { RemotingClient } from '../broker/remoting/remotingClient.js';

const WRITE_PERM = 2;

export interface TopicRouteData {
  queueDatas: Array<{ brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number }>;
  brokerDatas: Array<{ cluster: string; brokerName: string; brokerAddrs: Record<string, string> }>;
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
  const masters = new Map(route.brokerDatas.map((b) => [b.brokerName, b.brokerAddrs['0']]));
  const sorted = [...route.queueDatas].sort((a, b) => a.brokerName.localeCompare(b.brokerName));
  for (const data of sorted) {
    const address = masters.get(data.brokerName);
    if (!address || !(data.perm & WRITE_PERM)) continue;
    for (let queueId = 0; queueId < data.writeQueueNums; queueId++) queues.push({ brokerName: data.brokerName, brokerAddress: address, queueId });
  }
  return queues;
}

/** Master addresses of every broker group in the route. */
export function masterAddresses(route: TopicRouteData): string[] {
  return route.brokerDatas.map((b) => b.brokerAddrs['0']).filter((a): a is string => Boolean(a));
}
