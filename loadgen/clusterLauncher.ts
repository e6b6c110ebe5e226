// Starts a profile's cluster on the disk under test: a name server, then every master, then
// every slave, each a child process with its store under <storeDir>/<node>. Waits until each
// broker is ready (and each SYNC_MASTER has its slave connected), and always tears down.
// Two engines give the same Cluster shape: flushbench's own broker (here) and Apache RocketMQ
// (rocketmq/rocketmqCluster.ts), so a run does not care which one it drives.
import fs from 'node:fs';
import path from 'node:path';
import { FlushbenchError } from '../protocol/errors.js';
import { type ManagedProcess, startBenchProcess, stopProcess } from './childProcesses.js';
import { scrapeMetrics } from './metricsScraper.js';
import type { ProfileNode } from './profile.js';
import { launchRocketmqCluster } from './rocketmq/rocketmqCluster.js';
import { freeBrokerPort } from './freePorts.js';

/** Which broker implementation a launched cluster runs. */
export type Engine = 'flushbench' | 'rocketmq';
export const ENGINES: readonly Engine[] = ['flushbench', 'rocketmq'];

/** One broker of a launched cluster, whatever the engine. */
export interface ClusterNode {
  node: ProfileNode;
  address: string;
  /** For CPU accounting; null when unknown. */
  pid: number | null;
  /** flushbench's metrics endpoint (fsyncs, flush-behind, HA lag, /settings); null for Apache RocketMQ, which has none. */
  metricsUrl: string | null;
  /** The broker.properties keys it was started with. */
  properties: Record<string, string>;
}

export interface LaunchedNode extends ClusterNode {
  process: ManagedProcess;
  metricsUrl: string;
}

/** A launched cluster, whatever the engine. */
export interface EngineCluster {
  /** What summary.json calls it: `flushbench` or `rocketmq-<version>`. */
  engineLabel: string;
  namesrvAddress: string;
  /** The name server's process id, for CPU accounting. */
  namesrvPid: number | null;
  nodes: ClusterNode[];
  logDir: string;
  stop(): Promise<void>;
}

/** flushbench's own cluster: every node is a `bench broker` child process with a metrics endpoint. */
export interface Cluster extends EngineCluster {
  nodes: LaunchedNode[];
}

export interface LaunchOptions {
  storeDir: string;
  logDir: string;
  onProgress?: (line: string) => void;
  /** flushbench only: turn on the brokers' POST /produce endpoint (httpProduceEnable), for the --driver http load. */
  httpProduce?: boolean;
}

/** The profile's cluster on the chosen engine. */
export async function launchEngineCluster(engine: Engine, nodes: ProfileNode[], options: LaunchOptions): Promise<EngineCluster> {
  if (engine === 'rocketmq') return launchRocketmqCluster(nodes, options);
  return launchCluster(nodes, options);
}

const HOST = '127.0.0.1';

/** flushbench's own broker: `bench namesrv` and one `bench broker` per node. */
export async function launchCluster(nodes: ProfileNode[], options: LaunchOptions): Promise<Cluster> {
  const started: ManagedProcess[] = [];
  const stop = async () => {
    await Promise.all(started.reverse().map((p) => stopProcess(p)));
  };
  const progress = options.onProgress ?? (() => {});
  try {
    const namesrv = await startBenchProcess('namesrv', ['namesrv', '--port', '0'], /namesrv listening on (\S+):(\d+)/, { logDir: options.logDir });
    started.push(namesrv.process);
    const namesrvAddress = `${namesrv.match[1]}:${namesrv.match[2]}`;
    progress(`name server on ${namesrvAddress}`);
    const taken = new Set<number>();
    const launched: LaunchedNode[] = [];
    const ordered = [...nodes.filter((n) => n.role === 'master'), ...nodes.filter((n) => n.role === 'slave')];
    const dledger = await dledgerPeerProperties(ordered, taken);
    for (const node of ordered) {
      const listenPort = await freeBrokerPort(taken, HOST);
      const storeRoot = path.join(options.storeDir, node.name);
      fs.mkdirSync(storeRoot, { recursive: true });
      const master = launched.find((l) => l.node.role === 'master' && l.node.brokerName === node.brokerName);
      const properties: Record<string, string> = {
        brokerClusterName: 'FlushbenchCluster',
        brokerName: node.brokerName,
        brokerIP1: HOST,
        namesrvAddr: namesrvAddress,
        storePathRootDir: storeRoot,
        metricsPort: '-1',
        ...(options.httpProduce ? { httpProduceEnable: 'true' } : {}),
        ...(node.role === 'slave' && master ? { haMasterAddress: `${HOST}:${Number(master.properties.listenPort) + 1}` } : {}),
        ...node.properties,
        ...dledger.get(node.name),
        listenPort: String(listenPort),
      };
      const args = ['broker', ...Object.entries(properties).map(([k, v]) => `${k}=${v}`)];
      const broker = await startBenchProcess(node.name, args, /listening on (\S+):(\d+) .*metrics=(\d+)/, { logDir: options.logDir });
      started.push(broker.process);
      const entry: LaunchedNode = {
        node, process: broker.process, pid: broker.process.child.pid ?? null, address: `${broker.match[1]}:${broker.match[2]}`, metricsUrl: `http://${HOST}:${broker.match[3]}/metrics`, properties,
      };
      launched.push(entry);
      progress(`${node.name} (${properties.brokerRole ?? 'ASYNC_MASTER'}, ${properties.flushDiskType ?? 'ASYNC_FLUSH'}) on ${entry.address}`);
    }
    await waitForSlaves(launched);
    if (dledger.size > 0) await waitForDLedgerLeaders(launched);
    return { engineLabel: 'flushbench', namesrvAddress, namesrvPid: namesrv.process.child.pid ?? null, nodes: launched, logDir: options.logDir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Every master with a slave in the profile waits until that slave has connected AND reported
 * its offset (max 20 s): a slave first reports haSendHeartbeatInterval (5 s) after connecting,
 * as RocketMQ 4.9.x's HAClient does, and until then no SYNC_MASTER put can be acked, which
 * would put a multi-second stall into the measured window.
 */
async function waitForSlaves(launched: LaunchedNode[]): Promise<void> {
  for (const master of launched.filter((l) => l.node.role === 'master')) {
    const slaves = launched.filter((l) => l.node.role === 'slave' && l.node.brokerName === master.node.brokerName).length;
    if (slaves === 0) continue;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const metrics = await scrapeMetrics(master.metricsUrl).catch(() => null);
      if ((metrics?.get('rocketmq_ha_slaves_reported') ?? 0) >= slaves) break;
      if (Date.now() > deadline) throw new FlushbenchError('SLAVE_NOT_CONNECTED', `${master.node.name}: its slave did not connect and report its offset within 20 s (see logs)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * enableDLegerCommitLog=true nodes of one brokerName form a DLedger group: each gets a free
 * DLedger port, dLegerPeers naming all of them (n0, n1 … in profile order) and its dLegerSelfId,
 * unless the profile sets dLegerPeers itself.
 */
async function dledgerPeerProperties(nodes: ProfileNode[], taken: Set<number>): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  const groups = new Map<string, ProfileNode[]>();
  for (const node of nodes) {
    if (node.properties.enableDLegerCommitLog !== 'true' || node.properties.dLegerPeers) continue;
    groups.set(node.brokerName, [...(groups.get(node.brokerName) ?? []), node]);
  }
  for (const [brokerName, members] of groups) {
    const ports: number[] = [];
    for (const _member of members) ports.push(await freeBrokerPort(taken, HOST));
    const peers = ports.map((port, i) => `n${i}-${HOST}:${port}`).join(';');
    members.forEach((member, i) => out.set(member.name, { dLegerGroup: brokerName, dLegerPeers: peers, dLegerSelfId: `n${i}` }));
  }
  return out;
}

/** Every DLedger group has a leader that takes writes (dledger_writable) before the load starts (max 30 s). */
async function waitForDLedgerLeaders(launched: LaunchedNode[]): Promise<void> {
  const groups = new Set(launched.filter((l) => l.properties.enableDLegerCommitLog === 'true').map((l) => l.node.brokerName));
  for (const group of groups) {
    const members = launched.filter((l) => l.node.brokerName === group);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const writable = await Promise.all(members.map((m) => scrapeMetrics(m.metricsUrl).then((v) => v.get('dledger_writable') ?? 0, () => 0)));
      if (writable.some((w) => w === 1)) {
        await new Promise((r) => setTimeout(r, 300)); // its brokerId 0 registration is on the way to the name server
        break;
      }
      if (Date.now() > deadline) throw new FlushbenchError('DLEDGER_NO_LEADER', `DLedger group ${group}: no leader took writes within 30 s (see the broker logs)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
