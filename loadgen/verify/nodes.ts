// The brokers of one verify cycle, started without a name server (producers and readers talk to
// each broker directly): each node keeps its ports across restarts, so a slave finds its
// restarted master again, and its store lives on its own directory or loop disk.
import fs from 'node:fs';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { FlushbenchError } from '../../protocol/errors.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { sendMessageV2Request } from '../../protocol/requests/sendMessage.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { type ManagedProcess, startBenchProcess, stopProcess } from '../childProcesses.js';
import { scrapeMetrics } from '../metricsScraper.js';
import type { ProfileNode } from '../profile.js';
import { updateTopicRequest } from '../topicAdmin.js';
import { freeBrokerPort } from '../freePorts.js';

const HOST = '127.0.0.1';

export interface VerifyNode {
  spec: ProfileNode;
  listenPort: number;
  /** The broker.properties keys every start of this node uses (storePathRootDir is per start). */
  properties: Record<string, string>;
  process: ManagedProcess | null;
  address: string;
  metricsUrl: string;
  storeRoot: string;
}

/**
 * Ports for a profile's nodes, masters first so a slave knows its master's HA port
 * (listenPort + 1), and each node's properties from `propertiesOf`. `bindHost`: where the port
 * must be free (undefined: on every interface).
 */
export async function planNodesWith(
  specs: readonly ProfileNode[], bindHost: string | undefined,
  propertiesOf: (spec: ProfileNode, listenPort: number, haMasterAddress: string | null) => Record<string, string>,
): Promise<VerifyNode[]> {
  const taken = new Set<number>();
  const nodes: VerifyNode[] = [];
  const ordered = [...specs.filter((n) => n.role === 'master'), ...specs.filter((n) => n.role === 'slave')];
  for (const spec of ordered) {
    const listenPort = await freeBrokerPort(taken, bindHost);
    const master = spec.role === 'slave' ? nodes.find((n) => n.spec.role === 'master' && n.spec.brokerName === spec.brokerName) : undefined;
    const properties = propertiesOf(spec, listenPort, master ? `${HOST}:${master.listenPort + 1}` : null);
    nodes.push({ spec, listenPort, properties, process: null, address: `${HOST}:${listenPort}`, metricsUrl: '', storeRoot: '' });
  }
  return nodes;
}

/**
 * Plans the nodes of a profile: ports, and the properties of each (the profile's, then
 * `overrides`, then what verify needs: slaveReadEnable so a slave serves the failover read).
 */
export function planNodes(specs: readonly ProfileNode[], overrides: Record<string, string>): Promise<VerifyNode[]> {
  return planNodesWith(specs, HOST, (spec, listenPort, haMasterAddress) => ({
    brokerClusterName: 'FlushbenchVerify', brokerName: spec.brokerName, brokerIP1: HOST, namesrvAddr: '', metricsPort: '-1',
    ...(haMasterAddress ? { haMasterAddress } : {}),
    ...spec.properties,
    ...overrides,
    slaveReadEnable: 'true',
    listenPort: String(listenPort),
  }));
}

export interface StartOptions {
  logDir: string;
  /** Extra environment for the broker (FLUSHBENCH_TEST_FAULTS in tests). */
  env?: NodeJS.ProcessEnv;
  /** Log file name suffix, so restarts keep the earlier logs. */
  label: string;
  /** The cycle's topic: engines whose slaves must know it before they start (RocketMQ) are given it. */
  topic?: { name: string; queues: number };
}

/** Starts (or restarts) `node` with its store under `storeRoot`; resolves when it listens. */
export async function startNode(node: VerifyNode, storeRoot: string, options: StartOptions): Promise<void> {
  fs.mkdirSync(storeRoot, { recursive: true });
  const properties = { ...node.properties, storePathRootDir: storeRoot };
  const args = ['broker', ...Object.entries(properties).map(([k, v]) => `${k}=${v}`)];
  const started = await startBenchProcess(`${node.spec.name}-${options.label}`, args, /listening on (\S+):(\d+) .*metrics=(\d+)/, { logDir: options.logDir, env: options.env, timeoutMs: 60_000 });
  node.process = started.process;
  node.storeRoot = storeRoot;
  node.metricsUrl = `http://${HOST}:${started.match[3]}/metrics`;
}

/** SIGKILL and wait for the exit: the process is gone, its page cache is not. */
export async function killNode(node: VerifyNode): Promise<void> {
  const managed = node.process;
  if (!managed) return;
  if (managed.child.exitCode === null && managed.child.signalCode === null) managed.child.kill('SIGKILL');
  await managed.exited;
  node.process = null;
}

export async function stopNode(node: VerifyNode): Promise<void> {
  if (!node.process) return;
  await stopProcess(node.process, 5000);
  node.process = null;
}

export function signalNode(node: VerifyNode, signal: 'SIGSTOP' | 'SIGCONT'): void {
  node.process?.child.kill(signal);
}

/** Waits until the master of each slave counts as many HA connections as it has slaves (bounded). */
export async function waitForSlaves(nodes: readonly VerifyNode[], timeoutMs = 20_000): Promise<void> {
  for (const master of nodes.filter((n) => n.spec.role === 'master' && n.process)) {
    const slaves = nodes.filter((n) => n.spec.role === 'slave' && n.spec.brokerName === master.spec.brokerName && n.process).length;
    if (slaves === 0) continue;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const metrics = await scrapeMetrics(master.metricsUrl).catch(() => null);
      if ((metrics?.get('rocketmq_ha_connections') ?? 0) >= slaves) break;
      if (Date.now() > deadline) throw new FlushbenchError('SLAVE_NOT_CONNECTED', `${master.spec.name}: its slave did not connect within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** UPDATE_AND_CREATE_TOPIC straight to the master (no name server in a verify cycle). */
export async function createVerifyTopic(master: VerifyNode, topic: string, queues: number): Promise<void> {
  const client = new RemotingClient(master.address);
  try {
    const response = await client.invoke(updateTopicRequest(topic, queues), 5000);
    if (response.code !== ResponseCode.SUCCESS) throw new FlushbenchError('CREATE_TOPIC_FAILED', `${master.address} refused topic ${topic}: ${response.remark ?? response.code}`);
  } finally {
    client.close();
  }
}

/**
 * Whether `topic` is still in the broker's topic config (GET_ALL_TOPIC_CONFIG). A power cut can
 * leave config/topics.json empty when it was replaced by rename without an fsync; the messages
 * are still in the store, but a client routing by topic config no longer finds the topic.
 */
export async function topicConfigKnown(node: VerifyNode, topic: string): Promise<boolean> {
  const client = new RemotingClient(node.address);
  try {
    const response = await client.invoke(createRequest(RequestCode.GET_ALL_TOPIC_CONFIG), 5000);
    return response.code === ResponseCode.SUCCESS && (response.body?.toString('utf8') ?? '').includes(`"${topic}"`);
  } finally {
    client.close();
  }
}

export const WARMUP_TOPIC = 'FlushbenchVerifyWarmup';

/**
 * Replication is flowing: the master transfers nothing until the slave's first report, which a
 * RocketMQ 4.9.7 HAClient sends haSendHeartbeatInterval (5 s) after connecting. One message on a
 * separate topic, sent until acked, then found on the slave, so the measured load starts in
 * the steady state and its read-back is not disturbed.
 */
export async function warmReplication(master: VerifyNode, slave: VerifyNode, timeoutMs = 30_000): Promise<void> {
  await createVerifyTopic(master, WARMUP_TOPIC, 1);
  const deadline = Date.now() + timeoutMs;
  const masterClient = new RemotingClient(master.address);
  const slaveClient = new RemotingClient(slave.address);
  try {
    let acked = false;
    while (!acked) {
      const response = await masterClient.invoke(sendMessageV2Request({ producerGroup: 'flushbench_verify_warmup', topic: WARMUP_TOPIC, queueId: 0, properties: 'WAIT\u0001true' }, Buffer.from('warm-up')), 10_000);
      acked = response.code === ResponseCode.SUCCESS;
      if (!acked && Date.now() > deadline) throw new FlushbenchError('VERIFY_SLAVE_NOT_REPLICATING', `${master.spec.name} never acked a warm-up send with its slave (last answer ${response.code} ${response.remark ?? ''})`);
    }
    for (;;) {
      const response = await slaveClient.invoke(createRequest(RequestCode.GET_MAX_OFFSET, { topic: WARMUP_TOPIC, queueId: '0' }), 3000).catch(() => null);
      if (response?.code === ResponseCode.SUCCESS && Number(response.extFields?.offset ?? 0) >= 1) return;
      if (Date.now() > deadline) throw new FlushbenchError('VERIFY_SLAVE_NOT_REPLICATING', `${slave.spec.name} did not receive the warm-up message within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    masterClient.close();
    slaveClient.close();
  }
}

/** What a crash cycle does to nodes, per engine (ours here, Apache RocketMQ in rocketmqNodes.ts). */
export interface NodeDriver {
  engine: 'flushbench' | 'rocketmq';
  plan(specs: readonly ProfileNode[], overrides: Record<string, string>): Promise<VerifyNode[]>;
  start(node: VerifyNode, storeRoot: string, options: StartOptions): Promise<void>;
  /** SIGKILL, resolved once the process is gone. */
  kill(node: VerifyNode): Promise<void>;
  stop(node: VerifyNode): Promise<void>;
  /** Bounded wait until each master has its slaves; `logDir` is the cycle's broker log directory. */
  waitForSlaves(nodes: readonly VerifyNode[], logDir: string): Promise<void>;
  createTopic(node: VerifyNode, topic: string, queues: number): Promise<void>;
  /** A restarted master that lost the topic's config gets it again before the read (its pulls need it). */
  recreateLostTopic: boolean;
  /** Whether nodes serve /metrics (fsync histograms). */
  metrics: boolean;
  /** How the node's last start recovered its store, from its log (RocketMQ: abort file found or not). */
  recovery?(node: VerifyNode, logDir: string): 'abnormal' | 'normal' | null;
}

export const flushbenchDriver: NodeDriver = {
  engine: 'flushbench', plan: planNodes, start: startNode, kill: killNode, stop: stopNode,
  waitForSlaves: (nodes) => waitForSlaves(nodes), createTopic: createVerifyTopic, recreateLostTopic: false, metrics: true,
};
