// The nodes of a verify cycle as Apache RocketMQ broker JVMs (`bench verify --engine rocketmq`):
// same plan, store and faults as our own nodes (nodes.ts), but each node is BrokerStartup with a
// generated broker.properties. No name server: with namesrvAddr unset (no -n, no NAMESRV_ADDR) a
// 4.9.7 broker registers nowhere and serves producers and readers directly; a slave finds its
// master through haMasterAddress. Ready = the remoting port answers, and RocketMQ opens it only
// after its store recovered and re-dispatched every ConsumeQueue (DefaultMessageStore.start
// waits for dispatchBehindBytes 0), so the read-back never races recovery.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'dot-properties';
import { RequestCode, ResponseCode } from '../../protocol/codes.js';
import { errorMessage, FlushbenchError } from '../../protocol/errors.js';
import { createRequest } from '../../protocol/remotingCommand.js';
import { RemotingClient } from '../../protocol/remotingClient.js';
import { adoptProcess, type ManagedProcess } from '../childProcesses.js';
import type { ProfileNode } from '../profile.js';
import type { RocketmqLib } from '../rocketmq/fetch.js';
import { rocketmqBrokerSpec } from '../rocketmq/rocketmqCluster.js';
import { directMemoryBytes, jvmArgs, logbackXml, LOOPBACK } from '../rocketmq/rocketmqConfig.js';
import { slavesReported } from '../rocketmq/rocketmqProcess.js';
import { createVerifyTopic, killNode, type NodeDriver, planNodesWith, type StartOptions, type VerifyNode } from './nodes.js';

/** A JVM start plus recovery of a ~100 MB store takes seconds on a busy 2-core host. */
const READY_TIMEOUT_MS = 90_000;
const BROKER_HEAP = '512m';

export interface RocketmqEngine {
  lib: RocketmqLib;
  javaMajor: number;
  javaCommand?: string;
}

/** Properties of each node: RocketMQ identity keys, the profile's, `overrides`, then what verify needs. */
function planRocketmqNodes(specs: readonly ProfileNode[], overrides: Record<string, string>): Promise<VerifyNode[]> {
  // RocketMQ binds every interface (no bind-address key): the ports must be free on all of them.
  return planNodesWith(specs, undefined, (spec, listenPort, haMasterAddress) => {
    const properties: Record<string, string> = {
      ...rocketmqBrokerSpec(spec).settings,
      // Not the verify topic's name: RocketMQ refuses a topic named like its cluster ("conflict with system topic").
      brokerClusterName: 'FlushbenchVerifyCluster',
      ...(haMasterAddress ? { haMasterAddress } : {}),
      ...overrides,
      slaveReadEnable: 'true',
      brokerIP1: LOOPBACK, brokerIP2: LOOPBACK,
      listenPort: String(listenPort),
    };
    delete properties.namesrvAddr;
    return properties;
  });
}

function homeOf(node: VerifyNode, logDir: string): string {
  return path.join(logDir, `${node.spec.name}-home`);
}

function brokerLogPath(node: VerifyNode, logDir: string): string {
  return path.join(homeOf(node, logDir), 'logs', 'rocketmqlogs', 'broker.log');
}

function tailOf(file: string, lines: number): string {
  if (!fs.existsSync(file)) return `(no ${file})`;
  return `${file}:\n${fs.readFileSync(file, 'utf8').slice(-8192).trim().split('\n').slice(-lines).join('\n')}`;
}

// Not GET_BROKER_RUNTIME_INFO: right after start RocketMQ's StoreStatsService has no sample yet and that request throws.
async function answers(address: string): Promise<boolean> {
  const client = new RemotingClient(address, { connectTimeoutMs: 1000 });
  try {
    const response = await client.invoke(createRequest(RequestCode.GET_ALL_TOPIC_CONFIG), 2000);
    return response.code === ResponseCode.SUCCESS;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/** broker.properties for one start: the node's keys and this start's store (the loop mount may differ per start). */
export function rocketmqStartProperties(node: VerifyNode, storeRoot: string): Record<string, string> {
  return { ...node.properties, storePathRootDir: storeRoot, storePathCommitLog: path.join(storeRoot, 'commitlog') };
}

/**
 * A RocketMQ slave refuses UPDATE_AND_CREATE_TOPIC, syncs topic config only from a master a name
 * server told it about (none here), and answers PULL_MESSAGE TOPIC_NOT_EXIST for a topic it does
 * not know: its config/topics.json gets the topic before it starts (fsynced, so it outlives a cut).
 */
export function seedSlaveTopic(storeRoot: string, topic: string, queues: number): void {
  const configDir = path.join(storeRoot, 'config');
  const file = path.join(configDir, 'topics.json');
  let table: Record<string, unknown> = {};
  try {
    table = (JSON.parse(fs.readFileSync(file, 'utf8')) as { topicConfigTable?: Record<string, unknown> }).topicConfigTable ?? {};
  } catch {
    // absent, or empty after a cut: start from an empty table
  }
  if (table[topic]) return;
  table[topic] = { topicName: topic, readQueueNums: queues, writeQueueNums: queues, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false };
  fs.mkdirSync(configDir, { recursive: true });
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, JSON.stringify({ topicConfigTable: table, dataVersion: { timestamp: Date.now(), counter: 1 } }));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const dir = fs.openSync(configDir, 'r');
  try {
    fs.fsyncSync(dir);
  } finally {
    fs.closeSync(dir);
  }
}

async function startRocketmqNode(engine: RocketmqEngine, node: VerifyNode, storeRoot: string, options: StartOptions): Promise<void> {
  fs.mkdirSync(storeRoot, { recursive: true });
  const homeDir = homeOf(node, options.logDir);
  const logDir = path.dirname(brokerLogPath(node, options.logDir));
  fs.mkdirSync(path.join(homeDir, 'conf'), { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  fs.writeFileSync(path.join(homeDir, 'conf', 'logback_broker.xml'), logbackXml('broker'));
  if (node.spec.role === 'slave' && options.topic) seedSlaveTopic(storeRoot, options.topic.name, options.topic.queues);
  const properties = rocketmqStartProperties(node, storeRoot);
  const propertiesPath = path.join(homeDir, 'conf', `broker-${options.label}.properties`);
  fs.writeFileSync(propertiesPath, `${stringify(properties, { keySep: '=', lineWidth: null })}\n`);
  const args = jvmArgs({ javaMajor: engine.javaMajor, homeDir, libDir: engine.lib.libDir, heap: BROKER_HEAP, directMemoryBytes: directMemoryBytes(properties) }, 'org.apache.rocketmq.broker.BrokerStartup', ['-c', propertiesPath]);
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, ROCKETMQ_HOME: homeDir };
  delete env.NAMESRV_ADDR; // a name server address from the shell would make the broker register there
  const outPath = path.join(logDir, `broker-${options.label}.out`);
  const out = fs.openSync(outPath, 'a');
  const child = spawn(engine.javaCommand ?? 'java', args, { stdio: ['ignore', out, out], env });
  fs.closeSync(out);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
    child.once('error', (error) => resolve(`spawn error ${errorMessage(error)}`));
  });
  const managed: ManagedProcess = { name: `${node.spec.name}-${options.label}`, child, logPath: outPath, exited };
  adoptProcess(managed); // stopped on Ctrl-C, killed at exit (also after a failed cycle)
  node.process = managed;
  node.storeRoot = storeRoot;
  let exitedWith: number | string | null = null;
  void exited.then((how) => (exitedWith = how));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exitedWith !== null) break;
    if (await answers(node.address)) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const why = exitedWith !== null ? `exited (${exitedWith})` : `did not answer on ${node.address} within ${READY_TIMEOUT_MS} ms`;
  await killNode(node);
  throw new FlushbenchError('ROCKETMQ_START_FAILED', `RocketMQ broker ${node.spec.name} (${options.label}) ${why}\n${tailOf(outPath, 10)}\n${tailOf(brokerLogPath(node, options.logDir), 15)}`);
}

/**
 * A master sends nothing to its slave before the slave's first offset report (HAClient sends it
 * haSendHeartbeatInterval after connecting), read from the master's log; bounded.
 */
async function waitForRocketmqSlaves(nodes: readonly VerifyNode[], logDir: string, timeoutMs = 30_000): Promise<void> {
  for (const master of nodes.filter((n) => n.spec.role === 'master' && n.process)) {
    const slaves = nodes.filter((n) => n.spec.role === 'slave' && n.spec.brokerName === master.spec.brokerName && n.process).length;
    if (slaves === 0) continue;
    const logPath = brokerLogPath(master, logDir);
    const deadline = Date.now() + timeoutMs;
    while (slavesReported(fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '') < slaves) {
      if (Date.now() > deadline) throw new FlushbenchError('SLAVE_NOT_CONNECTED', `${master.spec.name}: its slave sent no HA offset report within ${timeoutMs} ms (see ${logPath})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** DefaultMessageStore.load logs "last shutdown abnormally" when the abort file survived (→ recoverAbnormally). */
function lastRecovery(node: VerifyNode, logDir: string): 'abnormal' | 'normal' | null {
  const logPath = brokerLogPath(node, logDir);
  const text = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8') : '';
  const found = [...text.matchAll(/last shutdown (abnormally|normally)/g)].pop();
  return found ? (found[1] === 'abnormally' ? 'abnormal' : 'normal') : null;
}

/** The RocketMQ engine's node operations for crashCycle.ts. */
export function rocketmqDriver(engine: RocketmqEngine): NodeDriver {
  return {
    engine: 'rocketmq',
    plan: planRocketmqNodes,
    start: (node, storeRoot, options) => startRocketmqNode(engine, node, storeRoot, options),
    kill: killNode,
    // Nothing is measured after a cycle's last read: SIGKILL spares RocketMQ's ~5 s shutdown hook.
    stop: killNode,
    waitForSlaves: waitForRocketmqSlaves,
    createTopic: createVerifyTopic,
    recreateLostTopic: true,
    metrics: false,
    recovery: lastRecovery,
  };
}
