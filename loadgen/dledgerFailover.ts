// `bench dledger failover`: a 3-member DLedger group under closed-loop load; the leader is
// SIGKILLed N times. Per kill: failover time (SIGKILL → first SEND_OK from the new leader),
// sends failed in between, TPS and p99 in a window before the kill and after the recovery.
// Producers find the master through the name server, polled every routePollMs (the RocketMQ
// client polls every 30 s by default and would add up to that much), then the killed member
// restarts on its store and catches up before the next kill.
import { RequestCode, ResponseCode } from '../protocol/codes.js';
import { createRequest } from '../protocol/remotingCommand.js';
import { RemotingClient } from '../protocol/remotingClient.js';
import { sendMessageV2Request } from '../protocol/requests/sendMessage.js';
import { FlushbenchError } from '../protocol/errors.js';
import { type LaunchedNode, launchCluster } from './clusterLauncher.js';
import { type ManagedProcess, startBenchProcess, stopProcess } from './childProcesses.js';
import { scrapeMetrics } from './metricsScraper.js';
import { benchmarkBody } from './producers.js';
import type { ProfileNode } from './profile.js';
import { updateTopicRequest } from './topicAdmin.js';

export interface FailoverOptions {
  kills: number;
  /** DLedger keys set on every member (empty = DLedger's defaults). */
  timing: Record<string, string>;
  flushDiskType: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  producers: number;
  sizeBytes: number;
  windowMs: number;
  routePollMs: number;
  sendTimeoutMs: number;
  storeDir: string;
  logDir: string;
  onProgress?: (line: string) => void;
}

export interface KillResult {
  killed: string;
  newLeader: string;
  failoverMs: number;
  failedSends: number;
  before: { tps: number; p99Ms: number };
  after: { tps: number; p99Ms: number };
}

interface Sample { atMs: number; ok: boolean; latencyMs: number; address: string }

const TOPIC = 'DLedgerFailover';
const QUEUES = 8;
const FAILOVER_LIMIT_MS = 120_000;

function windowStats(samples: Sample[], fromMs: number, toMs: number): { tps: number; p99Ms: number } {
  const ok = samples.filter((s) => s.ok && s.atMs >= fromMs && s.atMs < toMs).map((s) => s.latencyMs).sort((a, b) => a - b);
  const p99 = ok.length ? ok[Math.min(ok.length - 1, Math.floor(ok.length * 0.99))] : NaN;
  return { tps: Math.round(ok.length / ((toMs - fromMs) / 1000)), p99Ms: Math.round(p99 * 100) / 100 };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runDLedgerFailover(o: FailoverOptions): Promise<KillResult[]> {
  const progress = o.onProgress ?? (() => {});
  const properties = { enableDLegerCommitLog: 'true', flushDiskType: o.flushDiskType, ...o.timing };
  const nodes: ProfileNode[] = [0, 1, 2].map((i) => ({ name: `dledger-n${i}`, role: 'master', brokerName: 'broker-d', properties }));
  const cluster = await launchCluster(nodes, { storeDir: o.storeDir, logDir: o.logDir, onProgress: progress });
  const members: LaunchedNode[] = [...cluster.nodes];
  const restarted: ManagedProcess[] = [];
  const clients = new Map<string, RemotingClient>();
  const client = (address: string) => clients.get(address) ?? clients.set(address, new RemotingClient(address)).get(address) as RemotingClient;
  const samples: Sample[] = [];
  let master: string | null = null;
  let running = true;
  try {
    // Not needed for correctness since DLedger followers run SlaveSynchronize (test/dledger/dledgerSlaveSync.test.ts); kept, verify uses the same pattern.
    for (const m of members) {
      const answer = await client(m.address).invoke(updateTopicRequest(TOPIC, QUEUES), 5000);
      if (answer.code !== ResponseCode.SUCCESS) throw new FlushbenchError('TOPIC_CREATE_FAILED', `${m.node.name}: ${answer.remark}`);
    }
    const lookup = new RemotingClient(cluster.namesrvAddress);
    const pollRoute = async () => {
      while (running) {
        try {
          const route = await lookup.invoke(createRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: TOPIC }), 1000);
          if (route.code === ResponseCode.SUCCESS) master = JSON.parse(route.body?.toString() ?? '{}').brokerDatas?.[0]?.brokerAddrs?.['0'] ?? null;
        } catch {
          // name server busy: keep the last answer
        }
        await sleep(o.routePollMs);
      }
      lookup.close();
    };
    const body = benchmarkBody(o.sizeBytes);
    let queue = 0;
    const produce = async () => {
      while (running) {
        const address = master;
        if (!address) {
          await sleep(10);
          continue;
        }
        const started = performance.now();
        let ok = false;
        try {
          const request = sendMessageV2Request({ producerGroup: 'failover_producer', topic: TOPIC, queueId: queue++ % QUEUES, properties: 'WAIT\u0001true' }, body);
          ok = (await client(address).invoke(request, o.sendTimeoutMs)).code === ResponseCode.SUCCESS;
        } catch {
          ok = false;
        }
        samples.push({ atMs: Date.now(), ok, latencyMs: performance.now() - started, address });
        if (!ok) await sleep(5); // a failed send is retried soon, not in a tight loop
        if (samples.length > 2_000_000) samples.splice(0, 1_000_000);
      }
    };
    const loops = [pollRoute(), ...Array.from({ length: o.producers }, produce)];
    const results: KillResult[] = [];
    for (let kill = 0; kill < o.kills; kill++) {
      await waitForAllCaughtUp(members, () => master);
      const leader = members.find((m) => m.address === master);
      if (!leader) throw new FlushbenchError('DLEDGER_NO_LEADER', 'no member is registered as brokerId 0');
      const windowStart = Date.now();
      await sleep(o.windowMs);
      const killedAt = Date.now();
      leader.process.child.kill('SIGKILL');
      let recovered: Sample | undefined;
      for (let waited = 0; !recovered && waited < FAILOVER_LIMIT_MS; waited += 10) {
        recovered = samples.find((s) => s.ok && s.atMs > killedAt && s.address !== leader.address);
        if (!recovered) await sleep(10);
      }
      if (!recovered) throw new FlushbenchError('DLEDGER_NO_FAILOVER', `no SEND_OK from a new leader within ${FAILOVER_LIMIT_MS} ms of killing ${leader.node.name}`);
      await sleep(o.windowMs);
      const result: KillResult = {
        killed: leader.node.name,
        newLeader: members.find((m) => m.address === recovered?.address)?.node.name ?? recovered.address,
        failoverMs: recovered.atMs - killedAt,
        failedSends: samples.filter((s) => !s.ok && s.atMs > killedAt && s.atMs <= (recovered as Sample).atMs).length,
        before: windowStats(samples, windowStart, killedAt),
        after: windowStats(samples, recovered.atMs, recovered.atMs + o.windowMs),
      };
      results.push(result);
      progress(`kill ${kill + 1}/${o.kills}: ${result.killed} → ${result.newLeader} in ${result.failoverMs} ms, ${result.failedSends} failed sends, TPS ${result.before.tps} → ${result.after.tps}, p99 ${result.before.p99Ms} → ${result.after.p99Ms} ms`);
      // The killed member comes back on its store (recovery, then catch-up as a follower).
      const args = ['broker', ...Object.entries(leader.properties).map(([k, v]) => `${k}=${v}`)];
      const again = await startBenchProcess(leader.node.name, args, /listening on (\S+):(\d+) .*metrics=(\d+)/, { logDir: o.logDir, timeoutMs: 60_000 });
      restarted.push(again.process);
      members[members.indexOf(leader)] = { ...leader, process: again.process, pid: again.process.child.pid ?? null, metricsUrl: `http://127.0.0.1:${again.match[3]}/metrics` };
    }
    running = false;
    await Promise.all(loops);
    return results;
  } finally {
    running = false;
    for (const c of clients.values()) c.close();
    await Promise.all(restarted.map((p) => stopProcess(p)));
    await cluster.stop();
  }
}

/** All three members up, one registered as master, followers within 1 000 entries of the leader. */
async function waitForAllCaughtUp(members: LaunchedNode[], master: () => string | null): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const values = await Promise.all(members.map((m) => scrapeMetrics(m.metricsUrl).catch(() => null)));
    const ends = values.map((v) => v?.get('dledger_ledger_end_index') ?? -2);
    const leaderIndex = values.findIndex((v) => v?.get('dledger_writable') === 1);
    if (leaderIndex >= 0 && master() === members[leaderIndex].address && values.every(Boolean) && ends.every((e) => ends[leaderIndex] - e < 1000)) return;
    if (Date.now() > deadline) throw new FlushbenchError('DLEDGER_NOT_CAUGHT_UP', `members did not catch up within 120 s (ledger ends ${ends.join(', ')})`);
    await sleep(100);
  }
}

/** min / p50 / p90 / max of a list of numbers. */
export function distribution(values: number[]): { n: number; min: number; p50: number; p90: number; max: number; mean: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, min: sorted[0], p50: at(0.5), p90: at(0.9), max: sorted[sorted.length - 1], mean: Math.round(sorted.reduce((a, b) => a + b, 0) / sorted.length) };
}
