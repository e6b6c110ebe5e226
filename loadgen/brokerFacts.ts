// What a launched cluster's brokers tell about themselves: flushbench's metrics endpoint
// (fsyncs, flush-behind, HA lag) and effective settings (/settings, or GET_BROKER_CONFIG on
// Apache RocketMQ, which has no metrics endpoint).
import { parse as parseProperties } from 'dot-properties';
import { ResponseCode } from '../protocol/codes.js';
import { createRequest } from '../protocol/remotingCommand.js';
import { RemotingClient } from '../protocol/remotingClient.js';
import type { EngineCluster } from './clusterLauncher.js';
import { type MetricValues, scrapeMetrics } from './metricsScraper.js';

/** GET_BROKER_CONFIG (RequestCode 26): the broker's effective config as properties text. */
const GET_BROKER_CONFIG = 26;
/** A broker's /settings or GET_BROKER_CONFIG answer; without it the launch properties are reported. */
const SETTINGS_TIMEOUT_MS = 2000;

/** flushbench's metrics endpoints; Apache RocketMQ has none, so its broker-side columns stay null. */
export async function masterMetrics(cluster: EngineCluster | null): Promise<MetricValues[]> {
  if (!cluster) return [];
  const urls = cluster.nodes.filter((n) => n.node.role === 'master').map((n) => n.metricsUrl).filter((u): u is string => u !== null);
  return Promise.all(urls.map((url) => scrapeMetrics(url).catch(() => new Map())));
}

export function sum(values: MetricValues[], name: string): number | null {
  let total = 0;
  let seen = false;
  for (const v of values) {
    const x = v.get(name);
    if (x !== undefined) {
      total += x;
      seen = true;
    }
  }
  return seen ? total : null;
}

export function delta(before: MetricValues[], after: MetricValues[], name: string): number | null {
  const a = sum(after, name);
  const b = sum(before, name);
  return a === null || b === null ? null : a - b;
}

export function merge(values: MetricValues[]): MetricValues {
  const out: MetricValues = new Map();
  for (const v of values) for (const [k, x] of v) out.set(k, (out.get(k) ?? 0) + x);
  return out;
}

/** A broker's effective settings: flushbench's /settings, RocketMQ's GET_BROKER_CONFIG; the launch properties if neither answers. */
export async function settingsOf(cluster: EngineCluster | null): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const node of cluster?.nodes ?? []) {
    try {
      if (node.metricsUrl) {
        const response = await fetch(node.metricsUrl.replace(/\/metrics$/, '/settings'), { signal: AbortSignal.timeout(SETTINGS_TIMEOUT_MS) });
        out[node.node.name] = (await response.json()) as Record<string, string>;
      } else {
        out[node.node.name] = await brokerConfig(node.address);
      }
    } catch {
      out[node.node.name] = node.properties;
    }
  }
  return out;
}

async function brokerConfig(address: string): Promise<Record<string, string>> {
  const client = new RemotingClient(address);
  try {
    const response = await client.invoke(createRequest(GET_BROKER_CONFIG), SETTINGS_TIMEOUT_MS);
    if (response.code !== ResponseCode.SUCCESS || !response.body) throw new Error(`GET_BROKER_CONFIG answered ${response.code}`);
    return parseProperties(response.body.toString('utf8')) as Record<string, string>;
  } finally {
    client.close();
  }
}
