// ASYNC_MASTER replication lag at a fixed open-loop rate: how many bytes (and ms of traffic) the
// slave is behind, sampled every 100 ms; what a master kill would lose. Two readings:
// - both engines: GET_BROKER_RUNTIME_INFO commitLogMaxOffset of master − slave, fetched together
//   (RocketMQ 4.9.x has no fall-behind key there; it only logs it once a minute);
// - flushbench: also the master's own view, rocketmq_ha_slave_fall_behind_bytes (metrics endpoint).
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { FlushbenchError } from '../../protocol/errors.js';
import { parseLenientJson } from '../../protocol/lenientJson.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import type { EngineCluster } from '../clusterLauncher.js';
import { scrapeMetrics } from '../metricsScraper.js';
import type { AsyncLagRate } from '../../reports/scenarioData.js';
import { distributionOf, sleep, startScenarioLoad } from './scenarioLoad.js';

export interface AsyncLagOptions {
  rates: number[];
  producers: number;
  warmupMs: number;
  durationMs: number;
  sampleEveryMs: number;
  sendTimeoutMs: number;
}

export interface LagSample { atMs: number; masterOffset: number; slaveOffset: number; metricLagBytes: number | null }

async function commitLogMaxOffset(client: RemotingClient): Promise<number> {
  const response = await client.invoke(createRequest(RequestCode.GET_BROKER_RUNTIME_INFO), 3000);
  if (response.code !== ResponseCode.SUCCESS || !response.body) throw new FlushbenchError('RUNTIME_INFO_FAILED', `GET_BROKER_RUNTIME_INFO answered ${response.code} ${response.remark ?? ''}`);
  const table = (parseLenientJson(response.body.toString('utf8')) as { table?: Record<string, string> }).table ?? {};
  const value = Number(table.commitLogMaxOffset);
  if (!Number.isFinite(value)) throw new FlushbenchError('RUNTIME_INFO_FAILED', 'GET_BROKER_RUNTIME_INFO has no commitLogMaxOffset');
  return value;
}

export async function runAsyncLag(cluster: EngineCluster, o: AsyncLagOptions): Promise<AsyncLagRate[]> {
  const master = cluster.nodes.find((n) => n.node.role === 'master');
  const slave = cluster.nodes.find((n) => n.node.role === 'slave');
  if (!master || !slave) throw new FlushbenchError('NO_SLAVE', 'async-lag needs a master and a slave (async-async)');
  const masterClient = new RemotingClient(master.address);
  const slaveClient = new RemotingClient(slave.address);
  const results: AsyncLagRate[] = [];
  try {
    for (const rate of o.rates) {
      const load = await startScenarioLoad({
        namesrvAddress: cluster.namesrvAddress, topic: `ScenarioAsyncLag${rate}`, queues: 8, producers: o.producers, rate, sizeBytes: 128, sendTimeoutMs: o.sendTimeoutMs,
      });
      const samples: LagSample[] = [];
      let failedSamples = 0;
      let from = 0;
      try {
        await sleep(o.warmupMs);
        from = Date.now();
        while (Date.now() - from < o.durationMs) {
          const tick = Date.now();
          try {
            const [masterOffset, slaveOffset, metrics] = await Promise.all([
              commitLogMaxOffset(masterClient), commitLogMaxOffset(slaveClient), master.metricsUrl ? scrapeMetrics(master.metricsUrl).catch(() => null) : Promise.resolve(null),
            ]);
            samples.push({ atMs: tick, masterOffset, slaveOffset, metricLagBytes: metrics?.get('rocketmq_ha_slave_fall_behind_bytes') ?? null });
          } catch {
            failedSamples++; // a busy broker answered late: one sample lost, not the run
          }
          await sleep(Math.max(0, o.sampleEveryMs - (Date.now() - tick)));
        }
      } finally {
        await load.stop();
      }
      const to = Date.now();
      const acked = load.recorder.events.filter((e) => e.sentAtMs >= from && e.sentAtMs < to && e.status === 'SEND_OK').length;
      const first = samples[0];
      const last = samples[samples.length - 1];
      const bytesPerSecond = last && last.atMs > first.atMs ? ((last.masterOffset - first.masterOffset) * 1000) / (last.atMs - first.atMs) : 0;
      const toMs = (bytes: number) => (bytesPerSecond > 0 ? (bytes * 1000) / bytesPerSecond : 0);
      const lag = samples.map((s) => Math.max(0, s.masterOffset - s.slaveOffset));
      const metricLag = samples.filter((s) => s.metricLagBytes !== null).map((s) => s.metricLagBytes as number);
      results.push({
        rate, ackedPerSecond: Math.round(acked / ((to - from) / 1000)), commitLogBytesPerSecond: Math.round(bytesPerSecond), samples: samples.length, failedSamples,
        lagBytes: distributionOf(lag), lagMs: distributionOf(lag.map(toMs)),
        metricLagBytes: metricLag.length ? distributionOf(metricLag) : null, metricLagMs: metricLag.length ? distributionOf(metricLag.map(toMs)) : null,
      });
    }
  } finally {
    masterClient.close();
    slaveClient.close();
  }
  return results;
}
